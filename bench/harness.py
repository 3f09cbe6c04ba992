"""Shared by the benchmarks: a PostgreSQL database, Redis, and the production server.

Everything stays on 127.0.0.1; every server started here is stopped on exit.
"""

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")


def fresh_database(name: str) -> str:
    """Drop and create a PostgreSQL database; return its URL."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def production_env(database_url: str, port: int, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(40),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        PORT=str(port),
        SECURE_COOKIES="false",
        LOG_LEVEL="ERROR",
    )
    env.update(extra)
    return env


def use_django(env: dict[str, str]) -> None:
    """Set up Django in this process against the benchmark's database."""
    os.environ.update(
        {k: env[k] for k in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL")}
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@contextlib.contextmanager
def running_server(env: dict[str, str], command: list[str] | None = None, timeout: float = 90):
    """Start the production server (`make serve` unless told otherwise); yield its URL."""
    command = command or ["make", "--no-print-directory", "serve"]
    log = open(ROOT / "bench" / f"server-{env['PORT']}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early; see {log.name}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not answer within {timeout}s; see {log.name}")
            time.sleep(0.3)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        wait_for_port_to_close(int(env["PORT"]))
        log.close()


def wait_for_port_to_close(port: int, timeout: float = 40) -> None:
    """Workers may outlive `make` while they finish requests: wait for them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.3)
    raise RuntimeError(f"port {port} still in use after {timeout}s")
