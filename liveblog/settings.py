"""One settings file, read from the environment.

Development needs nothing set: SQLite in the repository, a local-memory cache,
DEBUG on. With DEBUG off (production) SECRET_KEY and ALLOWED_HOSTS are required.
"""

import datetime as dt
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
    "django.contrib.sitemaps",
    "django_htmx",
    # Only its static files (the editor's JS and CSS) and system checks.
    "django_prose_editor",
    "axes",
    "django_tasks_db",
    "coverage",
]

MIDDLEWARE = [
    # First: an oversized body or a NUL in the query string is refused before
    # anything reads the body or a database sees the query.
    "coverage.limits.RequestLimitsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Editors read the primary, never a lagging replica (coverage/routers.py).
    "coverage.routers.PrimaryForEditorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Turns axes' lockout into its answer (AXES_LOCKOUT_TEMPLATE, 429).
    "axes.middleware.AxesMiddleware",
    # Last, so that its process_exception sees a view's database error first.
    "coverage.middleware.DatabaseUnavailableMiddleware",
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
# PostgreSQL connections: persistent, kept CONN_MAX_AGE seconds (0: one per
# request), the default; or a psycopg pool per server process (DATABASE_POOL).
# bench/db_connections.py measures them level (README, "Database connections"),
# and tests/test_faults.py decides: after PostgreSQL stops and returns, the pool
# kept failing requests that persistent connections (health-checked) serve.
# DATABASE_POOL_SIZE: connections per process at most; at least THREADS.
DATABASE_POOL = env_bool("DATABASE_POOL", default=False)


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
            # Seconds a request waits for a free connection before failing:
            # short, as with the database down the pool never gets one.
            "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "2")),
        }
    if config["ENGINE"] == "django.db.backends.postgresql":
        # A database that is down or frozen fails requests within seconds instead
        # of holding every thread: connecting gives up after DATABASE_CONNECT_TIMEOUT
        # seconds, a statement after DATABASE_STATEMENT_TIMEOUT_MS (0: no limit;
        # readers' queries take milliseconds; run long migrations with 0).
        options = config.setdefault("OPTIONS", {})
        options.setdefault("connect_timeout", int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "3")))
        statement_timeout = int(os.environ.get("DATABASE_STATEMENT_TIMEOUT_MS", "5000"))
        if statement_timeout:
            options["options"] = (
                options.get("options", "") + f" -c statement_timeout={statement_timeout}"
            ).strip()
        # A frozen server never enforces its statement_timeout: this backend adds a
        # deadline the client keeps in web requests, and fails fast for a moment
        # after a failure (coverage/postgresql/base.py).
        config["ENGINE"] = "coverage.postgresql"
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
# Seconds a query in a reader's request (GET/HEAD) and in an editor's write may
# wait for PostgreSQL before the request gives up (503 or the stale page), and
# for how long after a failure this process stops trying.
DATABASE_READ_DEADLINE = float(os.environ.get("DATABASE_READ_DEADLINE", "2.5"))
DATABASE_WRITE_DEADLINE = float(os.environ.get("DATABASE_WRITE_DEADLINE", "4.5"))
DATABASE_BREAKER_SECONDS = float(os.environ.get("DATABASE_BREAKER_SECONDS", "2"))
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
            # Passed to redis-py's connection pool: a Redis that is down or
            # frozen costs at most this many seconds before the app falls back
            # to the database (coverage/live.py) and leaves it alone a second.
            "OPTIONS": {
                "socket_connect_timeout": float(os.environ.get("REDIS_CONNECT_TIMEOUT", "0.25")),
                "socket_timeout": float(os.environ.get("REDIS_TIMEOUT", "0.25")),
            },
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
# Seconds each process trusts the shared cache's state of a story before it
# checks it against the database (one query per story per process): heals a
# state the cache kept while a write could not reach it, or a database restored
# under it, within this long.
LIVE_STATE_VERIFY_SECONDS = float(os.environ.get("LIVE_STATE_VERIFY_SECONDS", "2"))
# Seconds a reader is told to wait (Retry-After) when the database is down.
RETRY_AFTER_SECONDS = int(os.environ.get("RETRY_AFTER_SECONDS", "10"))
# Seconds a rendered update list stays cached; its key holds the story
# revision, so a change never waits for this.
LIVE_PAGE_CACHE_SECONDS = int(os.environ.get("LIVE_PAGE_CACHE_SECONDS", "300"))
# Seconds between reader polls, and how long a shared HTTP cache may reuse an answer.
LIVE_POLL_SECONDS = int(os.environ.get("LIVE_POLL_SECONDS", "10"))
LIVE_POLL_MAX_AGE = int(os.environ.get("LIVE_POLL_MAX_AGE", "2"))
# Seconds between polls of an ended story's open pages: slow, but coverage that
# resumes (or an update scheduled before the end) still reaches them.
LIVE_ENDED_POLL_SECONDS = int(os.environ.get("LIVE_ENDED_POLL_SECONDS", "300"))
# Seconds between polls of a story the desk has slowed, and of a paused one: a
# paused page still checks at this heartbeat (at most a minute), so it resumes
# when the desk resumes it.
LIVE_SLOW_POLL_SECONDS = int(os.environ.get("LIVE_SLOW_POLL_SECONDS", "30"))
LIVE_PAUSED_POLL_SECONDS = min(int(os.environ.get("LIVE_PAUSED_POLL_SECONDS", "60")), 60)
# The site's kill switch for reader polling: normal, slow or paused. It overrides
# every story's own setting toward the slower (a story the desk paused stays
# paused under "slow"); open pages obey within one poll.
READER_POLLING = os.environ.get("READER_POLLING", "normal").strip().lower()
if READER_POLLING not in ("normal", "slow", "paused"):
    raise ImproperlyConfigured("READER_POLLING must be normal, slow or paused.")
