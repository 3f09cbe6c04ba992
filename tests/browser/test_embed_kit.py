"""The embed kit in a real browser: a newsroom's page on a second origin (a tiny
static server on another 127.0.0.1 port) pastes the snippet and gets the live
coverage in a frame as tall as its content, whatever happens in it; no cookie,
and no request anywhere but the two origins."""

import datetime as dt
import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Frame, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from coverage.models import Embed
from coverage.views import PAGE_SIZE
from tests.browser.axe import describe, failing, run_axe
from tests.browser.showcase import card, picture
from tests.browser.support import CSP_WATCH, FEW_POLLS_MS, assert_no_csp_violations, open_desk
from tests.factories import make_editor, make_story, make_update

pytestmark = pytest.mark.browser

FRAME = "iframe.liveblog-embed"


@pytest.fixture
def newsroom():
    """The newsroom's site: another origin, serving the pages a test gives it
    ({path: html}), and nothing else."""
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path.split("?")[0])
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write((body or "Not found").encode())

        def log_message(self, *args):
            pass  # quiet test output

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.pages = pages
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def article(server: str, story, **options) -> str:
    """A newsroom's article page with the snippet in it, and more page below."""
    data = "".join(f' data-{name}="{value}"' for name, value in options.items())
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>The Daily Example</title><link rel="icon" href="data:,"></head><body>
<h1>The Daily Example: floods</h1><p>Our own introduction, above the live coverage.</p>
<script src="{server}/embed.js" data-story="{story.slug}"{data} async></script>
<div style="height: 3000px">The rest of the newsroom's page.</div>
</body></html>"""


def open_embedded(context, newsroom, server, story, **options) -> tuple[Page, Frame]:
    newsroom.pages["/article.html"] = article(server, story, **options)
    page = context.new_page()
    page.goto(newsroom.url + "/article.html")
    frame = page.wait_for_selector(FRAME).content_frame()
    ready = "#teaser[data-hx-get]" if options.get("mode") == "teaser" else "#poller[data-hx-get]"
    frame.wait_for_selector(ready, state="attached")
    return page, frame


CONTENT_HEIGHT = "Math.ceil(document.documentElement.getBoundingClientRect().height)"


def assert_sized(page: Page, frame: Frame) -> int:
    """Wait until the frame is as tall as its document (within a pixel or two),
    and check the document does not overflow it (no inner scrollbar). Returns
    the height."""
    deadline = time.monotonic() + FEW_POLLS_MS / 1000
    while True:
        content = frame.evaluate(CONTENT_HEIGHT)
        try:
            page.wait_for_function(
                "([selector, height]) => Math.abs("
                "document.querySelector(selector).getBoundingClientRect().height - height) <= 2",
                arg=[FRAME, content],
                timeout=max(1, min(1000, (deadline - time.monotonic()) * 1000)),
            )
        except PlaywrightTimeoutError:
            if time.monotonic() >= deadline:
                frame_height = page.eval_on_selector(FRAME, "f => f.getBoundingClientRect().height")
                pytest.fail(f"The frame is {frame_height} px tall, its content {content} px")
            continue
        if frame.evaluate(CONTENT_HEIGHT) == content:
            break
    overflow = frame.evaluate(
        "document.documentElement.scrollHeight - document.documentElement.clientHeight"
    )
    assert overflow <= 1, f"the framed document overflows by {overflow} px"
    return content


def assert_only_the_two_origins(requested: list[str], *origins: str) -> None:
    elsewhere = [
        url
        for url in requested
        if urlsplit(url).scheme != "data"
        and f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" not in origins
    ]
    assert elsewhere == [], elsewhere
    assert any(url.startswith(origins[0]) for url in requested)
    assert any(url.startswith(origins[1]) for url in requested)


def tall_jpeg() -> bytes:
    """An image of another shape than its card says (1200 x 800): the layout
    changes when it arrives, as a late image of unknown size would change it."""
    buffer = io.BytesIO()
    Image.new("RGB", (300, 900), (40, 80, 120)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_a_story_embedded_on_another_origin_follows_its_content(new_context, server, newsroom):
    story = make_story(title="Floods")
    now = timezone.now()
    for n in range(PAGE_SIZE + 2):
        make_update(
            story,
            body=f"<p>Earlier update {n}.</p>",
            published_at=now - dt.timedelta(hours=3, minutes=-n),
        )
    context = new_context()
    context.add_init_script(CSP_WATCH)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    held = []
    context.route("**/media/**", lambda route: held.append(route))

    page, frame = open_embedded(context, newsroom, server, story)
    updates = frame.locator("#updates > article.update")
    expect(updates).to_have_count(PAGE_SIZE)
    assert_sized(page, frame)

    # A new update.
    make_update(story, body="<p>Breaking: the bridge is closed.</p>")
    expect(frame.get_by_text("Breaking: the bridge is closed.")).to_be_visible()
    assert_sized(page, frame)

    # An image arriving late, of another shape than the space kept for it.
    with page.expect_request(lambda request: "/media/" in request.url, timeout=FEW_POLLS_MS):
        with_image = make_update(story, body="<p>The water under the bridge.</p>")
        card(with_image, Embed.Kind.IMAGE, image=picture(1200, 800), alt_text="Flood water")
    image = frame.locator("figure.embed-image img")
    expect(image).to_be_attached()
    before_image = assert_sized(page, frame)
    held[0].fulfill(status=200, content_type="image/jpeg", body=tall_jpeg())
    frame.wait_for_function(
        "() => { const image = document.querySelector('figure.embed-image img');"
        " return image.complete && image.naturalWidth > 0; }"
    )
    assert assert_sized(page, frame) > before_image

    # "Load older updates".
    frame.locator("a.load-older").click()
    expect(updates).to_have_count(PAGE_SIZE + 4)
    assert_sized(page, frame)

    # A phone's width.
    wide = frame.evaluate(CONTENT_HEIGHT)
    page.set_viewport_size({"width": 375, "height": 812})
    assert assert_sized(page, frame) != wide  # the layout changed, and the frame with it

    # Scrolled down the newsroom's page, past the frame's top: the reader is
    # not moved; "1 new update" brings them up to it.
    page.evaluate(
        "selector => window.scrollBy("
        "0, document.querySelector(selector).getBoundingClientRect().top + 2000)",
        FRAME,
    )
    frame.wait_for_function(
        "() => !liveblogEmbed.readerIsAtTop(document.getElementById('updates'))"
    )
    make_update(story, body="<p>While the reader was further down.</p>")
    button = frame.locator("#new-updates")
    expect(button).to_have_text("1 new update")
    expect(frame.get_by_text("While the reader was further down.")).to_be_hidden()
    button.click()
    expect(frame.get_by_text("While the reader was further down.")).to_be_visible()
    list_top = frame.evaluate("document.getElementById('updates').getBoundingClientRect().top")
    page.wait_for_function(
        "([selector, offset]) => Math.abs("
        "document.querySelector(selector).getBoundingClientRect().top + offset) <= 2",
        arg=[FRAME, list_top],
    )
    assert_sized(page, frame)

    assert context.cookies() == []
    assert_only_the_two_origins(requested, server, newsroom.url)
    assert frame.evaluate("window.__cspViolations") == []


def test_permalinks_can_open_the_update_on_the_newsrooms_page(new_context, server, newsroom):
    story = make_story(title="Floods")
    now = timezone.now()
    first = make_update(
        story, body="<p>The first update.</p>", published_at=now - dt.timedelta(hours=2)
    )
    # Enough after it that it is behind "Load older updates".
    for n in range(PAGE_SIZE + 1):
        make_update(
            story, body=f"<p>Update {n}.</p>", published_at=now - dt.timedelta(minutes=100 - n)
        )
    context = new_context()
    page, frame = open_embedded(context, newsroom, server, story, permalink="host")
    newest = story.updates.order_by("-published_at").first()
    share = frame.locator(f"#update-{newest.pk} a.share-link")
    expect(share).to_have_attribute(
        "href", f"{newsroom.url}/article.html#liveblog-update-{newest.pk}"
    )
    expect(share).to_have_attribute("target", "_top")

    # Opened by that address, the newsroom's page scrolls to the update in the
    # frame (fetching the older updates it is among first).
    other = context.new_page()
    other.goto(f"{newsroom.url}/article.html#liveblog-update-{first.pk}")
    frame = other.wait_for_selector(FRAME).content_frame()
    # Bounded, but generous: two page loads and a slice of 50 updates on a busy machine.
    frame.wait_for_selector(f"#update-{first.pk}", timeout=20_000)
    offset = frame.evaluate(
        f"document.getElementById('update-{first.pk}').getBoundingClientRect().top"
    )
    assert offset > 800  # far down: scrolling there is the page's doing
    other.wait_for_function(
        "([selector, offset]) => Math.abs("
        "document.querySelector(selector).getBoundingClientRect().top + offset) <= 2",
        arg=[FRAME, offset],
    )


def test_the_teaser_shows_key_events_live(new_context, server, newsroom):
    story = make_story(title="Floods")
    make_update(story, body="<p>Rain.</p>", key_event=True, headline="Rain all night")
    make_update(story, body="<p>A minor note.</p>")
    context = new_context()
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page, frame = open_embedded(context, newsroom, server, story, mode="teaser")
    items = frame.locator(".teaser-text")
    expect(items).to_have_text(["Rain all night"])
    assert_sized(page, frame)

    make_update(story, body="<p>The dam is breached.</p>", key_event=True, headline="Dam breached")
    expect(items).to_have_text(["Dam breached", "Rain all night"])
    assert_sized(page, frame)
    assert context.cookies() == []
    assert_only_the_two_origins(requested, server, newsroom.url)


def test_the_embedded_page_passes_axe(new_context, server, newsroom):
    story = make_story(title="Floods")
    make_update(story, body="<p>Rain.</p>", key_event=True, headline="Rain all night")
    make_update(story, body="<p>More rain.</p>")
    # Each theme forced against the reader's system (the host's scheme is the frame's).
    for options, scheme in (
        ({}, "light"),
        ({"mode": "teaser"}, "light"),
        ({"theme": "dark"}, "light"),
        ({"theme": "light"}, "dark"),
        ({"mode": "teaser", "theme": "dark"}, "light"),
    ):
        context = new_context(color_scheme=scheme)
        _, frame = open_embedded(context, newsroom, server, story, **options)
        violations = failing(run_axe(frame))
        assert violations == [], f"{options} on {scheme}: {describe(violations)}"


def test_the_desk_copies_the_snippet_and_previews_the_embed(logged_in, server):
    story = make_story(title="Floods")
    make_update(story, body="<p>Rain all night.</p>")
    page = logged_in(make_editor(), permissions=["clipboard-read", "clipboard-write"])
    open_desk(page, server, story)
    page.locator("#desk-embed > summary").click()
    preview = page.frame_locator(".desk-embed-preview")
    expect(preview.get_by_text("Rain all night.")).to_be_visible()
    page.get_by_role("button", name="Copy the snippet").click()
    expect(page.locator(".desk-embed-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == (
        f'<script src="{server}/embed.js" data-story="{story.slug}" async></script>'
    )
    assert_no_csp_violations(page)
