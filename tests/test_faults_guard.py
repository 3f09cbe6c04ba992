"""The task worker through a database outage, on a PostgreSQL cluster of its own
(tests/faults.py): one clear line when the database goes, one when it is back,
no traceback, no exit, tasks run again afterwards."""

import os
import subprocess
import sys
import time

import pytest

from tests import faults

pytestmark = pytest.mark.faults

# This suite's own port (the other fault suites use spare ones).
POSTGRES_PORT = 5444
# A task on the default queue (enrichment of no embed: "skipped"), waited for.
RUN_ONE_TASK = """
import time
from coverage import tasks
result = tasks.enrich_embed.enqueue(0)
for _ in range(150):
    result.refresh()
    if result.status == "SUCCESSFUL":
        break
    time.sleep(0.2)
print(result.status)
"""


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    missing = faults.missing_tools()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the fault tests need: {', '.join(missing)}")
        pytest.skip(f"the fault tests need: {', '.join(missing)}")
    pg = faults.Postgres()
    pg.port = POSTGRES_PORT
    pg.url = f"postgres://postgres@127.0.0.1:{pg.port}/{pg.database}"
    try:
        pg.create()
        yield pg
    finally:
        pg.drop()


def test_the_worker_logs_one_line_per_outage_and_carries_on(pg, tmp_path):
    server = faults.Server(pg.url, "", tmp_path / "unused.log")
    server.manage("migrate", "--noinput", "--verbosity", "0")
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "task_worker", "--interval", "0.2", "--verbosity", "0"],
            cwd=faults.ROOT,
            env=server.env | {"TASKS_BACKEND": "django_tasks_db.DatabaseBackend"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        # Polling the queue: connected.
        connected = "SELECT count(*) FROM pg_stat_activity WHERE datname = 'liveblog'"
        faults.wait_for(lambda: pg.psql("postgres", connected) != "0", 30, "the worker connected")
        pg.stop()
        faults.wait_for(lambda: "unreachable" in log_path.read_text(), 30, "the outage line")
        # Long enough for the old worker to have crashed with a traceback
        # twice over, and for this one to try the database several times.
        deadline = time.monotonic() + 8
        faults.wait_for(lambda: time.monotonic() > deadline, 10, "eight seconds of outage")
        assert worker.poll() is None, log_path.read_text()
        pg.start()
        faults.wait_for(lambda: "database is back" in log_path.read_text(), 90, "the recovery line")

        # It runs tasks again: one queued now is done.
        done = server.manage("shell", "-c", RUN_ONE_TASK)
        assert done.split()[-1] == "SUCCESSFUL"
    finally:
        worker.terminate()
        worker.wait(15)
    text = log_path.read_text()
    assert "Traceback" not in text, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert sum(line.startswith("Task worker: the database is unreachable") for line in lines) == 1
    assert sum(line.startswith("Task worker: the database is back") for line in lines) == 1
    assert len(lines) == 2, text  # nothing else: no traceback, no repeat per retry
