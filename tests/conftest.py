import pytest
from django.core.cache import caches


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


@pytest.fixture(autouse=True)
def refresh_live_state_at_once(request, monkeypatch):
    """Tests run inside a transaction that never commits, so on_commit hooks would
    never run; refresh the cached live state right after each write instead.
    Tests with real commits (live server, browser) keep the real hook."""
    if "transactional_db" in request.fixturenames or "live_server" in request.fixturenames:
        return
    from coverage import live

    monkeypatch.setattr(live, "refresh_on_commit", live.refresh)
