"""Fault tests for issue 19's points 12 and 14, on a Redis, a PostgreSQL
cluster and an app server of their own (fixed ports: this suite's alone):

- after a database restore without a cache flush, every reader ahead of the
  restored revision is told to reload within one poll interval, not one reader
  per process per second;
- a process started while the database is down answers a poll ahead of the
  cached state from the cache ("ask again"), not 503;
- a second restore's void range joins the first's without voiding the
  revisions published between them.

The helpers are tests/faults.py's; the checks, tests/test_faults.py's.
"""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests import faults, test_faults
from tests.test_faults import CONVERGE_SECONDS, availability, converge, running_stack

pytestmark = pytest.mark.faults

REDIS_PORT = 16390
POSTGRES_PORT = 5442
APP_PORT = 8191
READERS = 100


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    availability()
    redis = faults.Redis()
    redis.port, redis.url = REDIS_PORT, f"redis://127.0.0.1:{REDIS_PORT}/0"
    pg = faults.Postgres()
    pg.port, pg.url = POSTGRES_PORT, f"postgres://postgres@127.0.0.1:{POSTGRES_PORT}/{pg.database}"
    yield from running_stack(tmp_path_factory.mktemp("faults-floods"), redis, pg, APP_PORT)


# The same fixtures as tests/test_faults.py's, over this module's stack.
editor = test_faults.editor
healthy = test_faults.healthy


def poll_all(base, slug, cursors, workers=16) -> list[faults.Answer]:
    traffic = faults.Traffic(base)
    try:
        with ThreadPoolExecutor(workers) as pool:
            return list(
                pool.map(lambda since: traffic.get(f"/{slug}/updates/?since={since}"), cursors)
            )
    finally:
        traffic.close()


def told_to_reload(answer: faults.Answer) -> bool:
    return answer.status == 409 and answer.headers.get("hx-refresh") == "true"


def test_every_reader_ahead_of_a_restored_database_is_told_within_a_poll_interval(
    healthy, editor, tmp_path
):
    stack = healthy
    dump = tmp_path / "backup.dump"
    stack.pg.dump(dump)
    lost = [editor.post("Lost to the restore"), editor.post("Also lost")]
    assert all(post.saved for post in lost)
    reader = stack.reader()
    converge(stack, [reader], editor)
    ahead = reader.page.revision

    stack.pg.restore(dump)  # Redis still holds the newer state
    editor.posts = [post for post in editor.posts if post not in lost]
    # A hundred open pages at the lost revision, each polling once a second.
    untold = set(range(READERS))
    started = time.monotonic()
    while untold and time.monotonic() - started < 3 * CONVERGE_SECONDS:
        round_started = time.monotonic()
        readers = sorted(untold)
        answers = poll_all(stack.server.base, stack.slug, [ahead] * len(readers))
        assert all(answer.status in (204, 409) for answer in answers), [str(a) for a in answers]
        untold -= {n for n, answer in zip(readers, answers, strict=True) if told_to_reload(answer)}
        time.sleep(max(0.0, 1 - (time.monotonic() - round_started)))
    took = time.monotonic() - started
    assert not untold, f"{len(untold)} of {READERS} readers not told after {took:.0f} s"
    assert took <= CONVERGE_SECONDS, f"every reader told only after {took:.1f} s"


def test_a_fresh_process_with_the_database_down_answers_an_ahead_poll(healthy):
    stack = healthy
    revision = stack.reader().page.revision  # the shared cache holds the state
    stack.server.stop()
    stack.pg.stop()
    stack.server.start()  # a fresh process: nothing in its memory
    try:
        ahead = poll_all(stack.server.base, stack.slug, [revision + 3] * 4)
        idle = poll_all(stack.server.base, stack.slug, [revision] * 4)
    finally:
        stack.pg.heal()
    assert {answer.status for answer in ahead} == {204}, [str(a) for a in ahead]
    assert all(answer.headers["cache-control"] == "no-store" for answer in ahead)
    assert {answer.status for answer in idle} == {204}


def test_revisions_published_between_two_restores_stay_valid(healthy, editor, tmp_path):
    stack = healthy
    first_backup, second_backup = tmp_path / "first.dump", tmp_path / "second.dump"
    stack.pg.dump(first_backup)
    assert all(editor.post(f"Lost to the first restore {n}").saved for n in range(2))
    stack.reader()  # readers saw those revisions: the cache's high-water mark
    lost = [post.token for post in editor.posts[-2:]]
    stack.pg.restore(first_backup)
    editor.posts = [post for post in editor.posts if post.token not in lost]
    kept = [editor.post(f"Between the restores {n}") for n in range(2)]
    assert all(post.saved for post in kept)
    between = stack.reader()  # at a revision the second backup holds
    stack.pg.dump(second_backup)
    assert all(editor.post(f"Lost to the second restore {n}").saved for n in range(2))
    stack.reader()
    lost = [post.token for post in editor.posts[-2:]]
    stack.pg.restore(second_backup)
    editor.posts = [post for post in editor.posts if post.token not in lost]
    after = editor.post("After the second restore")
    assert after.saved

    # The page from between the restores shows what the database holds: it
    # gets the new update, not a reload.
    answer = between.get(f"/{stack.slug}/updates/?since={between.page.revision}")
    assert answer.status == 200, str(answer)
    assert after.marker in answer.text
    converge(stack, [between], editor)
