"""Create a demo story (and the day before it) plus an editor account; safe to run again."""

import datetime as dt
import io
import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from PIL import Image, ImageDraw

from coverage import publishing
from coverage.models import Embed, Story
from coverage.roles import EDITOR, install_roles

EDITOR_USERNAME = "editor"

PREVIOUS_SLUG = "eastmouth-floods-day-one"
STORY_SLUG = "eastmouth-floods-day-two"

# (HHMM, headline, body HTML, flags, embeds). Invented coverage of an invented town.
UPDATES = [
    (
        "0612",
        "",
        "<p>Good morning. The River Alder peaked at 5.9 metres at Eastmouth Bridge overnight, "
        "the highest reading since gauges were installed in 1961. We will bring you every "
        "development through the day.</p>",
        {},
        [],
    ),
    (
        "0655",
        "Schools closed across the district",
        "<p>The county council says 41 schools will stay closed today. Parents are asked to "
        "check the council website before setting out.</p>",
        {},
        [
            {
                "kind": Embed.Kind.LINK,
                "url": "https://example.org/eastmouth/school-closures",
                "title": "School closures: the full list",
                "provider": "Eastmouth County Council",
                "text": "Updated every 30 minutes.",
            }
        ],
    ),
    (
        "0730",
        "",
        "<p>The coastguard helicopter has lifted two people from the roof of a farmhouse near "
        "Lower Marsh. Both are said to be cold but unhurt.</p>",
        {},
        [
            {
                "kind": Embed.Kind.SOCIAL,
                "provider": "X",
                "url": "https://x.com/EastmouthCG/status/1861234567890123456",
                "author_name": "Eastmouth Coastguard",
                "author_handle": "@EastmouthCG",
                "text": "Rescue 924 has recovered two adults from a property at Lower Marsh. "
                "Please stay away from flood water: 15cm of moving water can knock you over.",
            }
        ],
    ),
    (
        "0815",
        "Evacuation centre opens at the leisure centre",
        "<p>Residents of the Quayside and Mill Lane areas are being told to leave their homes. "
        "An evacuation centre is open at Alder Park Leisure Centre with hot food and "
        "beds.</p><ul><li>Bring medication and phone chargers</li><li>Pets are "
        "welcome</li><li>Free buses leave the Market Square every 20 minutes</li></ul>",
        {"key_event": True},
        [],
    ),
    (
        "0902",
        "",
        "<p>Here is the view from Eastmouth Bridge this morning, where the water has reached "
        "the underside of the arches.</p>",
        {},
        [
            {
                "kind": Embed.Kind.IMAGE,
                "caption": "Flood water under Eastmouth Bridge this morning.",
                "credit": "Demo Newsroom",
                "alt_text": "Brown flood water almost at the top of a stone bridge's arches.",
            }
        ],
    ),
    (
        "0948",
        "",
        "<p>The mayor, Ruth Okonjo, has spoken to reporters at the evacuation centre.</p>",
        {},
        [
            {
                "kind": Embed.Kind.QUOTE,
                "author_name": "Ruth Okonjo, mayor of Eastmouth",
                "text": "Nobody should be sleeping in a flooded house tonight. If you need "
                "help leaving, call us and we will come to you.",
            }
        ],
    ),
    (
        "1040",
        "Rail line closed between Eastmouth and Harlby",
        "<p>Northline Rail says the line will stay closed until at least Thursday after a "
        "section of embankment near Harlby was washed away. Replacement buses are running "
        "but journeys will take an hour longer.</p>",
        {},
        [],
    ),
    (
        "1125",
        "",
        "<p>Drone footage released by the fire service shows the scale of the flooding across "
        "the Alder valley.</p>",
        {},
        [
            {
                "kind": Embed.Kind.VIDEO,
                "provider": "YouTube",
                "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                "title": "Drone footage: the Alder valley under water",
            }
        ],
    ),
    (
        "1310",
        "",
        "<p>The Environment Agency has issued a <strong>severe flood warning</strong> (danger "
        "to life) for the Quayside.</p><p>It is the first severe warning in the county since "
        "2007. Anyone still in the area is asked to move to an upper floor.</p>",
        {"key_event": True},
        [
            {
                # Quoted between the two paragraphs, where the reporter put it.
                "after_block": 1,
                "kind": Embed.Kind.SOCIAL,
                "provider": "Bluesky",
                "url": "https://bsky.app/profile/floodalerts.example/post/3lbx2k7qz5c2a",
                "author_name": "Flood Alerts",
                "author_handle": "@floodalerts.example",
                "text": "SEVERE FLOOD WARNING: River Alder at Eastmouth Quayside. "
                "Danger to life. Act now.",
            }
        ],
    ),
    (
        "1445",
        "",
        "<p>Volunteers have filled more than 3,000 sandbags at the council depot since "
        "dawn, the council says. It has asked for more helpers for the evening shift.</p>",
        {},
        [],
    ),
    (
        "1620",
        "",
        "<p>The Met Office says another 30mm of rain could fall on the hills above the Alder "
        "overnight, but expects the river to fall slowly from tomorrow afternoon.</p>",
        {},
        [],
    ),
    (
        "1741",
        "What we know so far",
        "<p>If you are just joining us, here is where things stand:</p><ul><li>The River "
        "Alder peaked at a record 5.9m overnight</li><li>About 600 homes have been "
        "evacuated</li><li>A severe flood warning is in force for the Quayside</li><li>The "
        "rail line to Harlby is closed until Thursday</li></ul>",
        {"pinned": True},
        [],
    ),
]


