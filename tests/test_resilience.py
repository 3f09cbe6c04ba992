"""Readers keep reading when Redis or PostgreSQL falter (issue 9, items 1-5, 11).

Faults are injected at unit level here: a cache whose calls raise what
redis-py raises, a real RedisCache pointed at a closed port, and a database
whose every query raises OperationalError. tests/test_faults.py drives the
same faults against real servers.
"""

import json
import logging
import os
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
import redis
from django.core.cache import caches
from django.db import OperationalError, connection, connections
from django.urls import reverse

from coverage import cache as coverage_cache
from coverage import live, middleware, publishing, views
from coverage.models import Story, Update
from tests.factories import committed, end_coverage, make_editor, make_story, make_update

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def healthy_cache():
    live.reset_cache_health()
    middleware.forget_pages()
    yield
    live.reset_cache_health()
    middleware.forget_pages()


def poll(client, story, since):
    return client.get(reverse("coverage:poll", kwargs={"slug": story.slug}), {"since": since})


def revision_of(story):
    return Story.objects.values_list("revision", flat=True).get(pk=story.pk)


class FailingCache:
    """A cache whose named calls raise as redis-py does when Redis is down or
    refuses writes; the rest reach a real local-memory cache."""

    def __init__(self, failing=("get", "set", "add", "delete"), error=None):
        self.failing = set(failing)
        self.error = error or redis.exceptions.ConnectionError("Connection refused")
        self.calls = 0
        self.real = caches["default"]

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls += 1
            if name in self.failing:
                raise self.error
            return getattr(self.real, name)(*args, **kwargs)

        return call


@pytest.fixture
def retry_at_once(monkeypatch):
    # Each request tries the cache again, as one would a second later.
    monkeypatch.setattr(live, "CACHE_RETRY_SECONDS", 0.0)


@contextmanager
def database_down():
    def refuse(execute, sql, params, many, context):
        raise OperationalError("connection refused (test)")

    with connection.execute_wrapper(refuse):
        yield


# 1. Redis down or refusing writes ------------------------------------------


def test_redis_down_readers_and_writers_carry_on(client, monkeypatch, retry_at_once, caplog):
    story = make_story()
    first = make_update(story)
    monkeypatch.setattr(live, "cache", FailingCache())
    caplog.set_level(logging.WARNING, logger="coverage.live")

    assert poll(client, story, revision_of(story)).status_code == 204
    page = client.get(story.get_absolute_url())
    assert page.status_code == 200 and first.body in page.content.decode()
    assert client.get(reverse("coverage:story-rss", kwargs={"slug": story.slug})).status_code == 200
    since = revision_of(story)
    # The writer's on-commit refresh fails to reach the cache: the post stands.
    update = make_update(story, body="<p>Posted while Redis is down</p>")
    live.forget_in_process()  # another process, which never saw the write
    answer = poll(client, story, since)
    assert answer.status_code == 200 and f"update-{update.pk}" in answer.content.decode()
    for _ in range(5):
        assert poll(client, story, revision_of(story)).status_code == 204

    warnings = [r for r in caplog.records if "Cache unavailable" in r.getMessage()]
    assert len(warnings) == 1  # per process per minute, not per request


def test_a_write_redis_refused_reaches_readers_at_once(client, monkeypatch):
    story = make_story()
    since = revision_of(story)
    assert poll(client, story, since).status_code == 204  # the state is cached
    # maxmemory: writes refused, reads and deletes still served.
    monkeypatch.setattr(
        live,
        "cache",
        FailingCache(failing={"set", "add"}, error=redis.exceptions.OutOfMemoryError()),
    )
    update = make_update(story)
    live.forget_in_process()  # a reader in another process
    answer = poll(client, story, since)
    assert answer.status_code == 200 and f"update-{update.pk}" in answer.content.decode()


def test_a_state_left_behind_in_the_cache_is_corrected_within_the_check_interval(
    client, settings, django_assert_num_queries
):
    story = make_story()
    since = revision_of(story)
    assert poll(client, story, since).status_code == 204
    # A write whose refresh never reached the cache (Redis frozen, then thawed).
    Story.objects.filter(pk=story.pk).update(revision=since + 1)
    live._in_process.clear()
    assert poll(client, story, since).status_code == 204  # trusted, for now
    settings.LIVE_STATE_VERIFY_SECONDS = 0  # the check falls due
    live.forget_in_process()
    assert poll(client, story, since).status_code == 200
    assert caches["default"].get(live.cache_key(story.slug)).revision == since + 1


