"""Embed cards in a real browser (Debian's Chromium through Playwright).

Every request the reader's page makes is recorded, and any to a host other than
127.0.0.1 is stopped there: the tests never reach a third party, and prove that
the page asks for none until the reader presses Play.
"""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from coverage.models import Embed, Update
from tests.browser.support import (
    CSP_WATCH,
    Polls,
    assert_no_csp_violations,
    open_story,
    wait_for_a_poll,
)
from tests.factories import make_editor, make_embed, make_story, make_update
from tests.test_xss import PAYLOADS, fit, make_hostile_story

pytestmark = pytest.mark.browser

YT = "dQw4w9WgXcQ"
TWEET_ID = "463440424141459456"


class Requests:
    """Every URL a browser context asked for; anything not for 127.0.0.1 is stopped."""

    def __init__(self, context):
        self.urls: list[str] = []
        context.route(re.compile(r".*"), self.handle)

    def handle(self, route):
        url = route.request.url
        self.urls.append(url)
        if urlsplit(url).hostname == "127.0.0.1" or url.startswith("data:"):
            route.continue_()
        else:
            route.abort()

    def hosts(self) -> set[str]:
        return {urlsplit(url).hostname for url in self.urls if not url.startswith("data:")}


@pytest.fixture
def reader(new_context) -> tuple[Page, Requests]:
    context = new_context()
    requests = Requests(context)
    page = context.new_page()
    page.add_init_script(CSP_WATCH)
    return page, requests


def to_host(host: str):
    """A predicate for page.expect_request: a request to that host."""
    return lambda request: urlsplit(request.url).hostname == host


# Tests -------------------------------------------------------------------------------------


def test_pasted_youtube_and_x_links_become_cards_that_load_nothing_third_party_until_play(
    server, reader, logged_in
):
    story = make_story(title="Storm day")
    desk = logged_in(make_editor())
    desk.goto(f"{server}/admin/coverage/update/add/?story={story.pk}")
    desk.fill("textarea[name=body]", "Footage from the seafront, and the coastguard's warning.")
    add_embed = desk.get_by_role("button", name="Add another Embed")
    add_embed.click()
    desk.fill("textarea[name='embeds-0-paste']", f"https://youtu.be/{YT}?t=43")
    add_embed.click()
    desk.fill("textarea[name='embeds-1-paste']", f"https://x.com/Interior/status/{TWEET_ID}?s=20")
    desk.click("input[name=_save]")
    expect(desk).not_to_have_url(re.compile(r"/add/"))
    video, post = Embed.objects.order_by("position")
    assert (video.kind, video.provider) == ("video", "YouTube")
    assert (post.kind, post.provider, post.author_handle) == ("social", "X", "@Interior")

    page, requests = reader
    polls = Polls(page)
    page.goto(server + story.get_absolute_url())
    play = page.locator(".embed-video button.video-play")
    expect(play).to_have_text("Play (loads YouTube)")
    expect(page.locator(".embed-social")).to_contain_text("@Interior")
    expect(page.locator(".embed-social .provider-mark")).to_have_text("X")
    expect(page.locator(".embed-social a").first).to_have_attribute(
        "href", f"https://x.com/Interior/status/{TWEET_ID}"
    )
    polls.wait_for_answers(2)  # a couple of polls too
    assert requests.hosts() == {"127.0.0.1"}, requests.urls
    assert page.locator("iframe").count() == 0

    with page.expect_request(to_host("www.youtube-nocookie.com")):
        play.click()
    frame = page.locator("iframe.video-frame")
    expect(frame).to_have_attribute(
        "src", f"https://www.youtube-nocookie.com/embed/{YT}?autoplay=1&start=43"
    )
    expect(frame).to_have_attribute("allow", "autoplay; encrypted-media; picture-in-picture")
    assert requests.hosts() == {"127.0.0.1", "www.youtube-nocookie.com"}, requests.urls
    assert_no_csp_violations(page)


