"""A card stays where it stands in its update's text (issue 19, item 2): on the
page, the update's own page, the embed kit, the poll, the feeds, the API and
the desk, after the block ``Embed.after_block`` names; None after the text."""

import json
import uuid
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from coverage import publishing, representation
from coverage.embeds.placement import interleave, top_level_blocks
from coverage.models import Embed, Update
from tests.factories import admin_update_form, make_editor, make_embed, make_story, make_update

X_POST = "https://x.com/EastmouthCG/status/1861234567890123456"
BODY = "<p>First paragraph.</p><ul><li>A list item</li></ul><p>Last paragraph.</p>"


def test_a_body_is_cut_into_its_top_level_blocks_and_joins_back_whole():
    body = (
        "<p>One <strong>bold</strong></p>\n<ul><li><p>Item</p></li></ul>"
        '<blockquote><p>Quoted</p></blockquote>Loose <a href="https://a.example/">text</a>'
        "<br><h2>Head</h2>"
    )
    blocks = top_level_blocks(body)
    assert blocks == [
        "<p>One <strong>bold</strong></p>\n",
        "<ul><li><p>Item</p></li></ul>",
        "<blockquote><p>Quoted</p></blockquote>",
        'Loose <a href="https://a.example/">text</a><br>',
        "<h2>Head</h2>",
    ]
    assert "".join(blocks) == body
    assert top_level_blocks("") == top_level_blocks("  \n") == []


class Card:
    def __init__(self, name, after_block):
        self.name, self.after_block = name, after_block

    def __repr__(self):
        return self.name


def test_cards_are_laid_out_after_their_blocks_and_placeless_ones_after_the_text():
    top, middle, also_middle, end, past = (
        Card("top", 0),
        Card("middle", 1),
        Card("also-middle", 1),
        Card("end", None),
        Card("past", 9),
    )
    layout = interleave(BODY, [end, middle, top, past, also_middle])
    assert layout == [
        top,
        "<p>First paragraph.</p>",
        middle,
        also_middle,
        "<ul><li>A list item</li></ul><p>Last paragraph.</p>",
        end,
        past,
    ]
    # No card inside the text: the text comes back as it is.
    assert interleave(BODY, [end]) == [BODY, end]
    # Empty text: every card after it.
    only = Card("only", 0)
    assert interleave("", [only]) == ["", only]


@pytest.fixture
def placed(db):
    """An update with a card after its first paragraph and an older card (no place)."""
    story = make_story(slug="placed")
    update = make_update(story, body=BODY)
    make_embed(update, author_name="Older Card", text="Shown after the text")
    make_embed(
        update,
        author_name="Eastmouth Coastguard",
        author_handle="@EastmouthCG",
        text="Rescue 924 has recovered two adults.",
        url=X_POST,
        after_block=1,
    )
    return story, update


def assert_in_order(html, *pieces):
    # From the update itself on: a page's head quotes its text too (description, JSON-LD).
    for start in ('<article id="update-', '<article class="liveblog-update'):
        if start in html:
            html = html[html.index(start) :]
            break
    at = [html.index(piece) for piece in pieces]
    assert at == sorted(at), list(zip(pieces, at, strict=True))


def assert_card_in_place(html):
    assert_in_order(
        html,
        "First paragraph.",
        "Eastmouth Coastguard",
        "Rescue 924 has recovered two adults.",
        "A list item",
        "Last paragraph.",
        "Older Card",
    )


def test_the_page_shows_a_card_between_the_paragraphs_it_stands_between(client, placed):
    story, update = placed
    page = client.get(story.get_absolute_url()).content.decode()
    assert_card_in_place(page)
    article = page[page.index(f'id="update-{update.pk}"') :]
    # The text runs either side of the card are the page's text blocks; the
    # card itself is outside them, styled as a card, not as the text's quotation.
    assert (
        '<div class="update-body"><p>First paragraph.</p></div>'
        '<figure class="embed embed-social">' in article.replace("\n", "")
    )
    assert '<div class="update-body"><ul><li>A list item</li></ul>' in article


def test_the_update_page_the_poll_and_the_embed_kit_agree_with_the_page(client, placed):
    story, update = placed
    for response in (
        client.get(update.get_absolute_url()),
        client.get(reverse("coverage:poll", args=[story.slug]), {"since": 0}),
        client.get(reverse("coverage:embed", kwargs={"slug": story.slug})),
        client.get(reverse("coverage:embed-fragment", kwargs={"slug": story.slug})),
    ):
        assert response.status_code == 200
        assert_card_in_place(response.content.decode())
    fragment = client.get(reverse("coverage:embed-fragment", kwargs={"slug": story.slug}))
    assert '<div class="liveblog-body"><p>First paragraph.</p></div>' in fragment.content.decode()


def test_an_update_without_cards_in_its_text_keeps_one_text_block(client, db):
    story = make_story()
    update = make_update(story, body=BODY)
    make_embed(update, author_name="After the text")
    page = client.get(story.get_absolute_url()).content.decode()
    assert f'<div class="update-body">{BODY}</div>' in page
    assert_in_order(page, "Last paragraph.", "After the text")


