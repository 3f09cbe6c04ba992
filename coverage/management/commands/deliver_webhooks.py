"""Send every webhook endpoint's due events now, and forget old delivered ones.

    python manage.py deliver_webhooks [--keep-days 30]

The worker sends events as they are written and retries on schedule by itself;
this is the backstop (from cron, every few minutes) for a retry whose task was
lost, and the way retries run where the task backend cannot defer them (the
immediate backend of development). The delivery log keeps delivered events
for --keep-days; failed and abandoned ones stay until they are delivered.
"""

import datetime as dt

from django.core.management.base import BaseCommand

from coverage import webhooks


class Command(BaseCommand):
    help = "Send every webhook endpoint's due events, in order; forget old delivered ones."

    def add_arguments(self, parser):
        parser.add_argument("--keep-days", type=int, default=30)

    def handle(self, *args, keep_days, **options):
        for endpoint_id, outcome in webhooks.deliver_due().items():
            self.stdout.write(f"endpoint {endpoint_id}: {outcome}")
        forgotten = webhooks.forget_delivered(dt.timedelta(days=keep_days))
        if forgotten:
            self.stdout.write(f"forgot {forgotten} delivered event(s) older than {keep_days} days")
