"""Readers now (coverage/audience.py): counted from readers' polls in process
memory, sent to the shared cache in batches, estimated on the desk. A reader's
poll gains no query and no cache call, except the one that finds a flush due;
no cookie, no id. Time is a settable clock, never a sleep."""

import pytest
from django.core.cache import caches
from django.urls import reverse

from coverage import audience, live
from coverage.models import Story
from tests.conftest import CommittingClient
from tests.factories import committed, make_editor, make_story
from tests.test_presence import panel_text

pytestmark = pytest.mark.django_db

WINDOW = 30
# The start of a window, well clear of the real clock.
START = 60_000_000 * WINDOW


@pytest.fixture(autouse=True)
def clock(monkeypatch, settings):
    settings.AUDIENCE_WINDOW_SECONDS = WINDOW
    settings.AUDIENCE_FLUSH_SECONDS = 5
    settings.LIVE_POLL_SECONDS = 10
    # The live state stays in this process's memory for the whole test, as it
    # does between a process's polls a second apart.
    settings.LIVE_STATE_IN_PROCESS = 3600
    settings.LIVE_STATE_VERIFY_SECONDS = 3600
    now = [float(START)]
    monkeypatch.setattr(audience, "clock", lambda: now[0])
    audience.forget_in_process()
    yield now
    audience.forget_in_process()
    live.reset_cache_health()  # a test's failing cache must not reach the next one


class CacheSpy:
    """The real cache, recording each call a poll makes of it."""

    def __init__(self):
        self.real = caches["default"]
        self.calls = []

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append(name)
            return getattr(self.real, name)(*args, **kwargs)

        return call


@pytest.fixture
def spy(monkeypatch):
    spy = CacheSpy()
    monkeypatch.setattr(live, "cache", spy)
    return spy


def poll(client, story):
    url = reverse("coverage:poll", kwargs={"slug": story.slug})
    return client.get(url, {"since": Story.objects.get(pk=story.pk).revision})


def readers_shown(story) -> str:
    editor = CommittingClient()
    editor.force_login(make_editor(f"editor-{story.pk}"))
    page = editor.get(reverse("admin:coverage_story_desk", args=[story.pk]))
    return panel_text(page)


