"""Print a story in the plain-text format import_text reads (see coverage.textformat).

    python manage.py export_text SLUG > story.txt

Only published, non-retracted updates are written (scheduled ones included),
newest first by time. What the text cannot carry (several dates, links,
correction notes, non-social embeds...) is reported as warnings on stderr.
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from coverage.models import Story
from coverage.textformat import serialize


class Command(BaseCommand):
    help = "Print a story's published updates as plain text, in the import_text format."

    def add_arguments(self, parser):
        parser.add_argument("slug", metavar="SLUG")

    def handle(self, *args, slug, **options):
        story = Story.objects.filter(slug=slug).first()
        if story is None:
            raise CommandError(f"No story with slug {slug!r}.")
        warnings: list[str] = []
        text = serialize(story, warnings=warnings)
        for warning in warnings:
            self.stderr.write(f"Warning: {warning}")
        exported = story.updates.published_or_scheduled().newest_first()
        newest = exported.values_list("published_at", flat=True).first()
        if newest is not None:
            # The text carries times only: this date puts them back on their days.
            self.stderr.write(f"Read it back with --date {newest.astimezone(dt.UTC):%Y-%m-%d}")
        self.stdout.write(text, ending="")
