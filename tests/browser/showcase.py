"""A story with everything a reader's page can show, for the tests of how it reads
(accessibility, narrow screens, dark mode): every kind of update and card, and
the long words and links that push a narrow layout wider than the screen."""

import datetime as dt
import io
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from coverage.models import Byline, Embed, Story, Update
from tests.factories import (
    edit,
    end_coverage,
    make_embed,
    make_story,
    make_update,
    make_user,
    retract,
)

LONG_HEADLINE = (
    "Emergency services across the Alder valley stand by as the river reaches its highest "
    "level since records began and a second night of evacuations is ordered"
)
LONG_WORD = "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch" * 2
LONG_URL = (
    "https://www.example.org/news/2026/12/01/eastmouth-floods-evacuation-centres-and-"
    "road-closures-the-complete-and-continually-updated-list-for-every-village?utm_source="
    "liveblog&utm_medium=link&utm_campaign=floods-day-two-evening-bulletin"
)
SEARCH_WORD = "flood"

# The reader's pages checked for how they read (axe-core, narrow screens, dark
# mode), by name: each one's path given the showcase, and what shows it is the
# page meant (the updates, the stories, the results). A new page is checked
# everywhere by adding one line here.
READER_PAGES = {
    "home": (lambda showcase: "/", ".story-card .badge:not(.badge-live)"),
    "story": (lambda showcase: showcase.story.get_absolute_url(), ".embed-video"),
    "search": (lambda showcase: f"/search/?q={SEARCH_WORD}", ".snippet mark"),
    # An update's own page (what a shared link opens): the link cards, long URL and all.
    "update": (lambda showcase: showcase.updates["link"].get_absolute_url(), ".link-card"),
}


@dataclass
class Showcase:
    story: Story
    previous: Story
    updates: dict[str, Update]


