"""``Authorization: Bearer <key>`` with an integration token, per kind of integration."""

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from monitoring import tokens
from monitoring.models import Integration, IntegrationToken


class IntegrationTokenAuthentication(authentication.BaseAuthentication):
    """The token of an integration of ``kind``; an API token, or one of another kind of
    integration, is a 403 that says which token is wanted."""

    kind = ""
    keywords = ("bearer", "token")

    def authenticate(self, request: Request) -> tuple[AnonymousUser, IntegrationToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header: use 'Bearer <key>'.", code="invalid_header"
            )
        try:
            key = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        try:
            token = tokens.authenticate(key, self.kind)
        except tokens.Refusal as refusal:
            if refusal.status == 403:
                raise exceptions.PermissionDenied(refusal.reason, code=refusal.code) from None
            raise exceptions.AuthenticationFailed(refusal.reason, code=refusal.code) from None
        # No user: an integration acts as itself, with no permission anywhere else.
        return AnonymousUser(), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="integrations"'


class AlertmanagerAuthentication(IntegrationTokenAuthentication):
    kind = Integration.Kind.ALERTMANAGER


class HeartbeatAuthentication(IntegrationTokenAuthentication):
    kind = Integration.Kind.HEARTBEAT


class HasIntegrationToken(BasePermission):
    """The request came with a token its view's authentication accepted."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.auth, IntegrationToken)


class AlertmanagerTokenScheme(OpenApiAuthenticationExtension):
    """How the schema describes integration tokens (one scheme per kind)."""

    target_class = "monitoring.api.authentication.AlertmanagerAuthentication"
    name = "alertmanagerToken"
    kind = "an Alertmanager"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": f"The token of {self.kind} integration (Automation in the admin, "
            "or `manage.py createintegration`); it opens only this endpoint.",
        }


class HeartbeatTokenScheme(AlertmanagerTokenScheme):
    target_class = "monitoring.api.authentication.HeartbeatAuthentication"
    name = "heartbeatToken"
    kind = "a heartbeat"
