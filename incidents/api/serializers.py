"""Incidents, maintenance, updates and postmortems as the REST API shows and accepts them.

Reads are ModelSerializers; writes are plain Serializers that only check the shape of the
request. Every rule (statuses per kind, completed maintenance, unknown components, dates in
the future) is enforced by ``incidents.services``, whose errors the API maps to 400/409.
"""

from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db.models import Manager
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from components.models import Component
from incidents.models import Incident, IncidentUpdate, Postmortem
from statusportal.api.fields import IsoMsDateTimeField, TimestampedModelSerializer, code_hint
from statusportal.timefmt import iso_ms


def incident_representations(incidents: list[Incident]) -> list[dict[str, Any]]:
    """A page of incidents (fetched with ``select_related("postmortem")`` only): their
    components and updates come as plain rows in two queries, not as model objects."""
    if not incidents:
        return []
    ids = [incident.pk for incident in incidents]
    codes = {incident.pk: incident.code for incident in incidents}
    components: dict[int, list[dict[str, Any]]] = defaultdict(list)
    rows = (
        Component.objects.in_page_order()
        .filter(incidents__in=ids)
        .values_list("incidents", "code", "name", "status")
    )
    for incident_id, code, name, status in rows:
        components[incident_id].append(
            {"code": _text(code), "name": _text(name), "status": _text(status)}
        )
    updates: dict[int, list[dict[str, Any]]] = defaultdict(list)
    update_rows = (
        IncidentUpdate.objects.filter(incident_id__in=ids)
        .order_by(*[str(field) for field in IncidentUpdate._meta.ordering or ()])
        .values_list("incident_id", *UPDATE_COLUMNS)
    )
    for incident_id, *row in update_rows:
        updates[incident_id].append(_update_row(tuple(row), codes[incident_id]))
    return [incident_representation(i, components[i.pk], updates[i.pk]) for i in incidents]


class IncidentListSerializer(serializers.ListSerializer[Incident]):
    """A list of incidents through ``incident_representations``: a page that was fetched
    without its prefetches costs two plain queries instead of a few hundred objects."""

    def to_representation(self, data: Any) -> list[Any]:
        return incident_representations(list(data.all() if isinstance(data, Manager) else data))


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


# Incident history is the API's largest read: DRF's field-by-field path costs about as
# much per incident as the queries of a whole page, so the read serializer builds its
# dicts directly, with the same keys in the same order and the same value formats as the
# declared fields below (which still describe the schema).
_DURATION = serializers.DurationField()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# The columns of an update, in the order of ``_update_row``'s tuple.
UPDATE_COLUMNS = (
    "code",
    "status",
    "body",
    "display_at",
    "deliver_notifications",
    "affected_components",
    "created_at",
    "updated_at",
)


def _update_row(row: tuple[Any, ...], incident_code: str) -> dict[str, Any]:
    code, status, body, display_at, deliver, affected, created_at, updated_at = row
    return {
        "code": _text(code),
        "incident": incident_code,
        "status": _text(status),
        "body": _text(body),
        "display_at": iso_ms(display_at),
        "deliver_notifications": bool(deliver),
        "affected_components": [
            {
                "code": _text(change["code"]),
                "name": _text(change["name"]),
                "old_status": _text(change["old_status"]),
                "new_status": _text(change["new_status"]),
            }
            for change in affected
        ],
        "created_at": iso_ms(created_at),
        "updated_at": iso_ms(updated_at),
    }


def _update_representation(update: IncidentUpdate, incident_code: str) -> dict[str, Any]:
    return _update_row(tuple(getattr(update, name) for name in UPDATE_COLUMNS), incident_code)


def _published_postmortem(incident: Incident) -> dict[str, Any] | None:
    try:
        postmortem = incident.postmortem  # select_related: no query
    except Postmortem.DoesNotExist:
        return None
    if not postmortem.is_published:
        return None  # drafts are not public
    return {
        "body": _text(postmortem.body),
        "published_at": iso_ms(postmortem.published_at),
        "updated_at": iso_ms(postmortem.updated_at),
    }


def incident_representation(
    incident: Incident,
    components: list[dict[str, Any]] | None = None,
    updates: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``IncidentSerializer``'s output for ``incident`` (fetched with
    ``incidents_with_details``, or given its ``components`` and ``updates`` already made
    by ``incident_representations``), without DRF's per-field overhead."""
    code = incident.code
    if components is None:
        components = [
            {"code": _text(c.code), "name": _text(c.name), "status": _text(c.status)}
            for c in incident.components.all()
        ]
    if updates is None:
        updates = [_update_representation(u, code) for u in incident.updates.all()]
    return {
        "code": _text(code),
        "name": _text(incident.name),
        "kind": _text(incident.kind),
        "status": _text(incident.status),
        "impact": _text(incident.impact),
        "impact_override": _text(incident.impact_override),
        "url": settings.STATUSPAGE_URL + incident.get_absolute_url(),
        "started_at": iso_ms(incident.started_at),
        "monitoring_at": iso_ms(incident.monitoring_at),
        "resolved_at": iso_ms(incident.resolved_at),
        "scheduled_for": iso_ms(incident.scheduled_for),
        "scheduled_until": iso_ms(incident.scheduled_until),
        "auto_start": bool(incident.auto_start),
        "auto_complete": bool(incident.auto_complete),
        "remind_before": None
        if incident.remind_before is None
        else _DURATION.to_representation(incident.remind_before),
        "components": components,
        "updates": updates,
        "postmortem": _published_postmortem(incident),
        "created_at": iso_ms(incident.created_at),
        "updated_at": iso_ms(incident.updated_at),
    }


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
        list_serializer_class = IncidentListSerializer
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

    def to_representation(self, instance: Incident) -> dict[str, Any]:
        return incident_representation(instance)

    def drf_representation(self, instance: Incident) -> dict[str, Any]:
        """What DRF's generic field-by-field path makes of ``instance``: the reference that
        ``incident_representation`` matches byte for byte (a test compares them)."""
        return dict(super().to_representation(instance))

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
