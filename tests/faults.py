"""Real dependencies for the fault tests (tests/test_faults.py): a redis-server and
a PostgreSQL cluster of their own on spare ports, the app under granian as
`make serve` runs it, and readers and an editor speaking HTTP to it.

Everything here can be stopped, frozen (SIGSTOP) and thawed; every process and
the cluster are owned by the test module, which removes them even on failure.
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLUSTER_PREFIX = "liveblog_faults_"
PASSWORD = "fault-suite-password-7731"


def spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            result = condition()
            if result:
                return result
        time.sleep(interval)
    raise TimeoutError(f"{what} did not happen within {timeout} s")


def freeze(pids):
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP)


def thaw(pids):
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


# Redis ----------------------------------------------------------------------


class Redis:
    def __init__(self):
        self.port = spare_port()
        self.process = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: self.client().ping(), 10, "redis-server answering")

    def client(self):
        import redis

        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.thaw()
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @contextlib.contextmanager
    def frozen(self):
        freeze([self.process.pid])
        try:
            yield
        finally:
            self.thaw()

    def thaw(self):
        if self.process is not None:
            thaw([self.process.pid])

    @contextlib.contextmanager
    def refusing_writes(self):
        client = self.client()
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", "1")
        try:
            yield
        finally:
            client.config_set("maxmemory", "0")

    def heal(self):
        """Running, thawed, accepting writes."""
        if not self.running():
            self.start()
        self.thaw()
        self.client().config_set("maxmemory", "0")


# PostgreSQL -----------------------------------------------------------------


def pg_version() -> str | None:
    versions = sorted(
        (p.name for p in Path("/usr/lib/postgresql").glob("*") if (p / "bin/postgres").exists()),
        key=int,
    )
    return versions[-1] if versions else None


def missing_tools() -> list[str]:
    import shutil

    wanted = ["redis-server", "pg_createcluster", "pg_ctlcluster", "pg_dropcluster"]
    missing = [tool for tool in wanted if shutil.which(tool) is None]
    if pg_version() is None:
        missing.append("a PostgreSQL server under /usr/lib/postgresql")
    if not (BIN / "granian").exists():
        missing.append(str(BIN / "granian"))
    if os.geteuid() != 0:
        missing.append("root (pg_createcluster/pg_ctlcluster run as root)")
    return missing


def drop_stale_clusters(version: str):
    """Clusters left by a run that was killed before its clean-up (its pid is gone)."""
    for conf in Path(f"/etc/postgresql/{version}").glob(f"{CLUSTER_PREFIX}*"):
        pid = conf.name.removeprefix(CLUSTER_PREFIX).split("_")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            subprocess.run(
                ["pg_dropcluster", "--stop", version, conf.name], capture_output=True, timeout=60
            )


class Postgres:
    def __init__(self):
        self.version = pg_version()
        self.name = f"{CLUSTER_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.port = spare_port()
        self.database = "liveblog"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"
        self.created = False

    def ctl(self, *args, timeout=60):
        return subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def create(self):
        drop_stale_clusters(self.version)
        subprocess.run(
            ["pg_createcluster", self.version, self.name, "-p", str(self.port)]
            + ["-o", "fsync=off", "-o", "synchronous_commit=off", "-o", "full_page_writes=off"]
            + ["--", "--auth=trust"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.created = True
        self.start()
        self.psql("postgres", f"CREATE DATABASE {self.database}")

    def drop(self):
        if self.created:
            self.thaw()
            subprocess.run(
                ["pg_dropcluster", "--stop", self.version, self.name],
                capture_output=True,
                timeout=120,
            )
            self.created = False

    def start(self):
        self.ctl("start")
        wait_for(lambda: self.psql("postgres", "SELECT 1") == "1", 30, "PostgreSQL answering")

    def stop(self):
        self.ctl("stop", "-m", "fast")

    def running(self) -> bool:
        return self.postmaster_pid() is not None

    def psql(self, database, sql) -> str:
        result = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database]
            + ["-v", "ON_ERROR_STOP=1", "-tAc", sql],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return result.stdout.strip()

    def query(self, sql) -> list[list[str]]:
        output = self.psql(self.database, sql)
        return [line.split("|") for line in output.splitlines() if line]

    def data_dir(self) -> Path:
        return Path(f"/var/lib/postgresql/{self.version}/{self.name}")

    def postmaster_pid(self) -> int | None:
        try:
            pid = int((self.data_dir() / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if Path(f"/proc/{pid}").exists() else None

    def pids(self) -> list[int]:
        """The postmaster first, then every backend and helper it forked.

        Freezing only the postmaster would leave existing backends answering.
        """
        postmaster = self.postmaster_pid()
        if postmaster is None:
            return []
        children = subprocess.run(
            ["pgrep", "-P", str(postmaster)], capture_output=True, text=True
        ).stdout.split()
        return [postmaster, *map(int, children)]

    @contextlib.contextmanager
    def frozen(self):
        pids = self.pids()
        assert pids, "PostgreSQL is not running"
        freeze(pids)
        try:
            yield
        finally:
            thaw(pids)
            self.thaw()

    def thaw(self):
        thaw(self.pids())

    def dump(self, path: Path):
        subprocess.run(
            ["pg_dump", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-Fc"]
            + ["-f", str(path), self.database],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def restore(self, path: Path):
        """A restore as an operator runs one: into the live database, no cache flush."""
        subprocess.run(
            ["pg_restore", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
            + ["--clean", "--if-exists", "--single-transaction", "-d", self.database, str(path)],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def heal(self):
        self.thaw()
        if not self.running():
            self.start()


# The app --------------------------------------------------------------------


class Server:
    """The app under granian, as `make serve` runs it (one worker, four threads)."""

    def __init__(self, database_url, redis_url, log_path: Path):
        self.port = spare_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process = None
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DEBUG": "false",
            "SECRET_KEY": "fault-suite-" + uuid.uuid4().hex,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_COOKIES": "false",
            # Plain HTTP on 127.0.0.1: no TLS to redirect to.
            "SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("LIVE_STATE_TTL", "LIVE_STATE_IN_PROCESS", "LIVE_POLL_SECONDS"):
            self.env.pop(name, None)

    def manage(self, *args, timeout=120):
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def manage_in_background(self, *args):
        return subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def start(self):
        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [str(BIN / "granian"), "--interface", "wsgi", "liveblog.wsgi:application"]
            + ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
            + ["--blocking-threads", "4", "--no-ws", "--log-level", "warning"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(
            lambda: httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200,
            30,
            "the app server answering /healthz",
        )

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process is not None:
            self.log.close()
        self.process = None

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with open(self.log_path, "rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")


SEED = """
from django.contrib.auth import get_user_model
from coverage import publishing
from coverage.models import Story
User = get_user_model()
if not User.objects.filter(username="editor").exists():
    User.objects.create_superuser("editor", "editor@example.com", {password!r})