def test_a_video_arriving_by_poll_plays_too(server, reader):
    story = make_story()
    make_update(story)
    page, requests = reader
    open_story(page, server, story)

    update = make_update(story, body="<p>Later footage.</p>")
    make_embed(
        update, kind="video", provider="Vimeo", url="https://vimeo.com/76979871", text="", title=""
    )
    play = page.locator(f"#update-{update.pk} button.video-play")
    expect(play).to_have_text("Play (loads Vimeo)")
    assert requests.hosts() == {"127.0.0.1"}
    with page.expect_request(to_host("player.vimeo.com")):
        play.click()
    expect(page.locator(f"#update-{update.pk} iframe.video-frame")).to_have_attribute(
        "src", "https://player.vimeo.com/video/76979871?dnt=1&autoplay=1"
    )
    assert requests.hosts() == {"127.0.0.1", "player.vimeo.com"}
    assert_no_csp_violations(page)


def test_no_xss_payload_runs_even_with_the_csp_switched_off(server, new_context):
    story = make_hostile_story()
    # The CSP would stop most injected script by itself: switch it off in this
    # browser so that only the escaping is tested.
    context = new_context(bypass_csp=True)
    requests = Requests(context)
    page = context.new_page()
    page_errors = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.goto(server + story.get_absolute_url())  # returns once "load" has fired
    # Give anything that would run after load (a timer, a late image's onerror)
    # its chance: one poll answered is a whole interval later.
    wait_for_a_poll(page)
    assert page.evaluate("window.__xss") is None, "a payload ran on the page"
    expect(page.locator("#updates > article.update")).to_have_count(len(PAYLOADS))

    # More of the same, arriving by poll into the open page.
    update = make_update(story, headline=fit(Update, "headline", PAYLOADS[0]))
    for payload in PAYLOADS:
        make_embed(
            update,
            kind="social",
            author_name=fit(Embed, "author_name", payload),
            text=payload,
            provider=fit(Embed, "provider", payload),
        )
    expect(page.locator(f"#update-{update.pk}")).to_be_visible()

    # Give anything that would run on load, focus or toggle its chance.
    page.keyboard.press("Tab")
    page.mouse.move(300, 300)
    wait_for_a_poll(page)
    assert page.evaluate("window.__xss") is None, "a payload ran after a poll"
    assert page.evaluate("[...document.querySelectorAll('iframe, svg, object, embed')].length") == 0
    protocols = page.evaluate("[...new Set([...document.links].map((a) => a.protocol))]")
    assert set(protocols) <= {"http:", "https:"}
    assert requests.hosts() == {"127.0.0.1"}, sorted(requests.hosts())
    assert page_errors == []


# Cards on the desk look as readers see them (issue 19, item 3) --------------------

CARD_STYLE = """(selector) => {
  const el = document.querySelector(selector);
  const style = getComputedStyle(el);
  return [style.borderTopLeftRadius, style.borderTopStyle, style.paddingLeft, style.marginTop,
          getComputedStyle(el.querySelector(".provider-mark")).backgroundColor];
}"""


def test_the_desks_card_preview_is_styled_like_the_readers_card(server, reader, logged_in):
    from tests.browser.support import open_desk

    reader, _ = reader
    story = make_story()
    update = make_update(story, body="<p>The coastguard has posted this.</p>")
    make_embed(update, provider="X")
    reader.goto(server + story.get_absolute_url())
    desk = logged_in(make_editor())
    open_desk(desk, server, story)
    selector = f"#{{}}update-{update.pk} .social-post"
    on_page = reader.evaluate(CARD_STYLE, selector.format(""))
    on_desk = desk.evaluate(CARD_STYLE, selector.format("desk-"))
    assert on_page[0] == "10px"  # the reader's rounded card, to be sure it is styled at all
    assert on_desk == on_page


@pytest.mark.parametrize("width", [375, 1280])
def test_a_card_placed_in_the_text_shows_between_its_paragraphs_also_by_poll(server, reader, width):
    story = make_story()
    make_update(story)
    page, _ = reader
    page.set_viewport_size({"width": width, "height": 900})
    open_story(page, server, story)
    update = make_update(story, body="<p>Above the post.</p><p>Below the post.</p>")
    make_embed(update, author_name="Flood Alerts", text="Act now.", after_block=1)
    card = page.locator(f"#update-{update.pk} .embed-social")
    expect(card).to_contain_text("Flood Alerts")
    above = page.get_by_text("Above the post.").bounding_box()
    below = page.get_by_text("Below the post.").bounding_box()
    box = card.bounding_box()
    assert above["y"] + above["height"] <= box["y"]
    assert box["y"] + box["height"] <= below["y"]
    assert page.evaluate("window.__marker") == 1  # arrived by poll, no reload
    assert_no_csp_violations(page)
