"""Send every webhook endpoint's due events now.

    python manage.py deliver_webhooks

The worker sends events as they are written and retries on schedule by itself;
this is the backstop (from cron, every few minutes) for a retry whose task was
lost, and the way retries run where the task backend cannot defer them (the
immediate backend of development).
"""

from django.core.management.base import BaseCommand

from coverage import webhooks


class Command(BaseCommand):
    help = "Send every webhook endpoint's due events, in order."

    def handle(self, *args, **options):
        for endpoint_id, outcome in webhooks.deliver_due().items():
            self.stdout.write(f"endpoint {endpoint_id}: {outcome}")
