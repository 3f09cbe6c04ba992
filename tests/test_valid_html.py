"""Every page is valid HTML (issue 19, point 8): the W3C Nu HTML Checker
(vnu.jar, from the npm package vnu-jar in package.json) run with the machine's
Java over the reader's pages, the desk and the admin pages the project adds,
each rendered through the test client in the states that show the most (a lead
image, every kind of card, drafts, a scheduled and a retracted update, a stopped
webhook's notice, a form with errors).

All pages are checked in one run of the checker (a Java start costs seconds).
Without Java or vnu.jar the test is skipped, and fails when CI is "true", like the
accessibility tests (tests/browser/axe.py).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.utils import timezone

from coverage.models import WebhookEndpoint
from tests.browser.showcase import SEARCH_WORD, add_desk_states, make_showcase
from tests.factories import make_editor

NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
INSTALL = (
    "Java (Debian: apt-get install -y default-jre-headless) and vnu.jar "
    "(npm ci --no-audit --no-fund; `make install-test` runs it)"
)
# The checker's whole run, a generous bound on a busy machine.
VNU_TIMEOUT_SECONDS = 180


def checker() -> list[str]:
    """The command that runs vnu.jar; without Java or the jar, a skip (a failure in CI)."""
    java = shutil.which("java")
    if java and VNU_JAR.exists():
        return [java, "-Xss1m", "-jar", str(VNU_JAR)]
    missing = "Java" if not java else f"vnu.jar ({VNU_JAR})"
    message = f"{missing} is missing, so HTML cannot be validated. Install {INSTALL}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def validate(pages: dict[str, bytes], directory: Path) -> list[str]:
    """vnu's errors in the pages (name: HTML), one line each: page, line, message."""
    paths = []
    for name, html in pages.items():
        paths.append(directory / f"{name}.html")
        paths[-1].write_bytes(html)
    result = subprocess.run(
        [*checker(), "--format", "json", "--errors-only", *map(str, paths)],
        capture_output=True,
        timeout=VNU_TIMEOUT_SECONDS,
        check=False,
    )
    # vnu writes its report to stderr, and exits 1 when it found errors.
    errors = []
    for message in json.loads(result.stderr)["messages"]:
        name = message.get("url", "").rsplit("/", 1)[-1].removesuffix(".html")
        extract = message.get("extract", "").strip()
        errors.append(f"{name}:{message.get('lastLine', '?')}: {message['message']} [{extract}]")
    return errors


def page(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content


@pytest.mark.django_db
def test_every_page_is_valid_html(client, tmp_path):
    checker()  # before the pages are made: skipped, or failed in CI, at once
    showcase = make_showcase()
    story = showcase.story
    desk_states = add_desk_states(story)
    WebhookEndpoint.objects.create(
        url="https://hooks.example.net/liveblog",
        secret="whsec_test",
        events=["update.published"],
        active=False,
        disabled_at=timezone.now(),
    )
    update = showcase.updates["link"]
    desk = f"/admin/coverage/story/{story.pk}/desk/"

    pages = {
        "home": page(client, "/"),
        "story": page(client, story.get_absolute_url()),
        "story-older-slice": page(client, showcase.previous.get_absolute_url()),
        "update": page(client, update.get_absolute_url()),
        "search": page(client, f"/search/?q={SEARCH_WORD}"),
        "search-empty": page(client, "/search/"),
        "embed": page(client, f"/embed/{story.slug}/"),
        "embed-teaser": page(client, f"/embed/{story.slug}/?mode=teaser"),
        "api-docs": page(client, "/api/v1/docs"),
    }
    client.force_login(make_editor())
    pages |= {
        "desk": page(client, desk),
        "desk-edit": page(client, f"{desk}updates/{update.pk}/edit/"),
        "desk-versions": page(client, f"{desk}updates/{desk_states['draft'].pk}/versions/"),
        "desk-import": page(client, f"{desk}import/"),
        "stories": page(client, "/admin/coverage/story/"),
    }
    end = client.post(f"{desk}story/end/")
    assert end.status_code == 200
    pages["desk-end-confirm"] = end.content
    refused = client.post(f"{desk}compose/", {"body": "", "time": "25:61", "intent": "publish"})
    pages["desk-compose-errors"] = refused.content

    errors = validate(pages, tmp_path)
    assert not errors, f"{len(errors)} HTML errors:\n" + "\n".join(errors)