def simulate_readers(client, story, clock, readers, start, interval=10):
    """``readers`` open pages polling every ``interval`` seconds through one
    window from ``start``, each at its own moment within the interval."""
    polls = []
    for reader in range(readers):
        offset = interval * reader / readers
        polls += [start + offset + k * interval for k in range(WINDOW // interval)]
    for moment in sorted(polls):
        clock[0] = moment
        assert poll(client, story).status_code == 204


def test_readers_are_estimated_from_the_last_whole_windows_polls(client, clock):
    story = make_story()
    simulate_readers(client, story, clock, readers=40, start=START)
    clock[0] = START + WINDOW + 1  # the next window: the last one is whole
    assert "Readers now: about 40" in readers_shown(story)


def test_counts_from_several_processes_add_up_in_the_cache(client, clock):
    story = make_story()
    simulate_readers(client, story, clock, readers=12, start=START)
    clock[0] = START + WINDOW - 0.5
    audience.flush()
    audience.forget_in_process()  # another process, behind the same load balancer
    simulate_readers(client, story, clock, readers=9, start=START)
    audience.flush()
    assert caches["default"].get(audience.window_key(story.pk, START // WINDOW)) == 21 * 3 * 10
    clock[0] = START + WINDOW + 1
    audience.forget_in_process()  # and the desk, in a third
    assert "Readers now: about 21" in readers_shown(story)


def test_a_readers_poll_adds_no_query_and_no_cache_call_until_a_flush_is_due(
    client, clock, spy, django_assert_num_queries
):
    story = make_story()
    poll(client, story)  # the state is in this process's memory, the first flush done
    since = Story.objects.get(pk=story.pk).revision
    url = reverse("coverage:poll", kwargs={"slug": story.slug})
    spy.calls.clear()
    for step in range(4):
        clock[0] = START + step  # within AUDIENCE_FLUSH_SECONDS of the first flush
        with django_assert_num_queries(0):
            assert client.get(url, {"since": since}).status_code == 204
    assert spy.calls == []
    # Each poll stands for its interval's 10 s of reading.
    assert audience._pending == {(story.pk, START // WINDOW): 4 * 10}
    clock[0] = START + 5
    with django_assert_num_queries(0):
        assert client.get(url, {"since": since}).status_code == 204
    # One call per story and window: the window's key exists, so it is incremented.
    assert spy.calls == ["add", "incr"]
    assert caches["default"].get(audience.window_key(story.pk, START // WINDOW)) == 6 * 10
    assert audience._pending == {}


def test_a_poll_carries_no_cookie_and_a_page_load_is_not_counted(client, clock):
    story = make_story()
    page = client.get(story.get_absolute_url())
    assert page.status_code == 200
    assert audience._pending == {}  # a page load is not a poll
    answer = poll(client, story)
    assert not answer.cookies
    assert "Cookie" not in answer.get("Vary", "")
    assert (
        audience._pending == {}
        and caches["default"].get(audience.window_key(story.pk, START // WINDOW)) == 10
    )  # this first poll flushed


def test_no_readers_counted_and_drafts_never_shown(client, clock):
    story = make_story()
    clock[0] = START + WINDOW + 1
    assert "Readers now: none counted" in readers_shown(story)
    draft = make_story(status=Story.Status.DRAFT)
    assert "Readers now" not in readers_shown(draft)


def test_an_ended_storys_readers_are_estimated_at_its_slower_pace(client, clock, settings):
    settings.LIVE_ENDED_POLL_SECONDS = 300
    story = make_story()
    from coverage import publishing

    with committed():
        publishing.end_coverage(story.pk)
    # 50 pages polling every 300 s: about 5 of their polls fall in a 30 s window.
    for moment in range(5):
        clock[0] = START + moment * 6
        poll(client, story)
    clock[0] = START + WINDOW + 1
    assert "Readers now: about 50" in readers_shown(story)


def test_a_cache_that_fails_on_a_flush_costs_the_reader_nothing(client, clock, monkeypatch):
    story = make_story()
    poll(client, story)

    class Down:
        def __getattr__(self, name):
            raise ConnectionError("Redis down")

    monkeypatch.setattr(live, "cache", Down())
    clock[0] = START + 6  # a flush falls due
    assert poll(client, story).status_code == 204
    assert audience._pending == {}  # dropped: a count is not worth a retry


def test_ending_coverage_does_not_weigh_polls_made_at_the_live_pace_as_slow_ones(client, clock):
    # Two readers polled every 10 s through the last whole window; then the
    # story ends. Those polls were made at the live pace: each stands for 10 s
    # of reading, not for the 300 s an ended story's page waits between polls.
    from coverage import publishing

    story = make_story()
    simulate_readers(client, story, clock, readers=2, start=START)
    clock[0] = START + WINDOW + 1
    with committed():
        publishing.end_coverage(story.pk)
    assert "Readers now: about 2" in readers_shown(story)


def test_the_desk_says_what_ending_does_to_readers_polls_as_the_code_does(client, settings):
    # Ended pages poll slowly (views.poll_interval), they do not stop: the desk
    # must not promise that no update reaches them.
    settings.LIVE_ENDED_POLL_SECONDS = 300
    story = make_story()
    editor = CommittingClient()
    editor.force_login(make_editor())
    desk_url = reverse("admin:coverage_story_desk", args=[story.pk])
    lifecycle = reverse("admin:coverage_story_desk_lifecycle", args=[story.pk, "end"])
    for page in (editor.get(desk_url), editor.post(lifecycle)):
        text = page.content.decode()
        assert "no new updates reach them" not in text
        assert "every 300 seconds" in text
    ended = editor.post(lifecycle, {"confirm": "yes"}, follow=True).content.decode()
    assert "stop polling" not in ended and "every 300 seconds" in ended
