"""deploy/nginx.conf in front of a real app server (granian, production settings).

The server and nginx run as subprocesses on spare ports with their own files
under tmp_path; the origin's own access log counts what reaches it. Skipped
where nginx is not installed, except in CI, where a skip would hide a
regression: there it fails.
"""

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bench import nginx

ROOT = Path(__file__).resolve().parent.parent
SLUG = "nginx-story"
pytestmark = pytest.mark.nginx

SEED = f"""
from coverage import publishing
from coverage.models import Story
story = publishing.create_story(slug={SLUG!r}, title="Behind nginx", status=Story.Status.LIVE)
for n in range(3):
    publishing.post_update(story, body=f"<p>Update {{n}}</p>")
print(Story.objects.get(pk=story.pk).revision)
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if nginx.nginx_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed, and CI must run this test: apt-get install nginx")
        pytest.skip("nginx is not installed (apt-get install nginx); CI runs this test")
    tmp = tmp_path_factory.mktemp("nginx-stack")
    media = tmp / "media"
    (media / "images").mkdir(parents=True)
    (media / "images" / "lead.txt").write_text("an uploaded file\n")
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "REDIS_URL": "",
        "MEDIA_ROOT": str(media),
        "SECURE_COOKIES": "false",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "ERROR",
    }
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        subprocess.run([*manage, *command, "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    seeded = subprocess.run(
        [*manage, "shell", "-c", SEED], cwd=ROOT, env=env, check=True, capture_output=True
    )
    revision = int(seeded.stdout.split()[-1])

    app_port, proxy_port = nginx.spare_port(), nginx.spare_port()
    origin_log = tmp / "origin.log"
    with open(origin_log, "w") as log:
        app = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "granian"),
                *("--interface", "wsgi", "liveblog.wsgi:application"),
                *("--host", "127.0.0.1", "--port", str(app_port)),
                *("--workers", "1", "--blocking-threads", "2", "--no-ws", "--access-log"),
                # What reached the origin, with the query and the headers nginx adds.
                "--access-log-fmt",
                '"%(method)s %(path)s?%(query_string)s" %(status)d'
                " cookie=%(header{cookie})s real-ip=%(header{x-real-ip})s"
                " for=%(header{x-forwarded-for})s proto=%(header{x-forwarded-proto})s",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(f"http://127.0.0.1:{app_port}/healthz", app)
        # One app server plays both of the upstream's: the config's two-server
        # shape is what is tested, not a second process.
        with (
            nginx.running_nginx(
                tmp / "nginx", proxy_port, (app_port, app_port), ROOT / "staticfiles", media
            ),
            httpx.Client(base_url=f"http://127.0.0.1:{proxy_port}", timeout=10) as client,
        ):
            yield {
                "client": client,
                "port": proxy_port,
                "revision": revision,
                "origin": lambda path: len(origin_lines(origin_log, path)),
                "origin_lines": lambda path: origin_lines(origin_log, path),
                "app": app,
            }
    finally:
        app.terminate()
        app.wait(timeout=15)


def wait_for(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "the app server exited"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(url)


def origin_lines(log: Path, path: str) -> list[str]:
    """The app server's access-log lines for exactly this path (with its query)."""
    time.sleep(0.2)  # granian writes each line as the answer goes out
    pattern = re.compile(rf'^"[A-Z]+ {re.escape(path)}\??" .*$', re.M)
    return pattern.findall(log.read_text())


def test_an_idle_poll_is_answered_once_per_cache_period(stack):
    client, revision = stack["client"], stack["revision"]
    path = f"/{SLUG}/updates/?since={revision}"
    first = client.get(path)
    assert first.status_code == 204
    assert first.headers["X-Cache-Status"] in {"MISS", "EXPIRED"}
    assert "public" in first.headers["Cache-Control"]
    assert "set-cookie" not in first.headers
    again = [client.get(path) for _ in range(5)]
    assert [r.status_code for r in again] == [204] * 5
    assert {r.headers["X-Cache-Status"] for r in again} == {"HIT"}
    assert again[0].headers["ETag"] == first.headers["ETag"]
    assert stack["origin"](path) == 1
    # Readers' other cookies do not split or bypass the cache.
    assert client.get(path, headers={"Cookie": "csrftoken=x; _ga=y"}).headers["X-Cache-Status"] == (
        "HIT"
    )


