"""The endpoints monitoring posts to: ``/api/v1/integrations/alertmanager`` and
``/api/v1/components/<code>/heartbeat``. Each authenticates an integration token of its
kind, checks the input, calls the service and answers what it did.

Answers (docs/architecture.md, "Driven by monitoring"): 200 for anything accepted or
deliberately ignored; 4xx with a JSON reason for what would fail again (Alertmanager
drops those); 503 only for a transient fault (a lock or a database that did not answer),
which Alertmanager retries."""

from typing import Any

from django.db import InterfaceError, OperationalError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from components.models import Component
from monitoring import alertmanager, heartbeats, services
from monitoring.api.authentication import (
    AlertmanagerAuthentication,
    HasIntegrationToken,
    HeartbeatAuthentication,
)
from monitoring.api.serializers import PayloadSerializer, WebhookSerializer
from monitoring.models import IntegrationToken, Payload
from statusportal.api.fields import code_hint
from statusportal.api.schema import ERROR, FIELD_ERRORS

TRANSIENT = (OperationalError, InterfaceError)
# An integration is not counted against the per-address limits of anonymous readers: a
# busy Alertmanager or many cron jobs behind one address would be refused, and
# Alertmanager drops a 429 (it retries only 5xx). Only a valid token gets this far.
NO_THROTTLE: list[type[BaseThrottle]] = []
ERRORS = {
    400: OpenApiResponse(FIELD_ERRORS, description="Malformed, or names an unknown component."),
    401: OpenApiResponse(ERROR, description="No token, an unknown one, or a revoked one."),
    403: OpenApiResponse(ERROR, description="An API token, or the token of another integration."),
    503: OpenApiResponse(ERROR, description="A transient fault: send it again."),
}
NO_COMPONENT = OpenApiResponse(ERROR, description="No component has this code.")
NO_HEARTBEAT = OpenApiResponse(FIELD_ERRORS, description="The component expects no heartbeat.")


def _token(request: Request) -> IntegrationToken:
    assert isinstance(request.auth, IntegrationToken)  # (HasIntegrationToken)
    return request.auth


def _transient() -> Response:
    return Response(
        {"detail": "Temporarily unavailable; send it again.", "code": "temporarily_unavailable"},
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )


class AlertmanagerWebhookView(APIView):
    authentication_classes = [AlertmanagerAuthentication]
    permission_classes = [HasIntegrationToken]
    throttle_classes = NO_THROTTLE
    idempotency_key = False  # idempotent by itself (repeats change nothing)

    @extend_schema(
        request=WebhookSerializer,
        responses={200: PayloadSerializer, **ERRORS},
        summary="Alertmanager webhook receiver",
        operation_id="integrations_alertmanager",
    )
    def post(self, request: Request) -> Response:
        """Alertmanager's webhook (version 4), with an Alertmanager integration token as
        `Authorization: Bearer <key>`. Labels `statusportal_component` (codes,
        comma-separated) and `statusportal_status` (default `major_outage`) set component
        statuses; annotation `statusportal_incident: "true"` opens an incident per group."""
        integration = _token(request).integration
        serializer = WebhookSerializer(data=request.data)
        if not serializer.is_valid():
            summary = f"Malformed webhook: {_flatten(serializer.errors)}"
            body = services.storable(request.data)
            services.record(integration, Payload.Outcome.REJECTED, summary, body, payload=None)
            return Response(serializer.errors, status=status.HTTP_400_BAD_REQUEST)
        try:
            payload = alertmanager.receive(
                integration, serializer.webhook(), services.storable(request.data)
            )
        except TRANSIENT:
            return _transient()
        return Response(PayloadSerializer(payload).data)


class HeartbeatView(APIView):
    authentication_classes = [HeartbeatAuthentication]
    permission_classes = [HasIntegrationToken]
    throttle_classes = NO_THROTTLE
    idempotency_key = False  # a repeated heartbeat changes nothing

    @extend_schema(
        request=None,
        parameters=[
            OpenApiParameter(
                "success",
                OpenApiTypes.BOOL,
                description="false reports a failure (default true).",
            ),
            OpenApiParameter("error", OpenApiTypes.STR, description="What failed."),
        ],
        responses={200: PayloadSerializer, 404: NO_COMPONENT, 409: NO_HEARTBEAT, **ERRORS},
        summary="Heartbeat",
        operation_id="components_heartbeat",
    )  # fmt: skip
    def post(self, request: Request, code: str) -> Response:
        """A heartbeat for the component, with a heartbeat integration token as
        `Authorization: Bearer <key>`. A component whose window passes without one, or
        that hears `success=false`, takes its failure status; the next success brings it
        back."""
        integration = _token(request).integration
        success = _boolean(request.query_params.get("success", "true"))
        error = request.query_params.get("error", "")
        if len(error) > heartbeats.MAX_ERROR_LENGTH or "\x00" in error:
            raise serializers.ValidationError(
                {"error": f"At most {heartbeats.MAX_ERROR_LENGTH} characters, no NUL."}
            )
        component = Component.objects.filter(code=code).first()
        if component is None:
            return Response(
                {"detail": code_hint(Component.objects.all(), code)},
                status=status.HTTP_404_NOT_FOUND,
            )
        body = {"component": code, "success": success, "error": error}
        try:
            payload = heartbeats.beat(
                integration, component, success=success, error=error, body=body
            )
        except TRANSIENT:
            return _transient()
        return Response(PayloadSerializer(payload).data)


def _boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise serializers.ValidationError({"success": "Use true or false."})


def _flatten(errors: Any, prefix: str = "") -> str:
    """DRF's nested errors as one line for the payload's record."""
    if isinstance(errors, dict):
        return "; ".join(_flatten(v, f"{prefix}{k}.") for k, v in errors.items())
    if isinstance(errors, list):
        return "; ".join(_flatten(v, prefix) for v in errors if v)
    return f"{prefix.rstrip('.')}: {errors}"