def picture(width: int, height: int, colour=(90, 70, 50), name="photo.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def card(update: Update, kind: str, **fields) -> Embed:
    """An embed with only the fields given (make_embed's defaults are a social post's)."""
    for name in ("url", "author_name", "author_handle", "text"):
        fields.setdefault(name, "")
    return make_embed(update, kind=kind, **fields)


def make_showcase() -> Showcase:
    """A live story (and the ended day before it) with an update of every kind."""
    now = timezone.now()
    previous = make_story(
        slug="floods-day-one",
        title="Eastmouth floods: River Alder rises as heavy rain continues",
        standfirst="The first day of the flooding.",
        started_at=now - dt.timedelta(days=1, hours=2),
    )
    make_update(previous, body=f"<p>The {SEARCH_WORD} barrier is closed.</p>")
    end_coverage(previous)
    story = make_story(
        slug="floods-day-two",
        title=LONG_HEADLINE,
        standfirst="Severe flood warning for the Quayside.\n\nAll times GMT.",
        previous=previous,
        # Started yesterday: today's updates carry their date beside the stamp.
        started_at=now - dt.timedelta(days=1),
        lead_image=picture(1600, 900, name="lead.jpg"),
        lead_image_caption="The River Alder at Eastmouth Bridge.",
        lead_image_credit="Demo Newsroom",
        lead_image_alt="Brown water under the arches of a stone bridge.",
        original_entry="<p>We are following the floods live. <a href='https://example.org/'>"
        "Background</a>.</p>",
    )
    jane = make_user("jane", is_staff=False)
    Byline.objects.create(user=jane, display_name="Jane Doe")
    at = iter(now - dt.timedelta(minutes=60 - n) for n in range(60))
    updates = {}

    def add(name, **fields):
        fields.setdefault("published_at", next(at))
        updates[name] = make_update(story, **fields)
        return updates[name]

    add("plain", body=f"<p>The river is at 5.9 metres: a record {SEARCH_WORD} level.</p>")
    add(
        "formatted",
        headline="What to take if you leave",
        body="<p>Pack <strong>medication</strong> and <em>chargers</em>.</p>"
        "<ul><li>Documents</li><li>Warm clothes</li></ul>"
        "<blockquote><p>Leave early, not late.</p></blockquote>"
        f"<p>Full list: <a href='{LONG_URL}'>{LONG_URL}</a></p>",
    )
    add("long word", headline=LONG_WORD, body=f"<p>The village of {LONG_WORD} is cut off.</p>")
    add("bylined", body="<p>From the evacuation centre.</p>", actor=jane)
    image = add("image", body=f"<p>The {SEARCH_WORD} water under the bridge.</p>")
    card(
        image,
        Embed.Kind.IMAGE,
        image=picture(1200, 800),
        caption="Flood water under Eastmouth Bridge this morning.",
        credit="Demo Newsroom",
        alt_text="Brown flood water almost at the top of a stone bridge's arches.",
    )
    social = add("social", body="<p>The coastguard's warning.</p>")
    card(
        social,
        Embed.Kind.SOCIAL,
        provider="X",
        url="https://x.com/EastmouthCG/status/1861234567890123456",
        author_name="Eastmouth Coastguard",
        author_handle="@EastmouthCG",
        text="Please stay away from flood water: 15cm of moving water can knock you over.",
        posted_at=now - dt.timedelta(hours=2),
    )
    card(
        social,
        Embed.Kind.SOCIAL,
        provider="Bluesky",
        url="https://bsky.app/profile/floodalerts.example/post/3lbx2k7qz5c2a",
        author_name="Flood Alerts",
        author_handle="@floodalerts-for-the-whole-alder-valley.example",
        text="SEVERE FLOOD WARNING. Danger to life.",
    )
    card(
        social,
        Embed.Kind.SOCIAL,
        provider="Mastodon",
        url="https://mastodon.social/@eastmouthcouncil/113512345678901234",
        author_handle="@eastmouthcouncil@mastodon.social",
    )
    video = add("video", body="<p>Drone footage of the valley.</p>")
    card(
        video,
        Embed.Kind.VIDEO,
        provider="YouTube",
        url="https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        title="Drone footage: the Alder valley under water",
        author_name="Eastmouth Fire Service",
    )
    card(
        video,
        Embed.Kind.VIDEO,
        provider="YouTube",
        url="https://www.youtube.com/shorts/dQw4w9WgXcQ",
        title="A portrait clip",
    )
    card(
        video,
        Embed.Kind.VIDEO,
        provider="",
        url="https://video.example.net/clips/bridge",
        title="",
        caption="A video we cannot play inline.",
    )
    link = add("link", headline="Road closures", body="<p>The council's list.</p>")
    card(
        link,
        Embed.Kind.LINK,
        provider="Eastmouth County Council",
        url=LONG_URL,
        title="",
        text="Updated every 30 minutes.",
    )
    card(
        link,
        Embed.Kind.LINK,
        provider="",
        url="https://example.org/schools",
        title="School closures: the full list",
        author_name="County education office",
    )
    card(
        link,
        Embed.Kind.QUOTE,
        url="https://example.org/mayor",
        author_name="Ruth Okonjo, mayor of Eastmouth",
        text="Nobody should be sleeping in a flooded house tonight.",
    )
    corrected = add("correction", body="<p>The centre has 300 beds.</p>")
    updates["correction"] = edit(
        corrected, correction_note="An earlier version said 200 beds.", body=corrected.body
    )
    add(
        "key event",
        headline="Severe flood warning issued for the Quayside",
        body="<p>Danger to life.</p>",
        key_event=True,
    )
    add(
        "pinned key event",
        headline="Where to get help",
        body="<p>Call 0300 123 4567 at any hour.</p>",
        pinned=True,
        key_event=True,
    )
    return Showcase(story=story, previous=previous, updates=updates)


def add_desk_states(story: Story) -> dict[str, Update]:
    """Updates in the states only the desk shows: a draft, one awaiting approval,
    one scheduled, one retracted (beside the published ones)."""
    now = timezone.now()
    return {
        "draft": make_update(story, body="<p>Draft: the minister's visit.</p>", status="draft"),
        "submitted": make_update(
            story, body="<p>From a contributor: the bridge.</p>", status="submitted"
        ),
        "scheduled": make_update(
            story,
            headline="Embargoed: the inquiry",
            body="<p>Out at noon.</p>",
            published_at=now + dt.timedelta(hours=3),
        ),
        "retracted": retract(make_update(story, body="<p>A wrong report.</p>", key_event=True)),
    }
