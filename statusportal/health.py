"""Liveness and readiness probes for load balancers and orchestrators.

Apps add readiness checks from ``AppConfig.ready()`` (``register_check``), so the core
imports no app: the subscriptions app reports the outbox lag (see docs/architecture.md,
'The outbox')."""

import logging
from collections.abc import Callable

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)

# A check returns (ready, one line for the body); it runs only when the database answers.
Check = Callable[[], tuple[bool, str]]
_checks: dict[str, Check] = {}


def register_check(name: str, check: Check) -> None:
    _checks[name] = check


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """200 whenever the process can serve a request."""
    return HttpResponse("ok", content_type="text/plain")


@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers and every registered check is ready; 503 otherwise.
    The body says "ok" and then one line per check."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("readiness check: database unreachable")
        return HttpResponse("database unavailable", status=503, content_type="text/plain")
    ready, lines = True, ["ok"]
    for name, check in _checks.items():
        try:
            ok, line = check()
        except DatabaseError:
            logger.exception("readiness check %s failed", name)
            ok, line = False, "unavailable"
        ready = ready and ok
        lines.append(f"{name}: {line}")
    if not ready:
        lines[0] = "not ready"
    return HttpResponse(
        "\n".join(lines) + "\n", status=200 if ready else 503, content_type="text/plain"
    )
