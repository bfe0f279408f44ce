"""What every manage API view shares: the key (``Authorization: OAuth <key>`` or
``?api_key=<key>``, an ordinary API token), the page id of the URL, Django model
permissions, errors as Statuspage's ``{"message": …}`` objects, and page numbers."""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import authentication, exceptions, status
from rest_framework.parsers import FormParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from components.models import Origin
from incidents.api.statuspage import page_id
from statusportal.api.authentication import authenticate_key
from statusportal.api.exceptions import error_messages
from statusportal.api.parsers import BoundedJSONParser
from statusportal.errors import ConflictError
from statusportal.models import ApiToken

M = TypeVar("M", bound=models.Model)

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 100


class OAuthKeyAuthentication(authentication.BaseAuthentication):
    """A key as Statuspage takes it: ``Authorization: OAuth <key>`` or ``?api_key=``.
    The key is one of our API tokens (same hashed storage, same last-use record)."""

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if header:
            scheme = header[0].decode(errors="replace").lower()
            if scheme not in ("oauth", "token", "bearer") or len(header) != 2:
                raise exceptions.AuthenticationFailed(
                    "Invalid Authorization header: use 'OAuth <key>'."
                )
            try:
                return authenticate_key(header[1].decode())
            except UnicodeDecodeError:
                raise exceptions.AuthenticationFailed("Invalid token.") from None
        key = request.query_params.get("api_key")
        if key:
            return authenticate_key(key)
        return None

    def authenticate_header(self, request: Request) -> str:
        return 'OAuth realm="statuspage"'


class HasModelPermission(BasePermission):
    """A key whose user holds the Django permissions the view asks for the request
    (``view_…`` to read, ``add_…``, ``change_…``, ``delete_…`` to write), as in the admin
    and ``/api/v1``."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        required: list[str] = view.required_permissions(request)  # type: ignore[attr-defined]
        return bool(request.user.has_perms(required))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Errors as Statuspage's ``ErrorEntity``: ``{"message": …}``, plus ``errors`` by
    field for invalid input. Invalid values (ours or the services') are 422, a state
    that forbids the change 409, a malformed body 400."""
    if isinstance(exc, DjangoValidationError):
        code = status.HTTP_409_CONFLICT if isinstance(exc, ConflictError) else 422
        errors: Any = error_messages(exc)
        return Response({"message": first_message(errors), "errors": errors}, status=code)
    if isinstance(exc, exceptions.ValidationError):
        return Response({"message": first_message(exc.detail), "errors": exc.detail}, status=422)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"message": str(response.data["detail"])}
    return response


def first_message(errors: Any) -> str:
    """ "field: message" of the first error in DRF's or Django's nested error shapes."""
    if isinstance(errors, dict):
        for field, value in errors.items():
            inner = first_message(value)
            return inner if field == "non_field_errors" else f"{field}: {inner}"
    if isinstance(errors, list) and errors:
        return first_message(errors[0])
    return str(errors)


class ManageView(APIView):
    """Base of the manage API's views. ``model`` names the permissions a request needs;
    ``required_permissions`` may ask for others."""

    authentication_classes = [OAuthKeyAuthentication]
    permission_classes = [HasModelPermission]
    parser_classes = [BoundedJSONParser, FormParser]
    renderer_classes = [JSONRenderer]
    # Not in /api/v1's OpenAPI schema: Statuspage's own description documents these.
    schema = None
    model: type[models.Model]

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        return exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        wanted = kwargs.get("page_id")
        if wanted is not None and wanted != page_id():
            raise exceptions.NotFound(
                f"No page with the id “{wanted[:64]}”: this server has one page, “{page_id()}”."
            )

    def required_permissions(self, request: Request) -> list[str]:
        meta = self.model._meta
        action = {
            "GET": "view",
            "HEAD": "view",
            "OPTIONS": "view",
            "POST": "add",
            "PUT": "change",
            "PATCH": "change",
            "DELETE": "delete",
        }.get(request.method or "GET", "change")
        return [f"{meta.app_label}.{action}_{meta.model_name}"]

    def origin(self) -> Origin:
        """Where a status change made by this request comes from (its token)."""
        return Origin.acting(self.request.user, self.request.auth)


def get_or_404(queryset: "models.QuerySet[M]", code: str, noun: str) -> M:
    found = queryset.filter(code=code).first()
    if found is None:
        raise exceptions.NotFound(f"No {noun} has the id “{code[:64]}”.")
    return found


def page_slice(
    request: Request, items: Sequence[Any] | Any, *, size_param: str = "per_page"
) -> Any:
    """``?page=N`` (from 1) of ``items`` (a list or a queryset), ``size_param`` items a
    page (at most 100). A value that is not a positive number is a 400."""
    number = positive_int(request, "page", 1)
    size = min(positive_int(request, size_param, DEFAULT_PER_PAGE), MAX_PER_PAGE)
    start = (number - 1) * size
    return items[start : start + size]


def positive_int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or int(raw) < 1:
        raise exceptions.ParseError(f"“{name}” must be a whole number from 1.")
    return int(raw)


def no_content() -> Response:
    return Response(status=status.HTTP_204_NO_CONTENT)
