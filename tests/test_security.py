"""Secure by default: deploy checks, login throttling, body-size limits."""

import os
import secrets
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.urls import reverse

from tests.factories import make_editor

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"


def test_check_deploy_is_silent_with_production_settings():
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "live.example.com",
    }
    # Production's environment: none of these (the browser tests set the last
    # for Playwright's event loop, and a test run shares its environment).
    for name in (
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_PROXY_SSL_HEADER",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    ):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_redirects_to_https_and_sends_hsts(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client.get("/").status_code == 301
    response = client.get("/", HTTP_X_FORWARDED_PROTO="https")
    assert "max-age=31536000" in response["Strict-Transport-Security"]
    # Probes ask over plain HTTP.
    assert client.get("/healthz").status_code == 200


# Login throttling ----------------------------------------------------------


ATTACKER = "203.0.113.7"
NEWSROOM = "192.0.2.99"


def log_in(client, username, password, ip=ATTACKER, **headers):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=ip,
        **headers,
    )


def test_after_repeated_failures_the_right_password_is_refused_without_hashing(client, settings):
    make_editor("ed", PASSWORD)
    assert log_in(client, "ed", "wrong").status_code == 200  # the form again, with its error
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "ed", "wrong")
    with mock.patch.object(MD5PasswordHasher, "verify", autospec=True) as verify:
        response = log_in(client, "ed", PASSWORD)
    assert response.status_code == 429
    assert "Login paused for 15 minutes" in response.text
    assert "_auth_user_id" not in client.session
    # Refused before any password hash was computed: cheap to refuse.
    verify.assert_not_called()


def test_an_attackers_address_is_locked_while_the_editor_still_logs_in(client, settings):
    make_editor("ed", PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "ed", "wrong", ip=ATTACKER)
    locked = log_in(client, "ed", PASSWORD, ip=ATTACKER)
    assert locked.status_code == 429
    assert "Other addresses are not affected" in locked.text
    assert "15 minutes" in locked.text
    response = log_in(client, "ed", PASSWORD, ip=NEWSROOM)
    assert response.status_code == 302
    assert client.session["_auth_user_id"]


def test_an_address_trying_many_usernames_is_locked_at_its_own_higher_limit(client, settings):
    make_editor("ed", PASSWORD)
    assert settings.AXES_ADDRESS_FAILURE_LIMIT > settings.AXES_FAILURE_LIMIT
    for n in range(settings.AXES_ADDRESS_FAILURE_LIMIT - 1):
        assert log_in(client, f"guess{n}", "wrong", ip=ATTACKER).status_code == 200
    log_in(client, "guess-last", "wrong", ip=ATTACKER)
    assert log_in(client, "ed", PASSWORD, ip=ATTACKER).status_code == 429
    assert log_in(client, "ed", PASSWORD, ip=NEWSROOM).status_code == 302


def test_another_user_from_another_address_is_unaffected(client, settings):
    make_editor("ed", PASSWORD)
    make_editor("other", PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "ed", "wrong")
    response = log_in(client, "other", PASSWORD, ip="192.0.2.50")
    assert response.status_code == 302
    assert client.session["_auth_user_id"]


def test_behind_nginx_the_address_it_names_is_the_clients(client, settings):
    """nginx (a trusted proxy) sets X-Real-IP; X-Forwarded-For, which a client can
    pre-fill, is never believed, nor X-Real-IP from anyone else."""
    make_editor("ed", PASSWORD)
    nginx = {"ip": "127.0.0.1"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        # The attacker behind nginx, claiming to be the newsroom in vain.
        log_in(
            client,
            "ed",
            "wrong",
            ip="127.0.0.1",
            HTTP_X_REAL_IP=ATTACKER,
            HTTP_X_FORWARDED_FOR=f"{NEWSROOM}, {ATTACKER}",
        )
    assert log_in(client, "ed", PASSWORD, **nginx, HTTP_X_REAL_IP=ATTACKER).status_code == 429
    # The newsroom, behind the same nginx, is not framed.
    assert log_in(client, "ed", PASSWORD, **nginx, HTTP_X_REAL_IP=NEWSROOM).status_code == 302


def test_a_client_cannot_name_its_own_address(client, settings):
    make_editor("ed", PASSWORD)
    for n in range(settings.AXES_FAILURE_LIMIT):
        # Straight to the app (no proxy): each attempt claims another address.
        log_in(client, "ed", "wrong", ip=ATTACKER, HTTP_X_REAL_IP=f"198.51.100.{n}")
    assert log_in(client, "ed", PASSWORD, ip=ATTACKER).status_code == 429


# Body size -------------------------------------------------------------------


def test_a_body_over_the_cap_is_refused_413_before_it_is_read(client, settings, monkeypatch):
    settings.MAX_REQUEST_BODY = 1000
    # Any file part would be spooled to disk at once.
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    spooled = []
    from django.core.files import uploadhandler

    original = uploadhandler.TemporaryUploadedFile
    monkeypatch.setattr(
        uploadhandler,
        "TemporaryUploadedFile",
        lambda *args, **kwargs: spooled.append(args) or original(*args, **kwargs),
    )
    boundary = "xyz"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n" + "x" * 2000 + f"\r\n--{boundary}--\r\n"
    ).encode()
    response = client.generic(
        "POST",
        reverse("admin:login"),
        body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 413
    assert "limit is" in response.text
    assert spooled == []
    # Under the cap the same request is parsed as usual.
    settings.MAX_REQUEST_BODY = 10_000
    response = client.generic(
        "POST",
        reverse("admin:login"),
        body,
        content_type=f"multipart/form-data; boundary={boundary}",
        REMOTE_ADDR="192.0.2.1",
    )
    assert response.status_code == 200
    assert spooled


def test_a_declared_length_over_the_cap_is_refused_whatever_the_body(client, settings):
    settings.MAX_REQUEST_BODY = 20 * 1024 * 1024
    response = client.generic(
        "POST",
        reverse("admin:login"),
        b"x",
        content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(1024**3),
    )
    assert response.status_code == 413


def test_a_nul_in_the_query_string_is_a_400(client):
    assert client.get("/admin/coverage/update/?story=%00").status_code == 400


def test_answers_name_no_server_software(client):
    # granian sends the application's Server header in place of its own.
    for url in ("/", "/healthz", "/admin/login/"):
        assert client.get(url)["Server"] == ""
