"""Import a story pasted as plain text (the format is described in coverage.textformat).

    python manage.py import_text FILE --slug SLUG --title TITLE --date YYYY-MM-DD [--replace]

FILE may be ``-`` for standard input and must be UTF-8. Every ``UPDATE HHMM
GMT:`` marker is stamped at that time (GMT): the first on ``--date``, and since
the text runs newest first, a later time below an earlier one on the day
before (coverage that crossed midnight). Updates are
created published, in reverse file order, so that updates with the same time
keep the file's order on the page (reader order breaks ties by newest id).

A new story is created with status "live": the import is coverage an editor
is carrying on with, and its page polls for new updates. Editors end it from
the admin when coverage stops. ``--ended`` imports a past day instead: the
story is ended, at its newest update's stamp. ``started_at`` is the earliest
update's stamp.

Lines before the first marker may also give the lead image's ``CAPTION:`` and
``CREDIT:`` (kept for the story's lead image, not taken for the standfirst),
and ``PREVIOUS:`` the previous day's coverage: a story here (its slug, or its
address on this site, ``/slug/``) becomes the story's previous day, linked as
"Monday's coverage: ..."; an address elsewhere stays a plain link, a line of
the standfirst.

``--replace`` replaces the content of an existing story with that slug: its
title, standfirst, original entry and ``started_at`` are overwritten, and its
updates are retracted (not deleted) before the new ones are added. The story
row itself is kept, so its id, status, lead image and the ``previous`` links
of the stories that follow it survive, and readers with the page open are
told by their next poll to drop the old updates (a deleted update would stay
on their screens, and a new story row would restart the revision counter
their pages poll with).

Everything happens in one transaction (coverage.publishing.import_story), as
one story revision. Anything refused (a missing or
non-UTF-8 file, no update marker, a bad time, a bad date, a slug already in
use without ``--replace``) raises CommandError before anything is written.
"""

import datetime as dt
import re
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_slug

from coverage import publishing
from coverage.models import Embed, Story, Update, validate_free_slug
from coverage.sanitize import plain_text
from coverage.textformat import ParsedStory, TextFormatError, parse


def parse_date(value) -> dt.date:
    """``--date`` as a date; a date object passed to call_command is taken as is."""
    if isinstance(value, dt.datetime):
        raise CommandError("--date must be a date (YYYY-MM-DD), not a date and time.")
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise CommandError(f"--date must look like YYYY-MM-DD, not {text!r}.")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--date {text} is not a real date.") from None


def field_limit(model, name: str) -> int:
    return model._meta.get_field(name).max_length


