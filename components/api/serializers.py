"""Components and groups as the REST API shows and accepts them."""

from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from components.models import Component, ComponentGroup, Origin
from statusportal.api.fields import CodeRelatedField, TimestampedModelSerializer


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
