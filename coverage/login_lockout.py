"""Admin login lock-out (django-axes) that an attacker cannot turn on the newsroom.

Failures count per username *and* address, so guessing an editor's password
from one address locks that address out of that account only: the editor,
elsewhere, still logs in. An address that tries many usernames is locked for
all of them at a higher limit (AXES_ADDRESS_FAILURE_LIMIT). The address is the
one nginx names (X-Real-IP) when the request comes from a trusted proxy, else
the connection's own: X-Forwarded-For, which a client can pre-fill, is never read.
"""

import ipaddress

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from django.conf import settings
from django.db.models import Sum
from django.shortcuts import render


def client_address(request) -> str:
    """AXES_CLIENT_IP_CALLABLE: the client's address, as the trusted proxy saw it."""
    connection = request.META.get("REMOTE_ADDR", "")
    if connection in settings.TRUSTED_PROXIES:
        named = request.META.get("HTTP_X_REAL_IP", "").strip()
        try:
            return str(ipaddress.ip_address(named))
        except ValueError:
            pass
    return connection


class LoginLockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with a limit of its own for the per-address count.

    AXES_LOCKOUT_PARAMETERS lists [username, address] first and the address
    second; axes compares the largest count with one limit, so the address's
    count is scaled to reach it exactly at AXES_ADDRESS_FAILURE_LIMIT."""

    def get_failures(self, request, credentials=None) -> int:
        per_account, per_address = self.failures_by_lock(request, credentials)
        limit = get_failure_limit(request, credentials)
        return max(per_account, per_address * limit // settings.AXES_ADDRESS_FAILURE_LIMIT)

    def failures_by_lock(self, request, credentials=None) -> tuple[int, int]:
        """Failures for this username from this address, and from this address at all."""
        per_account, per_address = (
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        return per_account, per_address


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the lock-out page (429), in the editor's words."""
    per_account, per_address = LoginLockoutHandler().failures_by_lock(request, credentials)
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    context = {
        "username": get_client_username(request, credentials) or "",
        "whole_address": per_address >= settings.AXES_ADDRESS_FAILURE_LIMIT,
        "minutes": minutes,
        "failures": settings.AXES_ADDRESS_FAILURE_LIMIT
        if per_address >= settings.AXES_ADDRESS_FAILURE_LIMIT
        else settings.AXES_FAILURE_LIMIT,
    }
    return render(request, "admin/locked_out.html", context, status=429)