class Command(BaseCommand):
    help = (
        "Import a story from plain text: 'UPDATE HHMM GMT:' lines start updates, "
        "the first stamped on --date (GMT), a later time below an earlier one on the day "
        "before. FILE '-' reads standard input."
    )
    # Tests may hand in a binary stream to read instead of sys.stdin.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="UTF-8 text file, or '-' for stdin.")
        parser.add_argument("--slug", required=True, help="The new story's slug.")
        parser.add_argument("--title", required=True, help="The story's title.")
        parser.add_argument(
            "--date",
            required=True,
            help="YYYY-MM-DD: the GMT date of the first (newest) update in the file.",
        )
        parser.add_argument(
            "--ended",
            action="store_true",
            help="A past day: end the story at its newest update's time (default: live).",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="If a story with this slug exists, replace its content and updates.",
        )

    def handle(self, *args, file, slug, title, date, replace=False, ended=False, **options):
        day = parse_date(date)
        slug, title = self.check_slug_and_title(slug, title)
        name = "standard input" if file == "-" else file
        text = self.read(file, name, options.get("stdin"))
        try:
            parsed = parse(text, day)
        except TextFormatError as error:
            raise CommandError(f"{name}: {error}") from error
        self.check_lengths(parsed, name)
        previous = self.previous_story(parsed, slug, name)

        try:
            story, retracted = publishing.import_story(
                parsed, slug=slug, title=title, replace=replace, ended=ended, previous=previous
            )
        except publishing.SlugTaken:
            raise CommandError(
                f"A story with slug {slug!r} already exists; "
                "pass --replace to replace its updates, or choose another slug."
            ) from None

        count = len(parsed.updates)
        summary = f"Imported {count} update{'' if count == 1 else 's'} into {slug}"
        if retracted:
            summary += f", retracting {retracted} earlier update{'' if retracted == 1 else 's'}"
        self.stdout.write(summary)

    def previous_story(self, parsed: ParsedStory, slug: str, name: str) -> Story | None:
        """The story PREVIOUS names here, or None; an address elsewhere is kept as
        a plain link, the standfirst's last line."""
        given = parsed.previous
        if not given:
            return None
        if re.fullmatch(r"https?://\S+", given):
            parsed.standfirst = "\n".join(
                line for line in (parsed.standfirst, f"Previous day's coverage: {given}") if line
            )
            return None
        previous_slug = given.strip("/")
        previous = Story.objects.filter(slug=previous_slug).first()
        if previous is None or previous_slug == slug:
            raise CommandError(
                f"{name}: PREVIOUS: no other story here has the slug {previous_slug!r}; "
                "give its slug, or a full https:// address for coverage elsewhere."
            )
        return previous

    def check_slug_and_title(self, slug: str, title: str) -> tuple[str, str]:
        slug, title = str(slug).strip(), plain_text(str(title))
        try:
            validate_slug(slug)
        except ValidationError:
            raise CommandError(
                f"--slug {slug!r} is not a slug: use letters, numbers, hyphens or underscores."
            ) from None
        try:
            validate_free_slug(slug)
        except ValidationError as error:
            raise CommandError(f"--slug: {error.messages[0]}") from None
        if len(slug) > field_limit(Story, "slug"):
            raise CommandError(f"--slug is longer than {field_limit(Story, 'slug')} characters.")
        if not title:
            raise CommandError("--title must not be empty.")
        if len(title) > field_limit(Story, "title"):
            raise CommandError(f"--title is longer than {field_limit(Story, 'title')} characters.")
        return slug, title

    def read(self, file: str, name: str, stdin=None) -> str:
        try:
            if file == "-":
                stream = stdin or getattr(sys.stdin, "buffer", sys.stdin)
                data = stream.read()
            else:
                with open(file, "rb") as handle:
                    data = handle.read()
        except FileNotFoundError:
            raise CommandError(f"No such file: {file}") from None
        except OSError as error:
            raise CommandError(f"Cannot read {name}: {error.strerror or error}") from None
        if isinstance(data, str):
            return data
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            raise CommandError(
                f"{name} is not valid UTF-8 (line {line}, byte {error.start}); "
                "save it as UTF-8 and try again."
            ) from None

    def check_lengths(self, parsed: ParsedStory, name: str) -> None:
        """Refuse what the database would truncate or reject, with the line to fix."""
        for field_name, label in (
            ("lead_image_caption", "CAPTION"),
            ("lead_image_credit", "CREDIT"),
        ):
            limit = field_limit(Story, field_name)
            if len(getattr(parsed, field_name)) > limit:
                raise CommandError(f"{name}: the {label} is longer than {limit} characters.")
        limits = [
            (Update, "headline", "headline"),
            (Embed, "author_name", "social post's author name"),
            (Embed, "author_handle", "social post's handle"),
        ]
        for update in parsed.updates:
            for model, field_name, label in limits:
                limit = field_limit(model, field_name)
                things = [update] if model is Update else update.social_posts
                for thing in things:
                    if len(getattr(thing, field_name)) > limit:
                        raise CommandError(
                            f"{name}: line {thing.line}: the {label} is longer than "
                            f"{limit} characters."
                        )