story = Story.objects.filter(slug="faults").first()
if story is None:
    story = publishing.create_story(slug="faults", title="Fault day", status=Story.Status.LIVE)
    for n in range(3):
        publishing.post_update(story, body=f"<p>Seed update {{n}} fault-seed{{n}}</p>")
print(story.pk)
"""


def seed(server: Server) -> int:
    return int(server.manage("shell", "-c", SEED.format(password=PASSWORD)).split()[-1])


# Traffic --------------------------------------------------------------------


@dataclass
class Answer:
    what: str
    status: int | None  # None: no answer (timeout, connection error)
    seconds: float
    headers: dict = field(default_factory=dict)
    text: str = ""
    error: str = ""

    def __str__(self):
        return f"{self.what} -> {self.status or self.error} in {self.seconds:.2f}s"


class Traffic:
    """One HTTP client; every answer is kept, so a test can check them all."""

    def __init__(self, base: str, timeout: float = 6):
        self.base = base
        self.http = httpx.Client(base_url=base, timeout=timeout, follow_redirects=False)
        self.answers: list[Answer] = []

    def request(self, method, path, **kwargs) -> Answer:
        started = time.monotonic()
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            answer = Answer(
                f"{method} {path}",
                None,
                time.monotonic() - started,
                error=f"{type(error).__name__}: {error}",
            )
        else:
            answer = Answer(
                f"{method} {path}",
                response.status_code,
                time.monotonic() - started,
                dict(response.headers),
                response.text,
            )
        self.answers.append(answer)
        return answer

    def get(self, path, **kwargs) -> Answer:
        return self.request("GET", path, **kwargs)

    def close(self):
        self.http.close()


ARTICLE = re.compile(r'<article id="update-(\d+)" class="([^"]*)"(.*?)</article>', re.S)
POLLER = re.compile(r'<div id="poller"[^>]*data-revision="(\d+)"')


def articles(html: str) -> dict[int, str]:
    """Update id -> its rendered article, normalised (the oob marker removed)."""
    found = {}
    for pk, classes, rest in ARTICLE.findall(html):
        body = rest.replace(' data-hx-swap-oob="true"', "")
        found[int(pk)] = (classes, " ".join(body.split()))
    return found


@dataclass
class Page:
    revision: int
    updates: dict


def parse_page(html: str) -> Page:
    match = POLLER.search(html)
    assert match, f"no poller on the page: {html[:300]!r}"
    return Page(int(match.group(1)), articles(html))


class Reader(Traffic):
    """A reader's open page: its cursor and the updates it shows, kept as htmx would."""

    def __init__(self, base, slug):
        super().__init__(base)
        self.slug = slug
        self.page: Page | None = None

    def load(self) -> Answer:
        answer = self.get(f"/{self.slug}/")
        if answer.status == 200:
            self.page = parse_page(answer.text)
        return answer

    def poll(self) -> Answer:
        if self.page is None:
            return self.load()
        answer = self.get(f"/{self.slug}/updates/?since={self.page.revision}")
        if answer.headers.get("hx-refresh") == "true":
            return self.load()
        if answer.status == 200:
            match = POLLER.search(answer.text)
            assert match, f"a 200 poll without a poller: {answer.text[:300]!r}"
            self.page.revision = int(match.group(1))
            for pk, (classes, body) in articles(answer.text).items():
                if "update-removed" in classes.split():
                    self.page.updates.pop(pk, None)
                else:
                    self.page.updates[pk] = (classes, body)
        return answer


