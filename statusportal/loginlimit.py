"""The admin lockout per client address, whatever usernames are tried.

django-axes locks a username+address pair after ``AXES_FAILURE_LIMIT`` failures; that
does not see one password tried across many usernames. This backend, listed before
Django's ``ModelBackend``, refuses every login from an address that failed
``ADMIN_LOGIN_FAILURES_PER_IP`` times within axes' cool-off, counting axes' own records
(so both limits share one store, the database, across every process). The limit is
higher than the per-username one: an office behind one address shares it.
"""

from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone

from statusportal.clientip import lockout_address


def failures_from(address: str) -> int:
    """Failed logins from ``address`` within axes' cool-off, over all usernames."""
    since = timezone.now() - timedelta(hours=settings.AXES_COOLOFF_TIME)
    total = AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=since).aggregate(
        total=Sum("failures_since_start")
    )["total"]
    return total or 0


class AddressLockoutBackend:
    """Authenticates nobody; refuses (stops every backend after it) a locked address.

    Not a ``BaseBackend``: without ``get_user`` it is never the backend a session
    records (``force_login`` and ``login`` pick the first backend that has one)."""

    def authenticate(self, request: HttpRequest | None, **credentials):
        if request is None:
            return None
        if failures_from(lockout_address(request)) >= settings.ADMIN_LOGIN_FAILURES_PER_IP:
            raise PermissionDenied("Too many failed logins from this address.")
        return None