def test_feeds_show_the_card_where_the_page_does(client, placed):
    story, _ = placed
    rss = ET.fromstring(client.get(reverse("coverage:story-rss", args=[story.slug])).content)
    assert_card_in_place(rss.find("channel/item").findtext("description"))
    atom = ET.fromstring(client.get(reverse("coverage:story-atom", args=[story.slug])).content)
    atom_ns = "{http://www.w3.org/2005/Atom}"
    content = atom.find(f"{atom_ns}entry/{atom_ns}summary")
    assert_card_in_place(content.text)
    feed = json.loads(client.get(reverse("coverage:story-json", args=[story.slug])).content)
    (item,) = feed["items"]
    assert_card_in_place(item["content_html"])
    assert_card_in_place(item["content_text"])
    assert [card["after_block"] for card in item["_liveblog"]["embeds"]] == [None, 1]


def test_the_api_and_webhooks_give_each_card_its_place(client, placed):
    story, update = placed
    data = client.get(f"/api/v1/stories/{story.slug}/updates/{update.pk}").json()
    assert [(card["author_name"], card["after_block"]) for card in data["embeds"]] == [
        ("Older Card", None),
        ("Eastmouth Coastguard", 1),
    ]
    # The place counts content_html's top-level blocks.
    assert top_level_blocks(data["content_html"])[0] == "<p>First paragraph.</p>"
    schema = client.get("/api/v1/openapi.json").json()
    assert "after_block" in schema["components"]["schemas"]["Embed"]["properties"]
    # Webhooks send the same representation.
    fetched = Update.objects.with_cards_and_bylines().select_related("story").get(pk=update.pk)
    assert representation.update_data(fetched, "")["embeds"] == data["embeds"]


def test_a_known_link_alone_in_the_desks_text_becomes_its_card_at_that_place(client, db):
    editor = make_editor()
    client.force_login(editor)
    story = make_story()
    response = client.post(
        reverse("admin:coverage_story_desk_compose", args=[story.pk]),
        {
            "client_token": str(uuid.uuid4()),
            "body": f'<p>The coastguard has posted this:</p><p><a href="{X_POST}">{X_POST}</a></p>'
            "<p>More soon.</p>",
            "intent": "publish",
            "embed-paste": "https://youtu.be/dQw4w9WgXcQ",
        },
    )
    assert response.status_code in (200, 302)
    update = Update.objects.get()
    social, video = update.embeds.order_by("position")
    assert (social.provider, social.after_block) == ("X", 1)
    # The embed field's card stays after the text.
    assert (video.provider, video.after_block) == ("YouTube", None)
    page = client.get(story.get_absolute_url()).content.decode()
    assert_in_order(page, "The coastguard has posted this:", X_POST, "More soon.", "YouTube")


def test_an_edit_that_adds_a_known_link_alone_puts_its_card_there(db):
    story = make_story()
    update = make_update(story, body="<p>Before.</p><p>After.</p>")
    make_embed(update)
    edited = publishing.edit_update(
        update.pk,
        expected_version=update.version,
        body=f"<p>Before.</p><p>{X_POST}</p><p>After.</p>",
    )
    older, added = edited.embeds.order_by("position")
    assert (older.after_block, added.url, added.after_block) == (None, X_POST, 1)
    assert edited.body == "<p>Before.</p><p>After.</p>"


def test_a_link_alone_at_the_end_of_the_text_is_after_the_text(db):
    story = make_story()
    update = make_update(story, body=f"<p>Watch:</p><p>{X_POST}</p>")
    (card,) = update.embeds.all()
    assert card.after_block is None


def test_the_desks_embed_field_and_older_cards_stay_after_the_text(db):
    story = make_story()
    update = make_update(story, body=BODY)
    card = publishing.add_embed(update.pk, Embed(kind="social", text="Field", author_name="A"))
    assert card.after_block is None


def test_a_placed_card_follows_its_paragraph_through_a_text_edit(db):
    story = make_story()
    update = make_update(story, body="<p>A.</p><p>B.</p><p>C.</p>")
    card = make_embed(update, after_block=1)
    # A paragraph written above the card's: the card stays after "A." (now two blocks down).
    update = publishing.edit_update(
        update.pk,
        expected_version=update.version,
        body="<p>New.</p><p>A.</p><p>B.</p><p>C.</p>",
    )
    card.refresh_from_db()
    assert card.after_block == 2
    # Text added after it, and its own paragraph reworded: it stays put.
    update = publishing.edit_update(
        update.pk,
        expected_version=update.version,
        body="<p>New.</p><p>A, reworded.</p><p>B.</p><p>More.</p><p>C.</p>",
    )
    card.refresh_from_db()
    assert card.after_block == 2
    # Everything after it removed: after the text.
    publishing.edit_update(
        update.pk, expected_version=update.version, body="<p>New.</p><p>A, reworded.</p>"
    )
    card.refresh_from_db()
    assert card.after_block is None


def test_the_admin_places_a_card_by_hand(client, db):
    client.force_login(make_editor())
    story = make_story()
    data = admin_update_form(
        story,
        [{"paste": X_POST, "after_block": "1"}, {"paste": "https://youtu.be/dQw4w9WgXcQ"}],
        body="<p>One.</p><p>Two.</p>",
    )
    assert client.post(reverse("admin:coverage_update_add"), data).status_code == 302
    placed, after = Update.objects.get().embeds.order_by("position")
    assert (placed.provider, placed.after_block) == ("X", 1)
    assert (after.provider, after.after_block) == ("YouTube", None)
    page = client.get(story.get_absolute_url()).content.decode()
    assert_in_order(page, "One.", "EastmouthCG", "Two.", "YouTube")
