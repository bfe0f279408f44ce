"""Views of the API that belong to no app."""

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any unknown path under /api/: a JSON 404, as API clients expect, not an HTML page."""
    return JsonResponse(
        {"detail": f"Not found: {request.path}. See /api/v1/docs/ and /api/v2/summary.json."},
        status=404,
    )
