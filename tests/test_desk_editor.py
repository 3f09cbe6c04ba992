"""The desk's rich text box, server side: the editor's extensions agree with the
sanitiser, the page loads the editor's files within the CSP, and whatever is
posted as the body (the editor's HTML, hostile HTML, plain text without
JavaScript) is sanitised as strictly as before. The browser's side is
tests/browser/test_desk_editor.py."""

import json
import re
import uuid

import pytest
from django.urls import reverse
from django_prose_editor.config import allowlist_from_extensions, expand_extensions

from coverage.desk.text import same_body
from coverage.models import Update
from coverage.sanitize import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    ALLOWED_URL_SCHEMES,
    EDITOR_EXTENSIONS,
)
from tests.factories import make_update

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
# nh3 sets every link's rel itself (sanitize.py's link_rel).
REL = ' rel="noopener noreferrer nofollow"'
# Tags the sanitiser keeps that the editor reads as others (<b> as <strong>, <i> as <em>).
READ_AS_OTHERS = {"b", "i"}
# Tags the sanitiser keeps for bodies from elsewhere (the classic admin, imports) that
# the desk's editor deliberately does not offer: the page's own h2 and h3 head each
# update, and the rest is not how the newsroom writes. Editing such a body in the
# desk shows it without them before anything is saved.
NOT_IN_THE_EDITOR = {"h2", "h3", "h4", "u", "s", "sub", "sup", "cite", "q"}


def compose(client, story, body, headers=None, **fields):
    data = {"client_token": str(uuid.uuid4()), "body": body, "intent": "publish", **fields}
    url = reverse("admin:coverage_story_desk_compose", args=[story.pk])
    return client.post(url, data, headers=headers or {})


def edit_url(update):
    return reverse("admin:coverage_story_desk_edit", args=[update.story_id, update.pk])


def textarea(html: str) -> str:
    match = re.search(r"<textarea[^>]*name=\"body\"[^>]*>", html)
    assert match, "no body textarea"
    return match.group(0)


def attribute(tag: str, name: str) -> str:
    value = re.search(rf'{name}="([^"]*)"', tag).group(1)
    return (
        value.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )


# One allow-list ------------------------------------------------------------------


def test_the_editor_makes_nothing_the_sanitiser_would_remove():
    made = allowlist_from_extensions(EDITOR_EXTENSIONS)
    assert made["tags"] <= ALLOWED_TAGS
    for tag, attributes in made["attributes"].items():
        # rel is nh3's to set; desk-editor.js's ordered list has no start or type
        # (tests/browser/test_desk_editor.py pastes one to prove it).
        expected_extra = {"a": {"rel"}, "ol": {"start", "type", "data-type"}}.get(tag, set())
        assert attributes - expected_extra <= ALLOWED_ATTRIBUTES.get(tag, set()), tag


def test_every_tag_the_sanitiser_keeps_is_in_the_editor_or_left_out_on_purpose():
    made = allowlist_from_extensions(EDITOR_EXTENSIONS)["tags"]
    assert made | READ_AS_OTHERS | NOT_IN_THE_EDITOR == ALLOWED_TAGS
    assert not made & NOT_IN_THE_EDITOR


# The page ------------------------------------------------------------------------