# Seconds an editor stays listed on a story's desk after their last poll (a
# few desk polls: one lost or late poll does not make them vanish).
DESK_PRESENCE_SECONDS = float(os.environ.get("DESK_PRESENCE_SECONDS", "35"))
# Readers are estimated from the polls counted in one window (coverage/audience.py);
# each process sends its counts to the shared cache at most this often.
AUDIENCE_WINDOW_SECONDS = int(os.environ.get("AUDIENCE_WINDOW_SECONDS", "30"))
AUDIENCE_FLUSH_SECONDS = float(os.environ.get("AUDIENCE_FLUSH_SECONDS", "5"))
# Seconds a feed reader (or a cache in front) may reuse a feed; conditional
# requests (ETag, Last-Modified) cost nothing whatever this is.
FEED_MAX_AGE = int(os.environ.get("FEED_MAX_AGE", "60"))
# Bylines under each update (Byline, else the user's full name); a newsroom
# that does not byline its live pages turns them off.
SHOW_BYLINES = env_bool("SHOW_BYLINES", default=True)
# Who the feeds name as their author (Atom requires one).
NEWSROOM_NAME = os.environ.get("NEWSROOM_NAME", "Live blog")
# WebSub: feeds name this hub, and it is pinged after every change to a story.
# Its pings carry the feeds' public addresses, under SITE_URL
# (e.g. https://live.example.com), which it therefore requires.
WEBSUB_HUB_URL = os.environ.get("WEBSUB_HUB_URL", "")
WEBSUB_TIMEOUT = float(os.environ.get("WEBSUB_TIMEOUT", "3"))
SITE_URL = os.environ.get("SITE_URL", "")
if WEBSUB_HUB_URL and not SITE_URL:
    raise ImproperlyConfigured("WEBSUB_HUB_URL needs SITE_URL: the feeds' public address.")
# Outbound webhooks (coverage.webhooks; endpoints in the admin). Each attempt
# gets WEBHOOK_TIMEOUT seconds; a receiver failing for WEBHOOK_RETRY_HOURS is
# disabled. Payload links are absolute under SITE_URL. Webhooks go to public
# addresses only, unless this allows private and loopback ones (a newsroom's
# own network, tests): a server that can post anywhere inside is an SSRF hole.
WEBHOOK_TIMEOUT = min(30.0, float(os.environ.get("WEBHOOK_TIMEOUT", "10")))
WEBHOOK_RETRY_HOURS = max(24.0, float(os.environ.get("WEBHOOK_RETRY_HOURS", "24")))
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=False)

