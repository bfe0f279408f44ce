"""OpenAPI generation (drf-spectacular): our token scheme, the error responses every
operation can give, and the ``Idempotency-Key`` header of POSTs."""

from typing import Any, Literal

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from statusportal.api.idempotency import HEADER, MAX_KEY_LENGTH

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": "Messages by field name: `{field: [message, …]}` (nested for nested "
    "fields; `non_field_errors` for the request as a whole).",
    "additionalProperties": {},
}


def _error(description: str, schema: dict[str, Any] | None = None) -> OpenApiResponse:
    return OpenApiResponse(response=schema or ERROR, description=description)


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "statusportal.api.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>` or `Bearer <key>`; create keys in the admin or "
            "with `manage.py createapitoken <username>`.",
        }


class StatusportalAutoSchema(AutoSchema):
    """Adds to each operation the errors it can answer, so that clients (and schemathesis)
        know every status code: 401 for a bad token and 429 everywhere; 400/404 for lists
        (bad filter, bad cursor or page); 404 for one object; 400/403/415 for writes; 409 for
        the actions a view lists in ``conflict_actions``; 422 for a reused idempotency key (but
    on views that set ``idempotency_key = False``: they take no such header)."""

    def get_auth(self) -> list[dict[str, Any]]:
        """Reads are public: anonymous or with a token (which only adds the private
        lists, such as subscribers). Writes and private reads need a token."""
        auth = super().get_auth()
        private = getattr(self.view, "private", False)
        if self.method in ("GET", "HEAD") and not private and {} not in auth:
            auth = [*auth, {}]
        return auth

    def get_override_parameters(self) -> list[Any]:
        params = list(super().get_override_parameters())
        if self.method == "POST" and getattr(self.view, "idempotency_key", True):
            params.append(
                OpenApiParameter(
                    HEADER,
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    required=False,
                    description="Any unique string (up to "
                    f"{MAX_KEY_LENGTH} characters): a retry with the same key returns the "
                    "first response instead of writing twice.",
                )
            )
        return params

    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        errors = {
            "401": _error("Invalid, revoked or missing token."),
            "429": _error("Too many requests; retry later."),
        }
        is_write = self.method in ("POST", "PUT", "PATCH", "DELETE")
        if self._is_list_view() and not is_write:
            errors["400"] = _error("Invalid filter value.", FIELD_ERRORS)
            errors["404"] = _error("Invalid page or cursor.")
        if "{" in self.path:
            errors["404"] = _error("No object with this code.")
        if is_write or getattr(self.view, "private", False):
            errors["403"] = _error("The token's user lacks the permission.")
        if is_write:
            errors["400"] = _error("Invalid input.", FIELD_ERRORS)
            errors["415"] = _error("Send `Content-Type: application/json`.")
            if getattr(self.view, "action", None) in getattr(self.view, "conflict_actions", ()):
                errors["409"] = _error("The object's state forbids this change.", FIELD_ERRORS)
        if self.method == "POST" and getattr(self.view, "idempotency_key", True):
            errors["422"] = _error(f"The {HEADER} was already used for another request.")
        for code, response in errors.items():
            if code not in responses:
                # drf-spectacular's hooks carry no types.
                responses[code] = self._get_response_for_code(response, code)  # type: ignore[no-untyped-call]
        return responses
