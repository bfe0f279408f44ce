"""``/api/v1/incidents/`` and ``/api/v1/maintenances/``: reads for anyone, writes through
``incidents.services`` for operators with a token."""

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from components.models import Component, Origin
from incidents import services
from incidents.api.filtersets import IncidentFilterSet
from incidents.api.serializers import (
    IncidentCreateSerializer,
    IncidentSerializer,
    IncidentUpdateSerializer,
    MaintenanceCreateSerializer,
    PostmortemDraftSerializer,
    PostmortemPublishSerializer,
    PostmortemSerializer,
    UpdateCreateSerializer,
)
from incidents.models import Incident
from statusportal.api.cache import CachedReadsMixin
from statusportal.api.idempotency import idempotent
from statusportal.api.pagination import IncidentCursorPagination
from statusportal.api.permissions import acting_user


def incidents_with_details() -> QuerySet[Incident]:
    """Incidents with everything the serializer shows, in a fixed number of queries."""
    return Incident.objects.select_related("postmortem").prefetch_related(
        "updates", Prefetch("components", queryset=Component.objects.in_page_order())
    )


class _IncidentBase(
    CachedReadsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Incident],
):
    queryset = incidents_with_details()
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilterSet
    pagination_class = IncidentCursorPagination
    lookup_field = "code"
    ordering_fields = ["started_at", "created_at", "updated_at"]
    action_permissions = {"post_update": ["incidents.add_incidentupdate"]}
    conflict_actions = {"post_update"}

    def get_queryset(self) -> QuerySet[Incident]:
        queryset = super().get_queryset()
        if self.action == "list":
            # A page's components and updates come as plain rows from its serializer
            # (incident_representations), not as prefetched objects.
            return queryset.prefetch_related(None)
        return queryset

    def _respond(self, incident: Incident, code: int = status.HTTP_201_CREATED) -> Response:
        incident = incidents_with_details().get(pk=incident.pk)
        return Response(self.get_serializer(incident).data, status=code)

    @extend_schema(
        request=UpdateCreateSerializer,
        responses={201: IncidentUpdateSerializer},
        summary="Post an update",
    )
    @action(detail=True, methods=["post"], url_path="updates")
    @idempotent
    def post_update(self, request: Request, code: str | None = None) -> Response:
        """Post an update: moves the status, changes component statuses (recorded in their
        history) and notifies subscribers unless `deliver_notifications` is false."""
        incident = self.get_object()
        data = self._valid(UpdateCreateSerializer, request)
        update = services.post_update(
            incident,
            author=acting_user(request),
            origin=Origin.acting(request.user, request.auth),
            **data,
        )
        return Response(IncidentUpdateSerializer(update).data, status=status.HTTP_201_CREATED)

    @staticmethod
    def _valid(
        serializer_class: type[serializers.Serializer[Any]], request: Request
    ) -> dict[str, Any]:
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


class IncidentViewSet(_IncidentBase):
    """Incidents and maintenance (filter with `kind`), newest first, cursor-paginated."""

    action_permissions = {
        **_IncidentBase.action_permissions,
        "postmortem": ["incidents.add_postmortem", "incidents.change_postmortem"],
        "publish_postmortem": ["incidents.change_postmortem"],
    }
    conflict_actions = {"post_update", "publish_postmortem"}

    @extend_schema(
        request=IncidentCreateSerializer,
        responses={201: IncidentSerializer},
        summary="Open an incident",
    )
    @idempotent
    def create(self, request: Request) -> Response:
        """Open an incident with its first update."""
        data = self._valid(IncidentCreateSerializer, request)
        incident = services.open_incident(
            kind=Incident.Kind.INCIDENT,
            author=acting_user(request),
            origin=Origin.acting(request.user, request.auth),
            **data,
        )
        return self._respond(incident)

    @extend_schema(
        request=PostmortemDraftSerializer,
        responses={200: PostmortemSerializer},
        summary="Save the postmortem draft",
    )
    @action(detail=True, methods=["put"], url_path="postmortem")
    def postmortem(self, request: Request, code: str | None = None) -> Response:
        """Create or replace the postmortem's text (a published one stays published)."""
        incident = self.get_object()
        data = self._valid(PostmortemDraftSerializer, request)
        postmortem = services.save_postmortem_draft(incident, author=acting_user(request), **data)
        return Response(PostmortemSerializer(postmortem).data)

    @extend_schema(
        request=PostmortemPublishSerializer,
        responses={200: PostmortemSerializer},
        summary="Publish the postmortem",
    )
    @action(detail=True, methods=["post"], url_path="postmortem/publish")
    @idempotent
    def publish_postmortem(self, request: Request, code: str | None = None) -> Response:
        """Publish the draft of a resolved incident, optionally emailing subscribers."""
        incident = self.get_object()
        data = self._valid(PostmortemPublishSerializer, request)
        postmortem = services.publish_postmortem(
            incident, notify=data["notify_subscribers"], author=acting_user(request)
        )
        return Response(PostmortemSerializer(postmortem).data)


class MaintenanceViewSet(_IncidentBase):
    """Maintenance only: scheduled, in progress, verifying or completed."""

    queryset = incidents_with_details().filter(kind=Incident.Kind.MAINTENANCE)

    @extend_schema(
        request=MaintenanceCreateSerializer,
        responses={201: IncidentSerializer},
        summary="Schedule maintenance",
    )
    @idempotent
    def create(self, request: Request) -> Response:
        """Schedule maintenance of some components over a window."""
        data = self._valid(MaintenanceCreateSerializer, request)
        components = dict.fromkeys(data.pop("components"))
        incident = services.open_incident(
            kind=Incident.Kind.MAINTENANCE,
            components=components,
            author=acting_user(request),
            origin=Origin.acting(request.user, request.auth),
            **data,
        )
        return self._respond(incident)
