"""``/api/v2/*.json``: the Statuspage-compatible public JSON (see ``statuspage.py``).

Plain Django views: no authentication, cached by ``public_cache`` (ETag, 304,
invalidated by every write through the Revision row), readable from any origin.
"""

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from incidents.api import statuspage
from incidents.models import Incident
from statusportal.pagecache import public_cache


def _json(document: dict[str, Any]) -> JsonResponse:
    response = JsonResponse(document)
    # Statuspage answers every origin, with or without an Origin header (which
    # django-cors-headers needs); kept with the cached rendering.
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
@public_cache
def summary(request: HttpRequest) -> JsonResponse:
    return _json(statuspage.summary())


@require_safe
@public_cache
def status(request: HttpRequest) -> JsonResponse:
    return _json(statuspage.status_document())


@require_safe
@public_cache
def components(request: HttpRequest) -> JsonResponse:
    return _json(statuspage.components_document())


@require_safe
@public_cache
def incidents(request: HttpRequest) -> JsonResponse:
    return _json(statuspage.incidents_document())


@require_safe
@public_cache
def unresolved_incidents(request: HttpRequest) -> JsonResponse:
    return _json(statuspage.incidents_document(unresolved_only=True))


@require_safe
@public_cache
def scheduled_maintenances(request: HttpRequest) -> JsonResponse:
    return _json(statuspage.maintenances_document())


@require_safe
@public_cache
def upcoming_maintenances(request: HttpRequest) -> JsonResponse:
    return _json(statuspage.maintenances_document(statuspage.UPCOMING_STATUSES))


@require_safe
@public_cache
def active_maintenances(request: HttpRequest) -> JsonResponse:
    return _json(statuspage.maintenances_document(Incident.ACTIVE_MAINTENANCE_STATUSES))
