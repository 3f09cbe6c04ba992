"""`make serve` stops cleanly: in-flight requests finish, nothing is left running.

Each test starts the real `make serve` (granian and the task worker, on a spare
port, SQLite in a temporary directory, the tests' settings with a slow URL) and
sends it SIGTERM, as systemd or a container runtime would. Every process it
starts inherits a marker in its environment, which is how the tests find any
left behind.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.processes import ROOT, app_env

VENV = Path(sys.executable).parent.parent
STOP_DEADLINE = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_with(marker: str) -> dict[int, str]:
    """Live processes carrying ``marker`` in their environment: pid -> command line."""
    needle = f"SERVE_TEST_MARKER={marker}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # A zombie (exited, not yet reaped) has an empty environment: not counted.
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
    return {pid: cmdline.decode(errors="replace") for pid, cmdline in found.items()}


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """A migrated SQLite file, so each start-up only checks its migrations."""
    url = f"sqlite:///{tmp_path_factory.mktemp('serve') / 'db.sqlite3'}"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=app_env(url),
        check=True,
        timeout=120,
    )
    return url


class Serve:
    """`make serve` as a child process (make's own check of the venv skipped)."""

    def __init__(self, database: str, log: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.marker = uuid.uuid4().hex
        env = app_env(
            database,
            PORT=str(self.port),
            WEB_CONCURRENCY="1",
            THREADS="2",
            ACCESS_LOG="0",
            SERVE_TEST_MARKER=self.marker,
        )
        self.log = log.open("w")
        command = ["make", "--no-print-directory", "-o", f"{VENV}/.installed", "serve"]
        self.process = subprocess.Popen(
            [*command, f"VENV={VENV}"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.base + "/healthz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def running(self, name: str) -> bool:
        return any(name in cmdline for cmdline in processes_with(self.marker).values())

    def stop(self) -> float:
        """SIGTERM; seconds until make has exited (fails after STOP_DEADLINE)."""
        started = time.monotonic()
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"still running {STOP_DEADLINE} s after SIGTERM") from None
        return time.monotonic() - started

    def kill(self):
        for pid in processes_with(self.marker):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def serve(database, tmp_path):
    servers = []

    def start():
        servers.append(Serve(database, tmp_path / f"serve-{len(servers)}.log"))
        return servers[-1]

    yield start
    for server in servers:
        if server.process.poll() is None:
            server.kill()
        server.log.close()
        left = processes_with(server.marker)
        server.kill()
        assert not left, f"left running after make serve exited: {left}"


def test_sigterm_lets_the_request_in_flight_finish_then_stops_everything(serve, tmp_path):
    server = serve()
    wait_for(server.ready, 90, "make serve to answer /healthz")
    # The task worker runs beside the web server.
    assert server.running("task_worker"), processes_with(server.marker)

    started = tmp_path / "started"
    answer = {}

    def slow_request():
        url = f"{server.base}/slow?seconds=3&started={started}"
        with urllib.request.urlopen(url, timeout=15) as response:
            answer.update(status=response.status, body=response.read())

    request = threading.Thread(target=slow_request)
    request.start()
    wait_for(started.exists, 10, "the slow request to reach the view")

    assert server.stop() < STOP_DEADLINE
    request.join(timeout=15)
    assert answer == {"status": 200, "body": b"finished"}
    assert processes_with(server.marker) == {}
    assert not server.ready()


@pytest.mark.parametrize("moment", ["at once", "during migrate", "as granian starts"])
def test_sigterm_during_start_up_stops_everything(serve, moment):
    server = serve()
    if moment == "during migrate":
        wait_for(lambda: server.running("manage.py migrate"), 60, "migrate to start")
    elif moment == "as granian starts":
        wait_for(lambda: server.running("granian"), 60, "granian to start")
    assert server.stop() < STOP_DEADLINE
    # No server, no worker, no start-up step left behind.
    assert processes_with(server.marker) == {}


def parent_of(pid: int) -> int:
    # /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces.
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_sigterm_just_after_a_granian_worker_was_killed_does_not_wait_out_the_kill_timeout(
    serve,
):
    server = serve()
    wait_for(server.ready, 90, "make serve to answer /healthz")
    granian = {
        pid for pid, cmdline in processes_with(server.marker).items() if "granian" in cmdline
    }
    [worker] = [pid for pid in granian if parent_of(pid) in granian]
    main = parent_of(worker)
    os.kill(worker, signal.SIGKILL)

    def respawned():
        return [
            pid
            for pid, cmdline in processes_with(server.marker).items()
            if "granian" in cmdline and pid != worker and parent_of(pid) == main
        ]

    # The moment of the audit: the new worker forked, still starting.
    wait_for(respawned, 30, "granian to respawn its worker")
    assert server.stop() < STOP_DEADLINE
    assert processes_with(server.marker) == {}
    log = Path(server.log.name).read_text()
    assert "Unexpected exit from worker-1" in log
    # Stopped when told, not killed at granian's --workers-kill-timeout.
    assert "refused to gracefully stop" not in log, log
