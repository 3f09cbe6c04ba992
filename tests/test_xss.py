"""A corpus of XSS payloads in every field of every kind of embed (and in legacy update
bodies), checked structurally in the page, the poll fragment and the RSS/Atom feeds.

Every payload sets window.__xss if it ever runs; tests/browser/test_embeds.py loads
the same story in Chromium and reads that flag.
"""

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from coverage.models import Embed, Update
from tests.factories import make_embed, make_story, make_update
from tests.test_embeds import editor_client, post_update  # noqa: F401  (fixture)

PAYLOADS = [
    "<script>window.__xss=1</script>",
    "<SCRIPT SRC=//127.0.0.1:1/xss.js></SCRIPT>",
    '"><script>window.__xss=1</script>',
    "'><script>window.__xss=1</script>",
    "<img src=x onerror=window.__xss=1>",
    "<IMG SRC=x OnErRoR=window.__xss=1>",
    '" onmouseover="window.__xss=1" x="',
    "' autofocus onfocus='window.__xss=1' x='",
    "<body onload=window.__xss=1>",
    "<svg onload=window.__xss=1>",
    "<svg><script>window.__xss=1</script></svg>",
    "<svg><a xlink:href='javascript:window.__xss=1'><text y=20>xss</text></a></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=1>",
    '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
    '<iframe src="javascript:parent.__xss=1"></iframe>',
    '<a href="javascript:window.__xss=1">click</a>',
    '<a href="JaVaScRiPt:window.__xss=1">click</a>',
    '<a href="&#106;avascript:window.__xss=1">click</a>',
    '<a href="java&#x09;script:window.__xss=1">click</a>',
    '<a href=" &#14;javascript:window.__xss=1">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX194c3M9MTwvc2NyaXB0Pg==">click</a>',
    '<div style="width: expression(window.__xss=1)">css</div>',
    "<style>@import '//127.0.0.1:1/x.css'; *{background:url(javascript:window.__xss=1)}</style>",
    "<p style=\"background:url('javascript:window.__xss=1')\">bg</p>",
    "<scr<script>ipt>window.__xss=1</scr</script>ipt>",
    "<img src=x onerror=window.__xss=1//",
    "</textarea></title></noscript></blockquote><img src=x onerror=window.__xss=1>",
    "<!--<img src=--><img src=x onerror=window.__xss=1//>",
    "<object data=javascript:window.__xss=1></object><embed src=javascript:window.__xss=1>",
    "<details open ontoggle=window.__xss=1><summary>x</summary></details>",
    "<input autofocus onfocus=window.__xss=1>",
    "<form><button formaction=javascript:window.__xss=1>go</button></form>",
    "<base href=javascript:/><meta http-equiv=refresh content='0;url=javascript:1'>",
    '<noscript><p title="</noscript><img src=x onerror=window.__xss=1>">',
    r"\u003cscript\u003ewindow.__xss=1\u003c/script\u003e",
    "%3Cscript%3Ewindow.__xss=1%3C/script%3E",
    "&lt;script&gt;window.__xss=1&lt;/script&gt;",
    "{{ request }}{% debug %}",
]

# Links that are http(s) but try to break out of the attribute they land in.
HOSTILE_WEB_URLS = [
    'https://example.com/"onmouseover="window.__xss=1',
    "https://example.com/'><script>window.__xss=1</script>",
    "https://example.com/?q=<svg/onload=window.__xss=1>",
]
# Links that must never become links: only rows saved around validation hold them.
BAD_URLS = [
    "javascript:window.__xss=1",
    "JaVaScRiPt:window.__xss=1",
    " javascript:window.__xss=1",
    "java\tscript:window.__xss=1",
    "&#106;avascript:window.__xss=1",
    "javascript://example.com/%0Awindow.__xss=1",
    "data:text/html,<script>window.__xss=1</script>",
    "vbscript:msgbox(1)",
    "//evil.example/x",
]


def fit(model, field_name, value):
    return value[: model._meta.get_field(field_name).max_length]


