"""Components and groups as the REST API shows and accepts them."""

from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from components.models import Component, ComponentGroup, ComponentStatusChange, Origin
from statusportal.api.fields import (
    CodeRelatedField,
    IsoMsDateTimeField,
    TimestampedModelSerializer,
)


class ComponentSerializer(TimestampedModelSerializer):
    """A component; a change of ``status`` is recorded in its history like any other."""

    group = CodeRelatedField(
        queryset=ComponentGroup.objects.all(),
        allow_null=True,
        required=False,
        help_text="Code of the component's group, or null.",
    )

    class Meta:
        model = Component
        fields = [
            "code",
            "name",
            "description",
            "group",
            "position",
            "status",
            "showcase",
            "only_show_if_degraded",
            "start_date",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["code", "created_at", "updated_at"]

    @transaction.atomic
    def update(self, instance: Component, validated_data: dict[str, Any]) -> Component:
        # The status moves through set_status (its history row); the rest saves as usual.
        status = validated_data.pop("status", None)
        if validated_data:
            instance = super().update(instance, validated_data)
        if status is not None:
            request = self.context.get("request")
            origin = Origin.acting(request.user, request.auth) if request else None
            instance.set_status(status, origin=origin)
        return instance


class ComponentGroupSerializer(TimestampedModelSerializer):
    """A group of components, with its members' codes and their worst status."""

    components: "serializers.SlugRelatedField[Component]" = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True, help_text="Codes of its components."
    )
    status = serializers.SerializerMethodField(help_text="The worst status of its components.")

    class Meta:
        model = ComponentGroup
        fields = [
            "code",
            "name",
            "description",
            "position",
            "status",
            "components",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["code", "created_at", "updated_at"]

    @extend_schema_field(serializers.ChoiceField(choices=Component.Status.choices))
    def get_status(self, group: ComponentGroup) -> str:
        # Uses the prefetched members (no query per group).
        return Component.Status.worst(c.status for c in group.components.all()).value


# Who may see who acted: operator user names are e-mail addresses, not for the public.
SEE_ACTORS = "components.view_componentstatuschange"


class ComponentStatusChangeSerializer(serializers.ModelSerializer[ComponentStatusChange]):
    """One entry of a component's status history and where it came from. ``actor`` and
    ``detail`` are shown to token holders who may view the history in the admin, and
    are null for everyone else."""

    at = IsoMsDateTimeField(read_only=True)
    actor = serializers.SerializerMethodField(
        help_text="Who or what acted (a user, a token, an integration); null unless your "
        "token may view the status history."
    )
    detail = serializers.SerializerMethodField(
        help_text="What the automation received (the alerts, the heartbeat); null unless "
        "your token may view the status history."
    )

    class Meta:
        model = ComponentStatusChange
        fields = ["at", "old_status", "new_status", "source", "actor", "detail"]
        read_only_fields = fields

    def _insider(self) -> bool:
        request = self.context.get("request")
        return bool(request is not None and request.user.has_perm(SEE_ACTORS))

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_actor(self, change: ComponentStatusChange) -> str | None:
        return change.actor if self._insider() else None

    @extend_schema_field(serializers.JSONField(allow_null=True))
    def get_detail(self, change: ComponentStatusChange) -> Any:
        return change.detail if self._insider() else None
