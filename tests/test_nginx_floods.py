"""deploy/nginx.conf's cache key (issue 19, point 13): junk query parameters on
polls, pages and feeds share the entry of the address without them, instead of
reaching the app once each; a known parameter given twice is refused by the app
(nginx keys on the first value, Django would read the last). The stack (a real
app server behind this very nginx.conf) is tests/test_nginx.py's."""

import pytest

from tests.test_nginx import SLUG, stack  # noqa: F401 (the fixture)

pytestmark = pytest.mark.nginx


def new_key_count(answers) -> int:
    """How many answers nginx had to fetch under a key it had never seen."""
    return sum(answer.headers.get("X-Cache-Status") == "MISS" for answer in answers)


@pytest.mark.parametrize(
    "path",
    [
        f"/{SLUG}/updates/?since={{revision}}",  # an idle poll
        f"/{SLUG}/updates/?since=0",  # far behind
        f"/{SLUG}/",
        f"/{SLUG}/feed/rss/",
        "/feeds/live/",
        "/",
    ],
)
def test_junk_parameters_share_the_cache_entry_of_the_address_without_them(stack, path):  # noqa: F811
    client = stack["client"]
    path = path.format(revision=stack["revision"])
    joiner = "&" if "?" in path else "?"
    first = client.get(path)
    assert first.status_code in (200, 204)
    junk = [client.get(f"{path}{joiner}x{n}={n}&utm_source=n{n}") for n in range(20)]
    assert {answer.status_code for answer in junk} == {first.status_code}
    # Each served under the first's key: HIT, or a refresh of it (EXPIRED,
    # UPDATING) on a slow machine, never a key of its own.
    assert new_key_count(junk) == 0
    assert {answer.headers["X-Cache-Status"] for answer in junk} <= {"HIT", "EXPIRED", "UPDATING"}


def test_a_known_parameter_given_twice_is_refused(stack):  # noqa: F811
    client, revision = stack["client"], stack["revision"]
    # Cursors no other test asked for: nginx must pass them on (a MISS).
    for query in (f"since=1&since={revision}", f"SINCE=2&since={revision}"):
        answer = client.get(f"/{SLUG}/updates/?{query}")
        assert answer.status_code == 400
        assert "more than once" in answer.text
    assert client.get(f"/{SLUG}/?before=1-1&Before=2-2").status_code == 400
