"""Views of the API that belong to no app, and the error pages of /api/ URLs.

Django answers its own errors (a ``SuspiciousOperation`` such as ``RequestDataTooBig`` or
``DisallowedHost``, an unhandled exception) with HTML pages through ``handler400`` and
``handler500``; the handlers here answer JSON for ``/api/`` paths instead, so that an API
client never has to parse HTML, and leave every other path to Django's own pages.
"""

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

# /v1/ is Statuspage's manage API (the manageapi app), whose clients read JSON too.
API_PREFIXES = ("/api/", "/v1/")


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIXES) or request.path.startswith(API_PREFIXES)


def error_json(request: HttpRequest, detail: str, code: str, status: int) -> JsonResponse:
    """An error of an API path in its API's shape: ``{"detail", "code"}``, plus the
    ``message`` every error of Statuspage's manage API (/v1/) carries."""
    body = {"detail": detail, "code": code}
    if request.path_info.startswith("/v1/") or request.path.startswith("/v1/"):
        body["message"] = detail
    return JsonResponse(body, status=status)


@csrf_exempt
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any unknown path under /api/: a JSON 404, as API clients expect, not an HTML page."""
    return JsonResponse(
        {"detail": f"Not found: {request.path}. See /api/v1/docs/ and /api/v2/summary.json."},
        status=404,
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler400``: JSON under /api/ (a 413 for a body over Django's upload limit)."""
    if not is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return error_json(request, "The request body is too large.", "request_too_large", 413)
    return error_json(request, "Bad request.", "bad_request", 400)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: JSON under /api/."""
    if not is_api(request):
        return defaults.server_error(request)
    return error_json(request, "Server error.", "server_error", 500)
