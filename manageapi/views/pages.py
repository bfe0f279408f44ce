"""The page (statusportal serves one), and the endpoints of the manage API that
statusportal does not offer."""

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.request import Request
from rest_framework.response import Response

from manageapi import shapes
from manageapi.base import ManageView
from statusportal.models import ApiToken

# Parts of Statuspage's manage API that statusportal has no counterpart for (README,
# "Moving from Statuspage"): answered with a 404 that says so.
UNSUPPORTED = (
    "page access users and groups",
    "metrics and metrics providers",
    "organizations, users and permissions",
    "status embed config",
    "SMS and Slack subscribers",
)


class PageDetail(ManageView):
    """``GET /v1/pages/{page_id}``. Any valid key may read it; the page's settings come
    from the environment, so it cannot be changed here."""

    model = ApiToken

    def required_permissions(self, request: Request) -> list[str]:
        return []

    def get(self, request: Request, page_id: str) -> Response:
        return Response(shapes.page())


class PageList(PageDetail):
    def get(self, request: Request, page_id: str | None = None) -> Response:
        return Response([shapes.page()])


@csrf_exempt
def not_supported(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any other path under /v1/."""
    return JsonResponse(
        {
            "message": f"Not found: {request.path} is not supported by statusportal. "
            "It serves pages, components, component groups, incidents, incident updates, "
            "postmortems, incident templates and email subscribers; not "
            + ", ".join(UNSUPPORTED)
            + "."
        },
        status=404,
    )