def test_the_desk_loads_the_editor_configured_from_the_allow_list_within_the_csp(
    client, story, editor
):
    response = client.get(reverse("admin:coverage_story_desk", args=[story.pk]))
    html = response.content.decode()
    policy = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)

    # The library's import map is the one inline script: it carries the nonce.
    importmap = re.search(r"<script type=\"importmap\"([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert f'nonce="{nonce}"' in importmap.group(1)
    imports = json.loads(importmap.group(2))["imports"]
    assert imports["django-prose-editor/editor"].startswith("/static/django_prose_editor/")
    # Our module, from our static files (WhiteNoise), never a CDN.
    assert re.search(rf'<script src="/static/js/desk-editor\.[^"]*js" nonce="{nonce}"', html)
    # Our stylesheet after the library's: it adjusts them.
    assert html.index("/static/django_prose_editor/overrides.") < html.index(
        "/static/css/desk-editor."
    )
    assert "https://" not in "".join(re.findall(r"<(?:script|link)[^>]*>", html))

    tag = textarea(html)
    config = json.loads(attribute(tag, "data-django-prose-editor-desk"))
    assert config["extensions"] == json.loads(json.dumps(expand_extensions(EDITOR_EXTENSIONS)))
    assert config["url_schemes"] == sorted(ALLOWED_URL_SCHEMES)
    assert 'name="body"' in tag and "autofocus" in tag  # the textarea is still the field


def test_the_edit_form_keeps_plain_text_for_no_javascript_and_gives_the_editor_html(
    client, story, editor
):
    update = make_update(story, body="<p>One &amp; <strong>two</strong></p>\n<p>Three<br>four</p>")
    html = client.get(edit_url(update), headers=HTMX).content.decode()
    # The textarea: typed text, for the browser without JavaScript.
    assert ">\nOne &amp; &lt;strong&gt;two&lt;/strong&gt;\n\nThree\nfour</textarea>" in html
    # The editor: that text as it would be saved.
    assert attribute(textarea(html), "data-html") == (
        "<p>One &amp; <strong>two</strong></p><p>Three<br>four</p>"
    )


def test_the_edit_page_of_its_own_loads_the_editor_too(client, story, editor):
    # Opened in a tab of its own (not swapped in by htmx), the form has its own page.
    update = make_update(story)
    response = client.get(edit_url(update))
    html = response.content.decode()
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    assert f'<script type="importmap" nonce="{nonce}">' in html
    assert "/static/js/desk-editor." in html
    assert "data-django-prose-editor-desk" in textarea(html)


def test_what_the_editor_opens_with_is_already_sanitised(client, story, editor):
    # A refused post comes back into the form: the editor loads it without the markup.
    body = '<p onclick="steal()">Kept <img src=x onerror=steal()></p>'
    response = compose(client, story, body, headers=HTMX, time="25:61")
    assert response.status_code == 422
    assert attribute(textarea(response.content.decode()), "data-html") == "<p>Kept </p>"


# Posting -------------------------------------------------------------------------


def test_the_editors_html_is_stored_as_it_is_but_for_list_items_as_paragraphs(
    client, story, editor
):
    html = (
        '<p>The <strong>vote</strong> is <em>in</em>: <a href="https://example.org/r">report</a>'
        "<br>line two</p><ul><li><p>North</p></li><li><p>South</p></li></ul>"
        "<ol><li><p>First</p></li><li><p>Two</p><p>paragraphs</p></li></ol>"
        "<blockquote><p>We are ready.</p></blockquote>"
    )
    compose(client, story, html)
    assert Update.objects.get().body == (
        f'<p>The <strong>vote</strong> is <em>in</em>: <a href="https://example.org/r"{REL}>'
        "report</a><br>line two</p><ul><li>North</li><li>South</li></ul>"
        "<ol><li>First</li><li><p>Two</p><p>paragraphs</p></li></ol>"
        "<blockquote><p>We are ready.</p></blockquote>"
    )


@pytest.mark.parametrize(
    "hostile, gone",
    [
        ('<p>Hi <img src="x" onerror="alert(1)"></p>', ["<img", "onerror"]),
        ("<p>Hi</p><script>alert(1)</script>", ["<script", "alert(1)"]),
        ('<p style="color:red" onclick="alert(1)">Hi</p>', ["style", "onclick"]),
        ('<p><a href="javascript:alert(1)">Hi</a></p>', ["javascript"]),
        ("<p>Hi</p><table><tr><td>cell</td></tr></table><h1>Head</h1>", ["<table", "<td", "<h1"]),
        ('<p>Hi <span style="font-weight:700">there</span></p>', ["<span", "style"]),
    ],
)
def test_hostile_html_posted_as_the_body_is_sanitised(client, story, editor, hostile, gone):
    response = compose(client, story, hostile)
    assert response.status_code == 302
    body = Update.objects.get().body
    assert "Hi" in body
    for fragment in gone:
        assert fragment not in body


@pytest.mark.parametrize("empty", ["", "<p></p>", "<p> &nbsp; </p>", "<p><br></p>"])
def test_an_empty_editor_is_write_the_update_first(client, story, editor, empty):
    response = compose(client, story, empty, headers=HTMX)
    assert response.status_code == 422
    assert "Write the update first." in response.content.decode()
    assert not Update.objects.exists()


def test_markup_with_no_safe_text_left_is_refused(client, story, editor):
    response = compose(client, story, "<script>alert(1)</script>", headers=HTMX)
    assert response.status_code == 422
    assert "Nothing would be left" in response.content.decode()
    assert not Update.objects.exists()


def test_plain_text_without_javascript_still_becomes_paragraphs(client, story, editor):
    compose(client, story, "First line\nsame paragraph\n\nSecond <strong>bold</strong>")
    body = Update.objects.get().body
    assert body == "<p>First line<br>same paragraph</p><p>Second <strong>bold</strong></p>"


# Editing -------------------------------------------------------------------------


def test_the_editor_writing_a_body_back_unchanged_is_not_a_body_edit(client, story, editor):
    stored = (
        "<p>Polls <strong>close</strong> at ten.</p>\n<ul><li>North</li><li>South</li></ul>\n"
        "<blockquote><p>We are ready.</p></blockquote>"
    )
    update = make_update(story, body=stored)
    # As the editor writes it: no newlines between blocks, list items as paragraphs.
    as_the_editor_writes_it = (
        "<p>Polls <strong>close</strong> at ten.</p><ul><li><p>North</p></li>"
        "<li><p>South</p></li></ul><blockquote><p>We are ready.</p></blockquote>"
    )
    assert same_body(as_the_editor_writes_it, stored)
    data = {"version": update.version, "headline": "Polls close", "body": as_the_editor_writes_it}
    data["time"] = ""
    response = client.post(edit_url(update), data)
    assert response.status_code == 302
    update.refresh_from_db()
    assert update.headline == "Polls close"
    assert update.body == stored  # byte for byte

    data = {"version": update.version, "headline": "Polls close", "time": ""}
    data["body"] = as_the_editor_writes_it.replace("ten.", "ten tonight.")
    client.post(edit_url(update), data)
    update.refresh_from_db()
    assert update.body == (
        "<p>Polls <strong>close</strong> at ten tonight.</p><ul><li>North</li><li>South</li></ul>"
        "<blockquote><p>We are ready.</p></blockquote>"
    )


@pytest.mark.parametrize(
    "a, b",
    [
        ("<p>a <strong>b</strong></p>", "<p>a b</p>"),
        ("<p>a b</p>", "<p>ab</p>"),
        ("<ul><li>x</li></ul>", "<ol><li>x</li></ol>"),
        ("<ul><li><p>x</p><p>y</p></li></ul>", "<ul><li>x y</li></ul>"),
    ],
)
def test_bodies_that_read_differently_are_not_the_same(a, b):
    assert not same_body(a, b)
