"""Whatever a client sends to the poll URL, the answer is never a server error."""

from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_story, make_update

pytestmark = pytest.mark.django_db

since_values = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["", "0", "00", "1e3", "NaN", "+1", "-0", "9" * 40, "\x00", "١٢٣"]),
)


@pytest.fixture
def story():
    story = make_story(slug="prop")
    make_update(story)
    return story


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(since=since_values)
def test_any_since_gets_a_clear_answer(story, since):
    response = Client().get(f"/prop/updates/?since={quote(since, safe='')}")
    assert response.status_code in {200, 204, 400, 409}
    if response.status_code >= 400:
        assert response["Content-Type"].startswith("text/plain")
        assert response.content.strip()


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(slug=st.text(min_size=1, max_size=40), query=st.text(max_size=40))
def test_any_slug_or_query_string_gets_a_clear_answer(story, slug, query):
    response = Client().get(f"/{quote(slug, safe='')}/updates/?{quote(query, safe='=&')}")
    assert response.status_code < 500