def test_a_changed_poll_is_shared_by_every_reader_at_that_state(stack):
    client, revision = stack["client"], stack["revision"]
    path = f"/{SLUG}/updates/?since={revision - 1}"
    answers = [client.get(path) for _ in range(4)]
    assert {r.status_code for r in answers} == {200}
    assert f"since={revision}" in answers[0].text  # the new cursor
    assert "Update 2" in answers[0].text
    assert len({r.text for r in answers}) == 1
    assert [r.headers["X-Cache-Status"] for r in answers[1:]] == ["HIT"] * 3
    assert stack["origin"](path) == 1


def test_a_story_page_is_shared_by_readers_but_not_with_a_session(stack):
    client = stack["client"]
    path = f"/{SLUG}/"
    assert client.get(path).status_code == 200
    assert client.get(path).headers["X-Cache-Status"] == "HIT"
    assert stack["origin"](path) == 1
    signed_in = [client.get(path, headers={"Cookie": "sessionid=abc"}) for _ in range(2)]
    assert [r.headers["X-Cache-Status"] for r in signed_in] == ["BYPASS"] * 2
    assert stack["origin"](path) == 3  # each signed-in view reached the app


def test_the_admin_is_never_cached(stack):
    client = stack["client"]
    path = "/admin/login/"
    answers = [client.get(path) for _ in range(3)]
    assert {r.status_code for r in answers} == {200}
    assert all(r.headers.get("X-Cache-Status", "") == "" for r in answers)
    assert stack["origin"](path) == 3
    assert "set-cookie" in answers[0].headers  # the CSRF cookie reaches the browser


def test_static_and_media_are_served_by_nginx(stack):
    client = stack["client"]
    manifest = (ROOT / "staticfiles" / "staticfiles.json").read_text()
    hashed = re.search(r'"css/site\.css": "([^"]+)"', manifest).group(1)
    static = client.get(f"/static/{hashed}")
    assert static.status_code == 200
    assert "max-age=315360000" in static.headers["Cache-Control"]
    media = client.get("/media/images/lead.txt")
    assert media.text == "an uploaded file\n"
    assert media.headers["X-Content-Type-Options"] == "nosniff"
    assert stack["origin"](f"/static/{hashed}") == 0
    assert stack["origin"]("/media/images/lead.txt") == 0


def test_a_body_over_the_limit_is_refused_by_nginx(stack):
    before = stack["origin"]("/admin/login/")
    # Headers only: nginx answers from Content-Length, before any body is sent.
    with socket.create_connection(("127.0.0.1", stack["port"]), timeout=5) as sock:
        sock.sendall(
            b"POST /admin/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n"
            b"Content-Length: 21000000\r\n\r\n"
        )
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
    assert stack["origin"]("/admin/login/") == before


def test_the_app_learns_the_client_address_and_scheme(stack):
    path = f"/{SLUG}/feed/rss/"
    assert stack["client"].get(path, headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 200
    [line] = stack["origin_lines"](path)
    assert "real-ip=127.0.0.1" in line
    assert "for=203.0.113.9, 127.0.0.1" in line
    assert "proto=http" in line
    assert "cookie=-" in line


def test_a_burst_of_login_posts_is_refused_at_nginx_while_readers_poll(stack):
    client, revision = stack["client"], stack["revision"]
    before = stack["origin"]("/admin/login/")
    attempts = [
        client.post("/admin/login/", data={"username": "ed", "password": "guess"})
        for _ in range(12)
    ]
    refused = [r for r in attempts if r.status_code == 429]
    # The burst (5) and the first reach the app; the rest are refused at nginx.
    assert len(refused) >= 5
    assert "Wait a minute" in refused[0].text
    assert refused[0].headers["Retry-After"] == "60"
    assert stack["origin"]("/admin/login/") - before == len(attempts) - len(refused)
    # The login form and readers' polls are not limited.
    assert client.get("/admin/login/").status_code == 200
    polls = [client.get(f"/{SLUG}/updates/?since={revision}&burst=1") for _ in range(20)]
    assert {r.status_code for r in polls} == {204}


def test_zz_with_the_origin_down_readers_get_the_last_answer(stack):
    """Last in the module: it stops the app server."""
    client, revision = stack["client"], stack["revision"]
    path = f"/{SLUG}/updates/?since={revision}&down=1"
    assert client.get(path).status_code == 204
    stack["app"].terminate()
    stack["app"].wait(timeout=15)
    # Past the poll's max-age (2 s) by nginx's whole-second clock: expired.
    time.sleep(4.1)
    stale = client.get(path)
    assert stale.status_code == 204
    assert stale.headers["X-Cache-Status"] == "STALE"
    # Nothing cached to fall back on: nginx says so, it does not hang.
    assert client.get(f"/{SLUG}/updates/?since=1&down=1").status_code == 502
