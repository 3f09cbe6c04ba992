"""A small run of bench/soak.py: simulated readers against a live server converge
on exactly the published state while an editor makes every kind of change."""

import pytest

from bench.soak import run_soak
from tests.factories import make_story, make_update


@pytest.mark.django_db(transaction=True)
def test_every_reader_converges_on_the_server_state(live_server, settings):
    settings.LIVE_STATE_TTL = 300  # one process: writers refresh the cache on commit
    story = make_story(slug="soak-story")
    for n in range(55):  # more than one page: readers load the older slice too
        make_update(story, body=f"<p>Before {n}</p>")
    report = run_soak(live_server.url, story, n_readers=8, n_changes=60, max_seconds=90, pause=0.02)
    assert report["mismatches"] == 0, report["example"]
    assert report["readers"] == 8
    assert report["changes"] >= 60
    assert report["polls"] > report["readers"]
    assert report["reloads"] >= 1  # the reader that started ahead of the story
    assert {"publish", "edit", "retract", "backdate", "schedule"} <= set(report["kinds"])