TEXT_FIELDS = ["provider", "title", "author_name", "author_handle", "text"]
TEXT_FIELDS += ["caption", "credit", "alt_text"]
PLAYER_ORIGINS = ("https://www.youtube-nocookie.com/", "https://player.vimeo.com/")
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
    b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def make_hostile_story(slug="hostile"):
    """Every payload in every text field of every kind of card, and as a legacy body."""
    story = make_story(slug=slug, title="Hostile input")
    urls = HOSTILE_WEB_URLS + BAD_URLS
    for n, payload in enumerate(PAYLOADS):
        update = make_update(
            story,
            headline=fit(Update, "headline", payload),
            correction_note=fit(Update, "correction_note", payload),
        )
        # A legacy row, saved before the allow-list (or around it): cleaned on output.
        Update.objects.filter(pk=update.pk).update(body=f"<p>Body {n}</p>{payload}")
        for kind in Embed.Kind.values:
            # Cut to each column's length: PostgreSQL refuses longer values.
            fields = {name: fit(Embed, name, payload) for name in TEXT_FIELDS}
            fields["posted_at"] = timezone.now()
            if kind == Embed.Kind.IMAGE:
                fields["image"] = SimpleUploadedFile(f"x{n}.gif", GIF, content_type="image/gif")
            embed = make_embed(update, kind=kind, url="https://example.com/", **fields)
            url = urls[n % len(urls)]
            if kind == Embed.Kind.VIDEO and n % 2:
                url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
            Embed.objects.filter(pk=embed.pk).update(url=url)
    return story


# A structural check of rendered HTML ------------------------------------------------------

ALLOWED_SCHEMES = {"http", "https"}
URL_ATTRIBUTES = {"href", "src", "cite", "action", "formaction", "data", "poster", "background"}
URL_ATTRIBUTES |= {"xlink:href", "srcset", "data-player-url"}
FORBIDDEN_TAGS = {"iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math"}
FORBIDDEN_TAGS |= {"style", "base", "form", "input", "textarea", "select", "details", "noscript"}
FORBIDDEN_ATTRIBUTES = {"style", "srcdoc", "formaction", "xlink:href", "http-equiv"}


def scheme_of(value: str) -> str:
    """The scheme a browser would see: it ignores control characters, spaces and tabs."""
    cleaned = re.sub(r"[\x00-\x20]", "", value).lower()
    match = re.match(r"([a-z][a-z0-9+.-]*):", cleaned)
    return match[1] if match else ""


class InertChecker(HTMLParser):
    """Collects every way the markup could run script or load a third party."""

    def __init__(self, page: bool):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.problems: list[str] = []
        self.in_script = False
        self.in_data_block = False

    def handle_starttag(self, tag, attrs):
        where = f"<{tag} {attrs}>"
        # The template's own key events box is a <details>; one from content
        # (ontoggle runs script) is not, and the sanitiser drops those.
        own_box = tag == "details" and dict(attrs).get("id") == "key-events"
        if tag in FORBIDDEN_TAGS and not own_box:
            self.problems.append(f"forbidden tag {where}")
        if tag == "script":
            self.in_script = True
            src = dict(attrs).get("src") or ""
            # Search engines' JSON-LD: data a browser never runs, allowed on pages.
            self.in_data_block = self.page and dict(attrs).get("type") == "application/ld+json"
            if not (self.page and (src.startswith("/static/") or self.in_data_block)):
                self.problems.append(f"script not from /static/: {where}")
        # Pages use site-relative addresses; feeds the same ones made absolute.
        image_src = (dict(attrs).get("src") or "").removeprefix("http://testserver")
        if tag == "img" and not image_src.startswith("/media/"):
            self.problems.append(f"image not from /media/: {where}")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") or name in FORBIDDEN_ATTRIBUTES:
                self.problems.append(f"attribute {name} in {where}")
            if name in URL_ATTRIBUTES and value:
                scheme = scheme_of(value)
                if scheme and scheme not in ALLOWED_SCHEMES:
                    self.problems.append(f"{scheme}: URL in {where}")
                if value.lstrip().startswith("//"):
                    self.problems.append(f"protocol-relative URL in {where}")
            if name == "data-player-url" and not value.startswith(PLAYER_ORIGINS):
                self.problems.append(f"player from elsewhere: {where}")

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = self.in_data_block = False

    def handle_data(self, data):
        if self.in_data_block:
            # Whole JSON with no "<" in it: hostile text neither ended the block nor opened markup.
            try:
                json.loads(data)
            except ValueError:
                self.problems.append(f"data block is not JSON: {data[:80]!r}")
            if "<" in data:
                self.problems.append(f"markup in a data block: {data[:80]!r}")
        elif self.in_script and data.strip():
            self.problems.append(f"inline script: {data[:80]!r}")


