"""Delete uploaded files nothing refers to any more.

    python manage.py clean_media [--dry-run] [--min-age-minutes 60]

Left behind by a replaced or removed image (its upload and its display copy),
or by a worker killed between writing a file and committing the row that names
it. Files younger than --min-age-minutes are kept: a write in progress has
stored its file but not yet committed the row. Run it from cron (daily).
"""

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from coverage.models import Embed, Story


def referenced_names() -> set[str]:
    names = set()
    for row in Embed.objects.values_list("image", "display_image").iterator():
        names.update(row)
    for row in Story.objects.values_list("lead_image", "lead_image_display").iterator():
        names.update(row)
    return {name for name in names if name}


class Command(BaseCommand):
    help = "Delete files under MEDIA_ROOT that no embed or story refers to."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List them, delete nothing.")
        parser.add_argument("--min-age-minutes", type=float, default=60)

    def handle(self, *args, dry_run, min_age_minutes, **options):
        root = Path(settings.MEDIA_ROOT)
        if not root.is_dir():
            return
        # Listed before the database is read: a file stored after this cannot
        # be taken for an orphan because its row was not there yet.
        cutoff = time.time() - min_age_minutes * 60
        candidates = [
            path
            for path in root.rglob("*")
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff
        ]
        referenced = referenced_names()
        orphans = [
            path for path in candidates if path.relative_to(root).as_posix() not in referenced
        ]
        for path in orphans:
            if not dry_run:
                path.unlink(missing_ok=True)
            self.stdout.write(
                f"{'Would delete' if dry_run else 'Deleted'} {path.relative_to(root)}"
            )
        self.stdout.write(
            f"{len(orphans)} unreferenced file(s) {'found' if dry_run else 'deleted'}, "
            f"{len(candidates) - len(orphans)} kept."
        )
