"""``/api/v1/components/`` and ``/api/v1/component-groups/``."""

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from components.api.filtersets import ComponentFilterSet, ComponentGroupFilterSet
from components.api.serializers import (
    ComponentGroupSerializer,
    ComponentSerializer,
    ComponentStatusChangeSerializer,
)
from components.models import Component, ComponentGroup
from statusportal.api.idempotency import IdempotentCreateMixin


class ComponentViewSet(IdempotentCreateMixin, viewsets.ModelViewSet[Component]):
    """Components: anyone reads; ``POST`` needs ``add_component``; ``PATCH`` needs
    ``change_component``, or only ``change_component_status`` when it changes nothing but
    the status (what Support staff may do)."""

    queryset = Component.objects.in_page_order()
    serializer_class = ComponentSerializer
    filterset_class = ComponentFilterSet
    lookup_field = "code"
    ordering_fields = ["position", "name", "status", "updated_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(
        responses={200: ComponentStatusChangeSerializer(many=True)},
        filters=False,
        summary="Status history",
    )
    @action(detail=True, methods=["get"], url_path="history", filterset_class=None)
    def history(self, request: Request, code: str | None = None) -> Response:
        """Every status the component has been in, newest first, and where each change
        came from (`source`)."""
        component = self.get_object()
        changes = component.status_changes.order_by("-at", "-pk")
        paginator = self.paginator
        assert paginator is not None  # (REST_FRAMEWORK's default pagination)
        page = paginator.paginate_queryset(changes, request, view=self)
        serializer = ComponentStatusChangeSerializer(page, many=True, context={"request": request})
        return paginator.get_paginated_response(serializer.data)

    def required_permissions(self, request: Request) -> list[str] | None:
        data = request.data if request.method == "PATCH" else None
        if isinstance(data, dict) and set(data) == {"status"}:
            return ["components.change_component_status"]
        return None


class ComponentGroupViewSet(IdempotentCreateMixin, viewsets.ModelViewSet[ComponentGroup]):
    """Component groups with their members and rolled-up status."""

    queryset = ComponentGroup.objects.prefetch_related("components")
    serializer_class = ComponentGroupSerializer
    filterset_class = ComponentGroupFilterSet
    lookup_field = "code"
    ordering_fields = ["position", "name"]
    http_method_names = ["get", "post", "patch", "head", "options"]
