"""`manage.py task_worker`: django-tasks-db's worker (`db_worker`) as this project
runs it (bin/serve, deploy/liveblog-worker.service).

Two differences from the library's command:

- it takes only the queues its own settings can run (coverage.tasks.worker_queues),
  unless --queue-name says otherwise;
- a database that goes away is one line in the log, not a traceback: the
  library's loop re-raises anything but a locked SQLite file, which ended the
  process, and bin/serve restarted it every 5 s, a traceback each time. Here
  the worker waits, trying again after 1, 2, 4… up to 60 s, and says once when
  the database is back.
"""

import logging
import time

from django.db import connections
from django.db.utils import InterfaceError, OperationalError
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from coverage import tasks

logger = logging.getLogger("coverage.task_worker")

FIRST_RETRY_SECONDS = 1.0
LONGEST_RETRY_SECONDS = 60.0
DATABASE_ERRORS = (OperationalError, InterfaceError)


class Worker(db_worker.Worker):
    def run(self) -> None:
        while self.running:
            try:
                return super().run()
            except DATABASE_ERRORS as error:
                self.wait_for_database(error)

    def wait_for_database(self, error: Exception) -> None:
        database = connections[DBTaskResult.objects.db]
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        logger.error(
            "Task worker: the database is unreachable (%s); no tasks run until it is back. "
            "Trying again with back-off, up to every %d s.",
            reason,
            LONGEST_RETRY_SECONDS,
        )
        down_since = time.monotonic()
        delay = FIRST_RETRY_SECONDS
        # A signal now exits at once (Worker.shutdown): no task is running.
        while self.running:
            database.close_if_unusable_or_obsolete()
            time.sleep(delay)
            try:
                database.close()
                database.ensure_connection()
            except DATABASE_ERRORS:
                delay = min(delay * 2, LONGEST_RETRY_SECONDS)
                continue
            logger.warning(
                "Task worker: the database is back after %.0f s; running tasks again.",
                time.monotonic() - down_since,
            )
            # No thundering-herd pause on the way back in: the outage spread them.
            self.startup_delay = False
            return


class Command(db_worker.Command):
    help = (
        "Run the task worker for the queues this process's settings can run "
        "(django-tasks-db's db_worker, calm through database outages)."
    )

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        # No reloader: it forks a child a process manager cannot stop.
        parser.set_defaults(queue_name=None, reload=False)

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str | None,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options,
    ) -> None:
        self.configure_logging(verbosity)
        queue_names = queue_name.split(",") if queue_name else tasks.worker_queues()
        worker = Worker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=exclude_queues.split(",") if exclude_queues else [],
        )
        worker.configure_signals()
        worker.run()
