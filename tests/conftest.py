import pytest
from django.core.cache import caches
from django.test import Client, TestCase

from tests.factories import make_editor, make_story


@pytest.fixture(autouse=True)
def clear_cache():
    """Each test starts with no cached live state."""
    from coverage import live

    for alias in ("default", "revisions"):
        caches[alias].clear()
    live.forget_in_process()
    yield
    for alias in ("default", "revisions"):
        caches[alias].clear()
    live.forget_in_process()


@pytest.fixture(autouse=True)
def test_settings(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Hashing test passwords properly costs seconds for nothing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Never ask real oEmbed providers from tests, whatever the environment says;
    # tests of enrichment turn it on against a fake provider on 127.0.0.1.
    settings.EMBED_ENRICHMENT = False


class CommittingClient(Client):
    """The test client, with each request's on-commit callbacks run as it ends.

    Tests run inside a transaction that never commits, so a write's on-commit
    refresh of the live state would never run; in production it runs when the
    write's transaction commits, within the request. Running it as the request
    ends keeps that order (tests/test_publishing.py checks the refresh waits
    for the commit).
    """

    def request(self, **request):
        with TestCase.captureOnCommitCallbacks(execute=True):
            return super().request(**request)


@pytest.fixture
def client():
    return CommittingClient()


@pytest.fixture
def story():
    """A live story (test modules with their own needs define their own)."""
    return make_story(title="Floods")


@pytest.fixture
def editor(client):
    """An editor, logged in on the test client."""
    user = make_editor()
    client.force_login(user)
    return user
