"""One JSON shape for every API error.

DRF already answers its own exceptions (400 with ``{field: [messages]}``, 401, 403, 404,
405, 415, 429 with ``{"detail": message}``). This handler adds the errors of the service
layer, so views can call the apps' services without catching anything:

- django ``ValidationError`` → 400 with the same ``{field: [messages]}`` shape;
- ``statusportal.errors.ConflictError`` (the object's state forbids the change) → 409,
  same shape.
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from statusportal.errors import ConflictError


def error_messages(exc: DjangoValidationError) -> dict[str, list[str]]:
    """``{field: [messages]}`` of a Django ValidationError (``non_field_errors`` when it
    names no field, as DRF does)."""
    if hasattr(exc, "error_dict"):
        return {field: list(messages) for field, messages in exc.message_dict.items()}
    return {"non_field_errors": list(exc.messages)}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        code = status.HTTP_409_CONFLICT if isinstance(exc, ConflictError) else 400
        return Response(error_messages(exc), status=code)
    return drf_exception_handler(exc, context)