def assert_inert(html: str, page: bool = True) -> None:
    checker = InertChecker(page)
    checker.feed(html)
    checker.close()
    assert checker.problems == [], "\n".join(checker.problems[:20])


def feed_bodies(content: bytes) -> list[str]:
    root = ET.fromstring(content)
    atom = "{http://www.w3.org/2005/Atom}"
    bodies = [item.findtext("description") for item in root.iter("item")]
    bodies += [entry.findtext(f"{atom}summary") for entry in root.iter(f"{atom}entry")]
    return [body for body in bodies if body]


# Tests -------------------------------------------------------------------------------------


@pytest.fixture
def hostile_story(db):
    return make_hostile_story()


def test_the_checker_catches_what_it_should():
    for payload in PAYLOADS[:22] + [f'<a href="{url}">x</a>' for url in BAD_URLS[:8]]:
        if payload[0] in "'\"":  # made to break out of an attribute quoted so
            payload = f"<p title={payload[0]}{payload}{payload[0]}>"
        with pytest.raises(AssertionError):
            assert_inert(payload, page=False)


@pytest.mark.django_db
def test_the_page_is_inert(client, hostile_story):
    response = client.get(hostile_story.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert_inert(html)
    # Each field shows up as text: escaped, not dropped.
    assert html.count("&lt;script&gt;window.__xss=1&lt;/script&gt;") >= 10
    assert "&amp;lt;script&amp;gt;" in html  # pre-escaped text is not un-escaped
    assert "{{ request }}{% debug %}" in html  # text, not template code


@pytest.mark.django_db
def test_the_poll_fragment_is_inert(client, hostile_story):
    response = client.get(reverse("coverage:poll", args=[hostile_story.slug]), {"since": 0})
    assert response.status_code == 200
    html = response.content.decode()
    # One per update, the story's badge and "Last updated" (the key events box is innerHTML).
    assert html.count('data-hx-swap-oob="true"') == len(PAYLOADS) + 2
    assert_inert(html, page=False)


@pytest.mark.django_db
@pytest.mark.parametrize("feed", ["story-rss", "story-atom"])
def test_the_feeds_are_inert(client, hostile_story, feed):
    response = client.get(reverse(f"coverage:{feed}", args=[hostile_story.slug]))
    assert response.status_code == 200
    bodies = feed_bodies(response.content)
    assert len(bodies) == len(PAYLOADS)
    for body in bodies:
        assert_inert(body, page=False)


@pytest.mark.django_db
def test_legacy_bodies_get_the_allow_list_again_on_output(client):
    story = make_story()
    update = make_update(story)
    Update.objects.filter(pk=update.pk).update(
        body='<p onclick="window.__xss=1">Kept <a href="javascript:x()">words</a></p>'
        "<script>window.__xss=1</script><img src=x onerror=window.__xss=1>"
    )
    html = client.get(story.get_absolute_url()).content.decode()
    body = re.search(r'<div class="update-body">(.*?)</div>', html, re.S)[1]
    assert body == '<p>Kept <a rel="noopener noreferrer nofollow">words</a></p>'


@pytest.mark.django_db
# (A protocol-relative "//host/x" typed in the URL field is read as https://host/x.)
@pytest.mark.parametrize("url", [url for url in BAD_URLS if not url.startswith("//")])
def test_bad_urls_are_refused_by_the_form(editor_client, url):  # noqa: F811
    story = make_story()
    for embed in ({"kind": "link", "url": url}, {"paste": url}):
        response = post_update(editor_client, story, [embed])
        assert response.status_code == 200
        html = response.content.decode()
        assert "Enter a valid URL" in html or "Expected a link starting https://" in html
    assert not Embed.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_pasted_as_links_or_embed_codes_are_refused(editor_client, payload):  # noqa: F811
    response = post_update(editor_client, make_story(), [{"paste": payload}])
    assert response.status_code == 200
    assert "Expected a link starting https://" in response.content.decode()
    assert not Embed.objects.exists()