@dataclass
class Post:
    token: str
    marker: str
    answer: Answer

    @property
    def saved(self) -> bool:
        return self.answer.status in (200, 302)

    @property
    def refused_clearly(self) -> bool:
        """The editor was told plainly that nothing was saved."""
        text = self.answer.text.lower()
        return self.answer.status == 503 and ("not saved" in text or "try again" in text)


class Editor(Traffic):
    def __init__(self, base, story_id):
        super().__init__(base)
        self.story_id = story_id
        self.posts: list[Post] = []

    def log_in(self):
        self.get("/admin/login/")
        answer = self.request(
            "POST",
            "/admin/login/",
            data={
                "username": "editor",
                "password": PASSWORD,
                "next": "/admin/",
                "csrfmiddlewaretoken": self.http.cookies["csrftoken"],
            },
        )
        assert answer.status == 302, f"editor could not log in: {answer}"

    def post(self, text: str, token: str | None = None) -> Post:
        token = token or str(uuid.uuid4())
        marker = f"fault-{token[:8]}"
        answer = self.request(
            "POST",
            f"/admin/coverage/story/{self.story_id}/desk/compose/",
            data={"client_token": token, "body": f"{text} {marker}", "intent": "publish"},
            headers={"HX-Request": "true", "X-CSRFToken": self.http.cookies["csrftoken"]},
        )
        post = Post(token, marker, answer)
        self.posts.append(post)
        return post
