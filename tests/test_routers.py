"""The read-replica router: which database alias each read uses.

A second alias, "replica", points at the test database itself (as
DATABASE_REPLICA_URL would point at a replica), so the queries each alias runs
can be captured and told apart.
"""

import warnings

import pytest
from django.core.cache import cache
from django.db import connections, transaction
from django.db.utils import load_backend
from django.test.utils import CaptureQueriesContext

from coverage import live, routers
from coverage.models import Story, Update
from coverage.routers import ReplicaRouter
from tests.factories import make_editor, make_embed, make_story, make_update


@pytest.fixture
def replica(transactional_db, settings):
    """The replica alias, pointing at the test database.

    Transactional: inside the test's own transaction every read would rightly go
    to the primary, and the replica connection could not see uncommitted rows.
    Its connection is made here rather than declared in DATABASES, which the
    test case has already read to guard its databases."""
    config = dict(connections.settings[routers.PRIMARY])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Overriding setting DATABASES can lead to..."
        settings.DATABASES = {**settings.DATABASES, routers.REPLICA: config}
    connections[routers.REPLICA] = load_backend(config["ENGINE"]).DatabaseWrapper(
        config, routers.REPLICA
    )
    yield
    replica = connections[routers.REPLICA]
    replica.close()
    if getattr(replica, "pool", None):
        replica.close_pool()  # or its idle connections block dropping the test database
    del connections[routers.REPLICA]


def captured():
    return (
        CaptureQueriesContext(connections[routers.PRIMARY]),
        CaptureQueriesContext(connections[routers.REPLICA]),
    )


def sql(context) -> str:
    return "\n".join(query["sql"] for query in context.captured_queries)


def test_without_a_replica_the_router_leaves_reads_to_django(db):
    assert ReplicaRouter().db_for_read(Story) is None
    assert ReplicaRouter().db_for_write(Story) == routers.PRIMARY


def test_plain_reads_go_to_the_replica(replica):
    story = make_story()
    primary, secondary = captured()
    with primary, secondary:
        assert Story.objects.get(pk=story.pk).slug == story.slug
    assert len(secondary.captured_queries) == 1
    assert primary.captured_queries == []


def test_the_live_state_is_read_from_the_primary(replica):
    story = make_story()
    primary, secondary = captured()
    with primary, secondary:
        state = live.load(pk=story.pk)
    assert state.revision == Story.objects.get(pk=story.pk).revision
    assert '"revision"' in sql(primary)
    assert secondary.captured_queries == []


def test_reads_inside_a_write_transaction_use_the_primary(replica):
    story = make_story()
    primary, secondary = captured()
    with primary, secondary, transaction.atomic():
        Story.objects.select_for_update().get(pk=story.pk)
        assert Update.objects.filter(story=story).count() == 0
    assert secondary.captured_queries == []
    assert len(primary.captured_queries) >= 2


def test_related_rows_of_a_primary_row_come_from_the_primary(replica):
    update = make_update(make_story())
    make_embed(update)
    with routers.primary():
        update = Update.objects.get(pk=update.pk)
    primary, secondary = captured()
    with primary, secondary:
        assert len(update.embeds.all()) == 1
    assert secondary.captured_queries == []


def test_a_story_page_reads_the_replica_but_its_revision_from_the_primary(replica, client):
    story = make_story(slug="routed")
    make_update(story, body="<p>First</p>")
    cache.clear()  # so the state is read from the database
    live.forget_in_process()
    primary, secondary = captured()
    with primary, secondary:
        response = client.get("/routed/")
    assert response.status_code == 200
    assert "First" in response.text
    # Only the live state (revision, and when the next scheduled update is due).
    assert len(primary.captured_queries) == 1
    assert '"next_due"' in sql(primary)
    assert '"coverage_update"' in sql(secondary)  # the page's updates


def test_a_poll_reads_its_changes_from_the_primary(replica, client):
    story = make_story(slug="polled")
    make_update(story, body="<p>Old</p>")
    make_update(story, body="<p>New</p>")
    revision = Story.objects.get(pk=story.pk).revision
    live.forget_in_process()
    primary, secondary = captured()
    with primary, secondary:
        response = client.get(f"/polled/updates/?since={revision - 1}")
    assert response.status_code == 200
    assert "New" in response.text
    assert '"coverage_update"' in sql(primary)
    assert secondary.captured_queries == []


def test_editors_read_the_primary_on_the_desk_and_in_the_admin(replica, client):
    # A lagging replica would hide the post an editor just made from their desk,
    # lose a desk poll's changes, and give the lock an old version to compare.
    story = make_story(slug="desked")
    update = make_update(story, body="<p>Posted</p>")
    client.force_login(make_editor())
    revision = Story.objects.get(pk=story.pk).revision
    pages = [
        f"/admin/coverage/story/{story.pk}/desk/",
        f"/admin/coverage/story/{story.pk}/desk/poll/?since={revision - 1}",
        f"/admin/coverage/story/{story.pk}/desk/updates/{update.pk}/edit/",
        f"/admin/coverage/update/{update.pk}/change/",
    ]
    for url in pages:
        primary, secondary = captured()
        with primary, secondary:
            response = client.get(url)
        assert response.status_code == 200, url
        assert '"coverage_update"' in sql(primary), url
        assert secondary.captured_queries == [], (url, sql(secondary))
    # Readers still read the replica.
    primary, secondary = captured()
    with primary, secondary:
        assert client.get("/desked/").status_code == 200
    assert '"coverage_update"' in sql(secondary)