def test_the_cache_is_used_again_once_it_answers(client, monkeypatch, retry_at_once):
    story = make_story()
    failing = FailingCache()
    monkeypatch.setattr(live, "cache", failing)
    assert poll(client, story, revision_of(story)).status_code == 204
    failing.failing = set()  # Redis is back, no restart
    live.forget_in_process()
    assert poll(client, story, revision_of(story)).status_code == 204
    assert caches["default"].get(live.cache_key(story.slug)) is not None


def test_a_failing_cache_is_left_alone_for_a_moment(client, monkeypatch):
    story = make_story()
    failing = FailingCache(error=redis.exceptions.TimeoutError("Timeout reading"))
    monkeypatch.setattr(live, "cache", failing)
    for _ in range(5):
        live.forget_in_process()
        assert poll(client, story, revision_of(story)).status_code == 204
    assert failing.calls == 1  # one timeout, then straight to the database


def test_the_real_redis_backend_refused_falls_back_to_the_database(client, monkeypatch):
    from django.conf import settings as django_settings

    story = make_story()
    closed = coverage_cache.RedisCache(
        "redis://127.0.0.1:1/0",
        {"OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}},
    )
    monkeypatch.setattr(live, "cache", closed)
    assert django_settings.DEBUG is False
    assert poll(client, story, revision_of(story)).status_code == 204
    make_update(story)  # its refresh meets the closed port, and says nothing
    assert client.get(story.get_absolute_url()).status_code == 200


def test_the_writers_refresh_never_raises_into_the_request(monkeypatch):
    story = make_story()

    def broken(**lookup):
        raise OperationalError("server closed the connection")

    monkeypatch.setattr(live, "load", broken)
    with committed():
        update, created = publishing.post_update(story, body="<p>Saved</p>")
    assert created and Update.objects.filter(pk=update.pk).exists()


# 2. Timeouts everywhere ------------------------------------------------------


def test_settings_bound_every_wait_on_redis_and_postgresql():
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "DATABASE_STATEMENT_TIMEOUT_MS": "1500",
        "DJANGO_SETTINGS_MODULE": "liveblog.settings",
    }
    code = (
        "import json; from django.conf import settings as s; print(json.dumps("
        "[s.CACHES['default']['OPTIONS'], s.DATABASES['default']['OPTIONS']]))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True)
    redis_options, database_options = json.loads(out.stdout)
    assert 0 < redis_options["socket_connect_timeout"] < 1
    assert 0 < redis_options["socket_timeout"] < 1
    assert database_options["connect_timeout"] > 0
    assert "-c statement_timeout=1500" in database_options["options"]


def test_healthz_touches_neither_database_nor_cache(client, monkeypatch, django_assert_num_queries):
    refusing = FailingCache(failing={"get", "set", "add", "delete", "get_many", "incr"})
    monkeypatch.setattr(live, "cache", refusing)
    monkeypatch.setattr(views, "cache", refusing)
    with django_assert_num_queries(0), database_down():
        response = client.get("/healthz")
    assert response.status_code == 200
    assert refusing.calls == 0


# 5. /readyz ------------------------------------------------------------------


def test_readyz_reports_both_dependencies_with_their_latency(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["ready"] is True
    for name in ("database", "cache"):
        assert body[name]["ok"] is True and body[name]["latency_ms"] >= 0


def test_readyz_is_503_when_either_is_unreachable(client, monkeypatch):
    monkeypatch.setattr(views, "cache", FailingCache())
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["cache"]["ok"] is False
    assert response.json()["database"]["ok"] is True
    monkeypatch.undo()
    with database_down():
        response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["database"]["ok"] is False


# 3. PostgreSQL down ------------------------------------------------------------


def test_database_down_idle_polls_answer_from_the_cached_state(client):
    story = make_story()
    assert poll(client, story, revision_of(story)).status_code == 204
    live.forget_in_process()  # the cache still has it
    with database_down():
        assert poll(client, story, story.revision).status_code == 204


def test_database_down_a_story_page_serves_its_last_rendered_copy(client):
    story = make_story()
    update = make_update(story)
    assert client.get(story.get_absolute_url()).status_code == 200
    for alias in ("default", "revisions"):
        caches[alias].clear()
    live.forget_in_process()
    with database_down():
        response = client.get(story.get_absolute_url())
    assert response.status_code == 200
    assert response["X-Stale"] == "database-unavailable"
    assert update.body in response.content.decode()


def test_database_down_otherwise_a_503_with_retry_after(client):
    story = make_story()
    since = revision_of(story)
    make_update(story)
    live.forget_in_process()
    caches["default"].clear()
    with database_down():
        for url in (
            story.get_absolute_url(),
            "/no-such-story/",
            reverse("coverage:story-rss", kwargs={"slug": story.slug}),
            f"{reverse('coverage:poll', kwargs={'slug': story.slug})}?since={since}",
        ):
            response = client.get(url)
            assert response.status_code == 503, url
            assert int(response["Retry-After"]) > 0


def test_database_down_an_editors_post_is_not_saved_and_says_so(client):
    story = make_story()
    client.force_login(make_editor())
    before = Update.objects.count()
    from tests.factories import admin_update_form

    with database_down():
        response = client.post("/admin/coverage/update/add/", admin_update_form(story))
    assert response.status_code == 503
    assert b"Not saved" in response.content
    assert Update.objects.count() == before


# make serve with the database down: tests/test_faults.py runs the real thing;
# the poller's backoff: tests/browser/test_reading.py, in Chromium.


# 4. Database restore -------------------------------------------------------------


def test_a_restore_never_reuses_a_revision_and_open_pages_converge(client, settings):
    story = make_story()
    kept = make_update(story, body="<p>In the backup</p>")
    restored_revision = revision_of(story)
    lost = [make_update(story, body=f"<p>Lost {n}</p>") for n in range(3)]
    high_water = revision_of(story)
    assert poll(client, story, high_water).status_code == 204
    # Restore the backup taken at restored_revision; Redis is not flushed.
    Update.objects.filter(pk__in=[u.pk for u in lost]).delete()
    Story.objects.filter(pk=story.pk).update(revision=restored_revision)

    settings.LIVE_STATE_VERIFY_SECONDS = 0  # the next check against the database
    live.forget_in_process()
    answer = poll(client, story, high_water)
    assert answer.status_code == 409 and answer["HX-Refresh"] == "true"
    settings.LIVE_STATE_VERIFY_SECONDS = 2

    new = make_update(story, body="<p>After the restore</p>")
    assert new.revision == high_water + 1  # never a number readers already hold
    # A page that showed a lost update (a background tab) reloads.
    answer = poll(client, story, high_water - 1)
    assert answer.status_code == 409 and answer["HX-Refresh"] == "true"
    # A page from before the lost updates gets only the new one.
    html = poll(client, story, restored_revision).content.decode()
    assert f"update-{new.pk}" in html and f"update-{kept.pk}" not in html
    page = client.get(story.get_absolute_url()).content.decode()
    assert "After the restore" in page and "Lost" not in page


# 11. No query per request for claims the cache can answer --------------------------


def test_unknown_slugs_cost_one_query_a_second(client, django_assert_num_queries):
    url = reverse("coverage:poll", kwargs={"slug": "no-such-story"})
    with django_assert_num_queries(1):
        for _ in range(10):
            assert client.get(url, {"since": 1}).status_code == 404


def test_a_cursor_ahead_of_the_story_costs_one_query_a_second(client, django_assert_num_queries):
    story = make_story()
    ahead = revision_of(story) + 50
    live.forget_in_process()
    with django_assert_num_queries(1):
        first = poll(client, story, ahead)
        later = [poll(client, story, ahead) for _ in range(10)]
    assert first.status_code == 409
    assert {response.status_code for response in later} <= {204, 409}
    assert all(r["Cache-Control"] == "no-store" for r in later if r.status_code == 204)


def test_polls_of_an_ended_story_are_answered_without_queries(client, django_assert_num_queries):
    story = make_story()
    make_update(story)
    end_coverage(story)
    since = revision_of(story)
    assert poll(client, story, since).status_code == 204
    with django_assert_num_queries(0):
        for _ in range(10):
            assert poll(client, story, since).status_code == 204


# A frozen PostgreSQL: deadlines the client keeps ---------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the client-side deadline is PostgreSQL's backend"
)
def test_a_query_past_its_deadline_is_cut_off_and_the_next_fails_fast(settings):
    """A frozen server never enforces statement_timeout; the client's deadline does.
    pg_sleep stands in for a server that does not answer (tests/test_faults.py
    freezes a real one)."""
    from coverage.postgresql import base as backend

    settings.DATABASE_BREAKER_SECONDS = 30
    other = connections.create_connection("default")  # not the test's own transaction
    try:
        started = time.monotonic()
        with (
            backend.request_deadline(0.5),
            pytest.raises(OperationalError),
            other.cursor() as cursor,
        ):
            cursor.execute("SELECT pg_sleep(10)")
        assert time.monotonic() - started < 3
        # The breaker is open: the next request fails at once, without waiting.
        started = time.monotonic()
        other.close()
        with backend.request_deadline(0.5), pytest.raises(OperationalError, match="failing fast"):
            other.ensure_connection()
        assert time.monotonic() - started < 0.5
        # Outside requests (commands, the worker) nothing changes.
        other.ensure_connection()
        with other.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        backend.reset_breaker()
        other.close()
