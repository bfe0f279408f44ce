"""Incidents, maintenance, updates and postmortems as the REST API shows and accepts them.

Reads are ModelSerializers; writes are plain Serializers that only check the shape of the
request. Every rule (statuses per kind, completed maintenance, unknown components, dates in
the future) is enforced by ``incidents.services``, whose errors the API maps to 400/409.
"""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from components.models import Component
from incidents.models import Incident, IncidentUpdate, Postmortem
from statusportal.api.fields import IsoMsDateTimeField, TimestampedModelSerializer, code_hint


class AffectedComponentSerializer(serializers.Serializer[Any]):
    """One component an update changed (or named), with its status before and after."""

    code = serializers.CharField()
    name = serializers.CharField()
    old_status = serializers.ChoiceField(choices=Component.Status.choices)
    new_status = serializers.ChoiceField(choices=Component.Status.choices)


class IncidentUpdateSerializer(TimestampedModelSerializer):
    """One message on an incident's timeline."""

    incident: "serializers.SlugRelatedField[Incident]" = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    affected_components = AffectedComponentSerializer(many=True, read_only=True)

    class Meta:
        model = IncidentUpdate
        fields = [
            "code",
            "incident",
            "status",
            "body",
            "display_at",
            "deliver_notifications",
            "affected_components",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class IncidentComponentSerializer(serializers.ModelSerializer[Component]):
    """An affected component, with its current status."""

    class Meta:
        model = Component
        fields = ["code", "name", "status"]
        read_only_fields = fields


class PublishedPostmortemSerializer(TimestampedModelSerializer):
    class Meta:
        model = Postmortem
        fields = ["body", "published_at", "updated_at"]
        read_only_fields = fields


class PostmortemSerializer(TimestampedModelSerializer):
    """A postmortem as operators see it, draft or published."""

    incident: "serializers.SlugRelatedField[Incident]" = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )

    class Meta:
        model = Postmortem
        fields = [
            "incident",
            "body",
            "published_at",
            "notify_subscribers",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class IncidentSerializer(TimestampedModelSerializer):
    """An incident or maintenance with its updates (newest first), affected components
    and, once published, its postmortem."""

    url = serializers.SerializerMethodField(help_text="Absolute URL of its public page.")
    # Declared so that the schema allows "" (no override), which DRF drops for read-only
    # model fields.
    impact_override = serializers.ChoiceField(
        choices=Incident.Impact.choices, allow_blank=True, read_only=True
    )
    components = IncidentComponentSerializer(many=True, read_only=True)
    updates = IncidentUpdateSerializer(many=True, read_only=True)
    postmortem = serializers.SerializerMethodField(help_text="Null until published.")

    class Meta:
        model = Incident
        fields = [
            "code",
            "name",
            "kind",
            "status",
            "impact",
            "impact_override",
            "url",
            "started_at",
            "monitoring_at",
            "resolved_at",
            "scheduled_for",
            "scheduled_until",
            "auto_start",
            "auto_complete",
            "remind_before",
            "components",
            "updates",
            "postmortem",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_url(self, incident: Incident) -> str:
        return settings.STATUSPAGE_URL + incident.get_absolute_url()

    @extend_schema_field(PublishedPostmortemSerializer(allow_null=True))
    def get_postmortem(self, incident: Incident) -> dict[str, Any] | None:
        try:
            postmortem = incident.postmortem  # select_related: no query
        except Postmortem.DoesNotExist:
            return None
        if not postmortem.is_published:
            return None  # drafts are not public
        return PublishedPostmortemSerializer(postmortem).data


@extend_schema_field(
    {
        "type": "object",
        "description": "Affected components: each key is a component's code (not its "
        "name), each value the status it moves to, or null to mark it affected without "
        'changing its status. Example: `{"k3v9x0a1b2c3": "major_outage"}`.',
        "additionalProperties": {
            "type": "string",
            "nullable": True,
            "enum": [*Component.Status.values, None],
        },
    }
)
class ComponentChangesField(serializers.DictField):
    """``{"<component code>": "<component status>" or null}``; null marks a component as
    affected without changing its status."""

    child = serializers.ChoiceField(choices=Component.Status.choices, allow_null=True)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        changes = super().to_internal_value(data)
        # The codes are looked up in the database, which cannot hold NUL or a lone
        # surrogate: refused here as DRF's CharField does, not a 500 from PostgreSQL.
        for code in changes:
            if any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in code):
                raise serializers.ValidationError(
                    "A component code cannot hold NUL or surrogate characters.",
                    code="invalid_code",
                )
        known = set(Component.objects.filter(code__in=list(changes)).values_list("code", flat=True))
        unknown = [key for key in changes if key not in known]
        if unknown:
            queryset = Component.objects.all()
            raise serializers.ValidationError([code_hint(queryset, key) for key in unknown])
        return changes


class IncidentCreateSerializer(serializers.Serializer[Any]):
    """Open an incident with its first update."""

    name = serializers.CharField(max_length=255)
    status = serializers.ChoiceField(
        choices=[(s.value, s.label) for s in Incident.INCIDENT_STATUSES],
        default=Incident.Status.INVESTIGATING.value,
    )
    body = serializers.CharField(help_text="Markdown message of the first update.")
    components = ComponentChangesField(required=False, default=dict)
    impact_override = serializers.ChoiceField(
        choices=Incident.Impact.choices, required=False, allow_blank=True, default=""
    )
    deliver_notifications = serializers.BooleanField(default=True)
    display_at = IsoMsDateTimeField(required=False, allow_null=True, default=None)


class MaintenanceCreateSerializer(serializers.Serializer[Any]):
    """Schedule (or record) maintenance of some components over a window."""

    name = serializers.CharField(max_length=255)
    status = serializers.ChoiceField(
        choices=[(s.value, s.label) for s in Incident.MAINTENANCE_STATUSES],
        default=Incident.Status.SCHEDULED.value,
    )
    body = serializers.CharField(help_text="Markdown message of the first update.")
    components = serializers.ListField(
        child=serializers.CharField(max_length=12),
        required=False,
        default=list,
        help_text="Codes of the components under maintenance.",
    )
    scheduled_for = IsoMsDateTimeField()
    scheduled_until = IsoMsDateTimeField()
    auto_start = serializers.BooleanField(default=False)
    auto_complete = serializers.BooleanField(default=False)
    remind_before = serializers.DurationField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Email subscribers this long before the start, e.g. `01:00:00`.",
    )
    deliver_notifications = serializers.BooleanField(default=True)


class UpdateCreateSerializer(serializers.Serializer[Any]):
    """Post an update on an incident or maintenance."""

    status = serializers.ChoiceField(choices=Incident.Status.choices)
    body = serializers.CharField(help_text="Markdown.")
    components = ComponentChangesField(required=False, default=dict)
    deliver_notifications = serializers.BooleanField(default=True)
    display_at = IsoMsDateTimeField(required=False, allow_null=True, default=None)


class PostmortemDraftSerializer(serializers.Serializer[Any]):
    body = serializers.CharField(help_text="Markdown.")


class PostmortemPublishSerializer(serializers.Serializer[Any]):
    notify_subscribers = serializers.BooleanField(default=False)
