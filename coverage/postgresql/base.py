"""Django's PostgreSQL backend, with the two things a frozen server needs.

``statement_timeout`` is enforced by the server: a server that is frozen
(stopped by a signal, a hung disk, a partitioned network that still ACKs) never
enforces it, and the client waits on its socket for ever. So:

* a **deadline** the client keeps: a query in a web request that has not
  answered after DATABASE_READ_DEADLINE (GET/HEAD) or DATABASE_WRITE_DEADLINE
  seconds has its socket shut down from a timer thread, which ends the wait with
  an OperationalError (a 503 or the stale page, coverage.middleware);
* a **breaker**: after such a failure, or a failed connection, requests in this
  process fail at once for DATABASE_BREAKER_SECONDS instead of each waiting out
  its own timeout (which would take every thread).

Outside web requests (management commands, the task worker) neither applies:
there is no reader waiting, and the server-side timeout still does.
"""

import contextvars
import os
import socket
import threading
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import OperationalError
from django.db.backends.postgresql import base
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

# Seconds a query of the current request may take; None outside requests.
_deadline = contextvars.ContextVar("database_deadline", default=None)
# time.monotonic() until which this process does not try the database.
_open_until = 0.0


@contextmanager
def request_deadline(seconds: float | None):
    token = _deadline.set(seconds or None)
    try:
        yield
    finally:
        _deadline.reset(token)


def trip() -> None:
    global _open_until
    _open_until = time.monotonic() + settings.DATABASE_BREAKER_SECONDS


def reset_breaker() -> None:
    global _open_until
    _open_until = 0.0


def _refuse_while_open() -> None:
    if _deadline.get() is not None and time.monotonic() < _open_until:
        raise OperationalError("database unavailable (failing fast after a recent failure)")


def _shut_down(connection) -> None:
    """End a blocked wait on the connection's socket (the server never answered)."""
    try:
        fd = os.dup(connection.pgconn.socket)
    except Exception:  # noqa: BLE001 - already closed: nothing is waiting
        return
    try:
        socket.socket(fileno=fd).shutdown(socket.SHUT_RDWR)
    except OSError:
        os.close(fd)


class DeadlineMixin:
    def _within_deadline(self, execute, *args):
        seconds = _deadline.get()
        if seconds is None:
            return execute(*args)
        _refuse_while_open()
        timer = threading.Timer(seconds, _shut_down, args=(self.db.connection,))
        timer.daemon = True
        timer.start()
        try:
            return execute(*args)
        except OperationalError:
            trip()
            raise
        finally:
            timer.cancel()

    def _execute(self, *args):
        return self._within_deadline(super()._execute, *args)

    def _executemany(self, *args):
        return self._within_deadline(super()._executemany, *args)


class DeadlineCursorWrapper(DeadlineMixin, CursorWrapper):
    pass


class DeadlineCursorDebugWrapper(DeadlineMixin, CursorDebugWrapper):
    pass


# A health check ("SELECT 1" on a reused connection) answers at once or never.
HEALTH_CHECK_SECONDS = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    def connect(self):
        in_request = _deadline.get() is not None
        if in_request:
            _refuse_while_open()
        try:
            super().connect()
        except Exception:
            if in_request:
                trip()
            raise

    def is_usable(self):
        # Run on a reused connection before its first query in a request
        # (CONN_HEALTH_CHECKS): on a frozen server it would wait for ever.
        if _deadline.get() is None:
            return super().is_usable()
        timer = threading.Timer(HEALTH_CHECK_SECONDS, _shut_down, args=(self.connection,))
        timer.daemon = True
        timer.start()
        try:
            usable = super().is_usable()
        finally:
            timer.cancel()
        if not usable:
            trip()  # and so the reconnection it leads to fails at once
        return usable

    def make_cursor(self, cursor):
        return DeadlineCursorWrapper(cursor, self)

    def make_debug_cursor(self, cursor):
        return DeadlineCursorDebugWrapper(cursor, self)
