"""One settings file, read from the environment.

Development needs nothing set: SQLite in the repository, a local-memory cache,
DEBUG on. With DEBUG off (production) SECRET_KEY and ALLOWED_HOSTS are required.
"""

import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), not {value!r}")


def env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if DEBUG:
    SECRET_KEY = SECRET_KEY or "dev-only-insecure-key-never-use-in-production"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]", "testserver"]
else:
    missing = [name for name in ("SECRET_KEY", "ALLOWED_HOSTS") if not os.environ.get(name)]
    if missing:
        raise ImproperlyConfigured(
            f"DEBUG is off, so these environment variables are required: {', '.join(missing)}"
        )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.syndication",
    "django_htmx",
    "coverage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "liveblog.urls"
WSGI_APPLICATION = "liveblog.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Databases --------------------------------------------------------------
# PostgreSQL connections: a psycopg pool per server process (DATABASE_POOL,
# the default), else persistent connections kept CONN_MAX_AGE seconds (0: one
# per request). Chosen by bench/db_connections.py (README, "Database
# connections"). DATABASE_POOL_SIZE: connections per process at most; make it
# at least the threads per worker (THREADS).
DATABASE_POOL = env_bool("DATABASE_POOL", default=True)


def database(url: str) -> dict:
    config = dj_database_url.parse(
        url,
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
    if DATABASE_POOL and config["ENGINE"] == "django.db.backends.postgresql":
        # A pool hands out its own connections: Django must not keep them.
        config["CONN_MAX_AGE"] = 0
        config["CONN_HEALTH_CHECKS"] = False
        config.setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": int(os.environ.get("DATABASE_POOL_SIZE", "4")),
            # Seconds a request waits for a free connection before failing.
            "timeout": 5,
        }
    return config


DATABASES = {
    "default": database(os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
# A read replica takes reader pages' queries; coverage.routers keeps on the
# primary what the poll's correctness depends on (the live state's revision,
# the changes it vouches for) and everything inside a write transaction.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = database(os.environ["DATABASE_REPLICA_URL"])
    # Tests see one database through both aliases.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["coverage.routers.ReplicaRouter"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # Take the write lock at BEGIN and wait for it, instead of failing with
        # "database is locked" when two requests write at once.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory: tests with a live server run it in another thread,
    # and an in-memory database would share one connection between threads.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"liveblog-test-{os.getpid()}.sqlite3")
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# --- End of databases ---------------------------------------------------------

# The cache holds each story's live state (its revision), so "nothing new"
# polls are answered without touching the database. Redis is shared by every
# server process; the local-memory fallback is per process, which is why its
# entries live only a couple of seconds (see LIVE_STATE_TTL).
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "coverage.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "liveblog",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# What is rendered for one story revision never changes (a change makes a new
# revision, so a new key): each process keeps it in its own memory, skipping
# even the shared cache's round trip.
CACHES["revisions"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "revisions",
    "OPTIONS": {"MAX_ENTRIES": 2000},
}

# Seconds a story's cached live state may be trusted. With a shared cache,
# every change rewrites it on commit, so it can live long; the TTL only heals a
# lost write. With per-process memory another process's change is invisible
# here, so readers may lag by at most this many seconds.
LIVE_STATE_TTL = int(os.environ.get("LIVE_STATE_TTL", "300" if REDIS_URL else "2"))
# Seconds each server process reuses a state it has read, skipping even the
# shared cache's round trip. A change reaches readers at most this much later.
LIVE_STATE_IN_PROCESS = float(os.environ.get("LIVE_STATE_IN_PROCESS", "1"))
# Seconds a rendered update list stays cached; its key holds the story
# revision, so a change never waits for this.
LIVE_PAGE_CACHE_SECONDS = int(os.environ.get("LIVE_PAGE_CACHE_SECONDS", "300"))
# Seconds between reader polls, and how long a shared HTTP cache may reuse an answer.
LIVE_POLL_SECONDS = int(os.environ.get("LIVE_POLL_SECONDS", "10"))
LIVE_POLL_MAX_AGE = int(os.environ.get("LIVE_POLL_MAX_AGE", "2"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Messages (the admin's "saved" notes) live in the session, which is read only
# when there are messages: the cookie backend would build a signer on every
# request, readers' polls included.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Uploads bigger than this are refused rather than silently truncated.
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# A strict policy: scripts only from this origin or with the request's nonce,
# no inline styles or event handlers, nothing third-party but the video players
# (framed only when a reader presses Play).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    # Video players, loaded only when a reader presses Play; nothing else is framed.
    "frame-src": ["https://www.youtube-nocookie.com", "https://player.vimeo.com"],
    "frame-ancestors": [CSP.NONE],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
}

# Embed cards can be filled in from the provider's oEmbed endpoint after an update
# is saved. Off by default: it makes requests to third parties. Only these
# providers are asked (keyed by the card's provider name), each within
# OEMBED_TIMEOUT seconds, and their answers are cached.
EMBED_ENRICHMENT = env_bool("EMBED_ENRICHMENT", default=False)
OEMBED_ENDPOINTS = {
    "YouTube": "https://www.youtube.com/oembed",
    "Vimeo": "https://vimeo.com/api/oembed.json",
    "X": "https://publish.twitter.com/oembed",
    "Bluesky": "https://embed.bsky.app/oembed",
    "TikTok": "https://www.tiktok.com/oembed",
}
OEMBED_TIMEOUT = min(3.0, float(os.environ.get("OEMBED_TIMEOUT", "3")))
OEMBED_CACHE_SECONDS = int(os.environ.get("OEMBED_CACHE_SECONDS", str(24 * 3600)))
# Background work (the enrichment). The immediate backend runs a task in the
# request that enqueued it, after its transaction commits; point TASKS_BACKEND
# at a queue's backend to take it out of the request.
TASKS = {
    "default": {
        "BACKEND": os.environ.get(
            "TASKS_BACKEND", "django.tasks.backends.immediate.ImmediateBackend"
        )
    }
}

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
