"""Reads to the read replica (DATABASE_REPLICA_URL), except those the poll trusts.

A replica lags the primary. That is harmless for a story page or a feed: each
shows a consistent, slightly older state, and its poller's cursor is the
revision it read, so the next poll brings the rest. It is not harmless where a
revision number is trusted as "everything up to here has committed": the live
state (`live.load`), and the poll's changes between two revisions, whose answer
is cached for everyone at that state. Those run inside `primary()`, and so does
everything in a write transaction (a write's own reads must see the primary),
and every request to the admin and the desk (PrimaryForEditorsMiddleware): an
editor must see their own post at once, a desk poll's changes are trusted like
a reader's, and an edit form must load the version the lock compares with.
"""

import contextlib
import contextvars

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, connections
from django.urls import reverse

PRIMARY = DEFAULT_DB_ALIAS
REPLICA = "replica"

_force_primary = contextvars.ContextVar("force_primary", default=False)


@contextlib.contextmanager
def primary():
    """Every read inside this block goes to the primary."""
    token = _force_primary.set(True)
    try:
        yield
    finally:
        _force_primary.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if REPLICA not in settings.DATABASES:  # no DATABASE_REPLICA_URL
            return None
        if _force_primary.get() or connections[PRIMARY].in_atomic_block:
            return PRIMARY
        # Related objects of a row read from the primary come from there too
        # (a prefetch of a poll's embeds must not miss ones the replica lacks).
        instance = hints.get("instance")
        if instance is not None and instance._state.db == PRIMARY:
            return PRIMARY
        return REPLICA

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two doors

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


class PrimaryForEditorsMiddleware:
    """Editors' requests (the admin, the desk inside it) read the primary: they
    are few, and a lagging replica would hide a post from the desk that made it.
    (Before the session middleware: the session and the user come from there too.)
    Without a replica it takes itself out of the chain: a reader's poll pays nothing."""

    def __init__(self, get_response):
        if REPLICA not in settings.DATABASES:
            raise MiddlewareNotUsed
        self.get_response = get_response
        self.admin_prefix = reverse("admin:index")

    def __call__(self, request):
        if request.path_info.startswith(self.admin_prefix):
            with primary():
                return self.get_response(request)
        return self.get_response(request)