# Axes first: a locked-out username or address is refused before ModelBackend
# computes a password hash, so repeated attempts cannot spend the CPU readers need.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Admin login throttling (django-axes, coverage/login_lockout.py): after
# AXES_FAILURE_LIMIT failures a username is locked from that address only (the
# editor elsewhere still logs in), and after AXES_ADDRESS_FAILURE_LIMIT an
# address for every username, each for AXES_COOLOFF_MINUTES. Attempts are kept
# in the database. nginx limits the login's rate before any of this
# (deploy/nginx.conf), so a flood cannot take the readers' CPU.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_ADDRESS_FAILURE_LIMIT = max(
    AXES_FAILURE_LIMIT + 1, int(os.environ.get("AXES_ADDRESS_FAILURE_LIMIT", "30"))
)
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
# The order matters to LoginLockoutHandler: the pair first, the address second.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "coverage.login_lockout.LoginLockoutHandler"
AXES_RESET_ON_SUCCESS = True
# The page says how long, and that other addresses are not affected.
AXES_LOCKOUT_CALLABLE = "coverage.login_lockout.lockout_response"
# The client's address: what a trusted proxy (nginx, on this host by default)
# says in X-Real-IP, else the connection's. Never X-Forwarded-For, which the
# client can write. TRUSTED_PROXIES: comma-separated addresses of the proxies.
AXES_CLIENT_IP_CALLABLE = "coverage.login_lockout.client_address"
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES") or ["127.0.0.1", "::1"]

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
# Every image input (the desk, the admin's image cards and lead image) is held
# to these, by coverage.images.validate_upload: the file's bytes, then the size
# its header declares, before a pixel is decoded. A 40-megapixel image takes
# about 160 MB to decode (Pillow's own limit, 89, would let 360 MB through);
# no camera makes a side longer than 16,384 px, and a 2 × 20-million-pixel
# strip, under the pixel limit, takes seconds and gigabytes to decode.
MAX_IMAGE_BYTES = int(float(os.environ.get("MAX_IMAGE_MB", "10")) * 1024 * 1024)
MAX_IMAGE_PIXELS = int(float(os.environ.get("MAX_IMAGE_MEGAPIXELS", "40")) * 1_000_000)
MAX_IMAGE_SIDE = int(os.environ.get("MAX_IMAGE_SIDE", "16384"))
# Uploads bigger than this are refused rather than silently truncated.
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# The whole request body, files included: a bigger Content-Length is answered
# 413 before a byte of it is read or written to a temporary file
# (coverage.limits). Django never reads past Content-Length, so a body sent
# without one (chunked) is read as empty.
MAX_REQUEST_BODY = int(float(os.environ.get("MAX_REQUEST_BODY_MB", "20")) * 1024 * 1024)

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

# Sites that may frame the embed kit's pages (/embed/<slug>/), as CSP
# frame-ancestors sources (https://news.example.com, https://*.example.com);
# empty: any site. Every other page refuses to be framed.
LIVEBLOG_EMBED_ORIGINS = env_list("LIVEBLOG_EMBED_ORIGINS") or ["*"]

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
# Background work (the enrichment). In production a queue in the database, run
# by `manage.py db_worker` beside the web server (`make serve` starts both and
# always uses it), so a task never runs inside an editor's request. With DEBUG
# on (runserver, tests) the immediate backend runs it in the request that
# enqueued it, after its transaction commits: nothing else to start.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND")
        or (
            "django.tasks.backends.immediate.ImmediateBackend"
            if DEBUG
            else "django_tasks_db.DatabaseBackend"
        ),
        # Any queue: each task's is named for what running it needs
        # (coverage.tasks.worker_queues), and `manage.py task_worker` takes
        # only those its own settings can run.
        "QUEUES": [],
    }
}

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HTTPS, on by default in production (`check --deploy` is silent); each can be
# turned off where TLS ends elsewhere and the proxy already does it.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Probes ask over plain HTTP from the machine itself.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# The header the TLS-ending proxy sets to say the client used HTTPS (it must
# overwrite any the client sent); empty: trust none.
_proxy_ssl_header = os.environ.get("SECURE_PROXY_SSL_HEADER", "" if DEBUG else "X-Forwarded-Proto")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https") if _proxy_ssl_header else None
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
