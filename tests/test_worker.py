"""The task queue: enrichment is queued in the database and run by a worker process."""

import subprocess
import sys

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from coverage import publishing, tasks, websub
from coverage.models import Embed, Story
from tests.factories import make_story
from tests.processes import ROOT, app_env, database_url
from tests.test_oembed import FakeProvider, provider, provider_base, video_embed  # noqa: F401

DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}
HUB = "http://127.0.0.1:9/hub"  # the discard port: the ping fails at once, and says so


def run_worker(**environment) -> subprocess.CompletedProcess:
    """Our worker (manage.py task_worker) once through its queues, in another process."""
    worker = subprocess.run(
        [sys.executable, "manage.py", "task_worker", "--batch", "--no-startup-delay"],
        cwd=ROOT,
        env=app_env(
            database_url(connection.settings_dict),
            TASKS_BACKEND="django_tasks_db.DatabaseBackend",
            **environment,
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert worker.returncode == 0, worker.stderr
    return worker


@pytest.mark.django_db(transaction=True)  # committed: the worker is another process
def test_a_worker_process_runs_the_queued_enrichment(provider, settings):  # noqa: F811
    settings.TASKS = DATABASE_QUEUE
    embed = video_embed()

    # Saving the card queued its enrichment and ran nothing: no provider asked.
    [queued] = DBTaskResult.objects.all()
    assert queued.task_path == tasks.enrich_embed.module_path
    assert queued.status == "READY"
    assert FakeProvider.requests == []
    assert Embed.objects.get().enriched_at is None

    # A worker without enrichment leaves it alone; one with it runs it.
    run_worker()
    queued.refresh_from_db()
    assert queued.status == "READY"
    run_worker(TEST_OEMBED_BASE=provider)

    queued.refresh_from_db()
    assert queued.status == "SUCCESSFUL", queued.traceback
    assert queued.return_value == "enriched"
    assert len(FakeProvider.requests) == 1
    embed = Embed.objects.get()
    assert embed.title == "Flood footage from the bridge"
    assert embed.enriched_at is not None


def test_production_settings_queue_tasks_in_the_database():
    """DEBUG off means the database queue, unless TASKS_BACKEND says otherwise."""
    read = "from django.conf import settings; print(settings.TASKS['default']['BACKEND'])"
    env = app_env("sqlite:///unused.sqlite3", DEBUG="false", SECRET_KEY="x" * 50)
    env |= {"ALLOWED_HOSTS": "example.com", "DJANGO_SETTINGS_MODULE": "liveblog.settings"}
    env.pop("TASKS_BACKEND", None)

    def backend(**extra):
        command = [sys.executable, "-c", f"import django; django.setup(); {read}"]
        result = subprocess.run(
            command, cwd=ROOT, env=env | extra, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert backend() == "django_tasks_db.DatabaseBackend"
    assert backend(DEBUG="true") == "django.tasks.backends.immediate.ImmediateBackend"
    dummy = "django.tasks.backends.dummy.DummyBackend"
    assert backend(TASKS_BACKEND=dummy) == dummy


@pytest.mark.django_db(transaction=True)
def test_a_worker_without_the_hub_leaves_the_ping_to_one_with_it(settings):
    settings.TASKS = DATABASE_QUEUE
    settings.WEBSUB_HUB_URL = HUB
    settings.SITE_URL = "https://live.example.com"
    story = make_story(status=Story.Status.LIVE)
    publishing.post_update(story, body="<p>The bridge is closed.</p>")
    pings = DBTaskResult.objects.filter(task_path=websub.ping_hub.module_path)

    def statuses():
        return {(ping.status, ping.return_value) for ping in pings.all()}

    assert statuses() == {("READY", None)}
    run_worker()  # the audit's worker: started without the hub setting
    assert statuses() == {("READY", None)}
    # Nor one told of another hub.
    run_worker(WEBSUB_HUB_URL="http://127.0.0.1:9/other-hub", SITE_URL="https://live.example.com")
    assert statuses() == {("READY", None)}

    run_worker(WEBSUB_HUB_URL=HUB, SITE_URL="https://live.example.com")
    # Run, and the hub tried (nothing listens there): not "skipped".
    assert statuses() == {("SUCCESSFUL", "failed")}
