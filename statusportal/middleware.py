"""Site-wide middleware."""

from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.text import slugify
from rest_framework.response import Response

from statusportal.api.views import error_json, is_api
from statusportal.timefmt import page_zone


class AdminTimeZoneMiddleware:
    """Operators read and type times in the console in the page's time zone
    (``STATUSPAGE_TIME_ZONE``) — the zone customers see — rather than in UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/admin/"):
            with timezone.override(page_zone()):
                return self.get_response(request)
        return self.get_response(request)


class ApiErrorsAsJsonMiddleware:
    """An error from an ``/api/`` URL is JSON, whoever produced it.

    DRF answers its own errors in JSON, and ``handler400``/``handler500`` answer Django's
    (``statusportal.api.views``); what is left is HTML or empty bodies from Django's
    plumbing: a 405 from ``require_GET``, a CSRF 403, a 400 raised by middleware before any
    view ran. This middleware, first behind the page cache's front (which only ever
    answers 200 or 304), rewrites those into
    ``{"detail": …, "code": …}`` with the same status and headers.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and is_api(request)
            and not isinstance(response, Response)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return _as_json(request, response)
        return response


def _as_json(request, response: HttpResponse) -> JsonResponse:
    reason = response.reason_phrase or "Error"
    replaced = error_json(
        request, f"{reason}.", slugify(reason).replace("-", "_"), response.status_code
    )
    for header in ("Allow", "Retry-After", "WWW-Authenticate", "Vary"):
        if header in response:
            replaced[header] = response[header]
    return replaced