def demo_image() -> ContentFile:
    """A drawn stand-in for a news photo, so the demo needs no download."""
    image = Image.new("RGB", (1200, 675), (88, 72, 52))
    draw = ImageDraw.Draw(image)
    for y in range(0, 675, 6):
        shade = 70 + y // 10
        draw.line([(0, y), (1200, y)], fill=(shade, shade - 12, shade - 30))
    for x in range(100, 1200, 340):
        draw.arc([x, 180, x + 260, 560], 180, 360, fill=(200, 196, 185), width=28)
    draw.rectangle([0, 150, 1200, 190], fill=(170, 165, 150))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return ContentFile(buffer.getvalue(), name="eastmouth-bridge.jpg")


class Command(BaseCommand):
    help = "Load the demo story and an editor account (resets the editor's password)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--live",
            action="store_true",
            help="Keep the demo day live (make run does, so the desk can post to it); "
            "by default its coverage, all in the past, is ended.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Allow running with DEBUG off (never in production).",
        )

    def handle(self, *args, force=False, live=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo is for development; refusing to run with DEBUG off.")
        with transaction.atomic():
            password = self.make_editor()
            if Story.objects.filter(slug=STORY_SLUG).exists():
                self.stdout.write("Demo story already loaded.")
            else:
                self.make_stories(live)
                self.stdout.write(self.style.SUCCESS("Loaded the demo story."))
        # `make run` serves on PORT (default 8000) and passes it here.
        address = f"http://127.0.0.1:{os.environ.get('PORT') or 8000}"
        self.stdout.write(
            f"\n  Reader page:  {address}/\n"
            f"  Editor desk:  {address}/admin/\n"
            f"  Editor login: {EDITOR_USERNAME} / {password}\n"
        )

    def make_editor(self) -> str:
        User = get_user_model()
        editor, _ = User.objects.get_or_create(username=EDITOR_USERNAME)
        password = get_random_string(16)  # letters and digits: easy to copy
        editor.set_password(password)
        editor.is_staff = True
        editor.save()
        # The Editor role (migration 0003), not loose permissions: the demo
        # editor can do what a newsroom's editors can, and no more.
        install_roles(only_missing=True)
        editor.user_permissions.clear()
        editor.groups.add(Group.objects.get(name=EDITOR))
        return password

    def make_stories(self, live: bool):
        # The coverage ends a few minutes ago, whatever the time of day.
        last = UPDATES[-1][0]
        end = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=5)

        def stamped(hhmm: str) -> dt.datetime:
            return end - (clock(last) - clock(hhmm))

        yesterday = (stamped(UPDATES[0][0]) - dt.timedelta(days=1)).date()
        previous = publishing.create_story(
            slug=PREVIOUS_SLUG,
            title="Eastmouth floods: River Alder rises as heavy rain continues",
            standfirst="Emergency services prepare for flooding after 48 hours of rain.",
            status=Story.Status.ENDED,
            started_at=at(yesterday, "0700"),
            ended_at=at(yesterday, "2300"),
        )
        publishing.post_update(
            previous,
            published_at=at(yesterday, "2250"),
            body="<p>We are pausing our coverage for the night. It continues tomorrow.</p>",
        )
        story = publishing.create_story(
            slug=STORY_SLUG,
            title="Eastmouth floods: hundreds evacuated as River Alder hits record level",
            # No "All times GMT." line: the page's own note says so, and follows
            # the reader's choice of zone.
            standfirst="Severe flood warning for the Quayside as rescuers lift residents from "
            "rooftops.",
            status=Story.Status.LIVE,
            started_at=stamped("0600"),
            previous=previous,
            lead_image=demo_image(),
            lead_image_caption="The River Alder at Eastmouth Bridge.",
            lead_image_credit="Demo Newsroom",
            lead_image_alt="A river in flood beneath a stone bridge.",
            original_entry="<p>Heavy rain has fallen on the Alder valley for a third day. "
            "This page follows the flooding in Eastmouth and the villages around it.</p>",
        )
        for stamp, headline, body, flags, embeds in UPDATES:
            cards = [Embed(**fields) for fields in embeds]
            for card in cards:
                if card.kind == Embed.Kind.IMAGE:
                    card.image = demo_image()
                if card.kind == Embed.Kind.SOCIAL:
                    # Posted minutes before the update quoting it: a post's date
                    # is part of its attribution ("— Name (@handle) date").
                    card.posted_at = stamped(stamp) - dt.timedelta(minutes=3)
            publishing.post_update(
                story,
                published_at=stamped(stamp),
                headline=headline,
                body=body,
                embeds=cards,
                **flags,
            )
        if not live:
            story.status = Story.Status.ENDED
            story.ended_at = end
            publishing.save_story(story)


def clock(hhmm: str) -> dt.timedelta:
    return dt.timedelta(hours=int(hhmm[:2]), minutes=int(hhmm[2:]))


def at(day: dt.date, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) + clock(hhmm)
