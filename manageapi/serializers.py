"""What the manage API accepts inside its envelopes. They check the shape and the
choices only; every rule is the services' (see docs/architecture.md, "The manage API")."""

from datetime import UTC, datetime, time
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import serializers

from components.models import Component
from incidents.api.serializers import ComponentChangesField
from incidents.models import Incident
from statusportal.api.fields import IsoMsDateTimeField

# Statuspage lists "" among the component statuses: "no status given".
COMPONENT_STATUSES = [*Component.Status.choices, ("", "(none)")]


class CodeListField(serializers.ListField):
    child = serializers.CharField(max_length=64)


class ComponentInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, required=False, max_length=10_000)
    status = serializers.ChoiceField(choices=COMPONENT_STATUSES, required=False)
    group_id = serializers.CharField(allow_null=True, allow_blank=True, required=False)
    showcase = serializers.BooleanField(required=False)
    only_show_if_degraded = serializers.BooleanField(required=False)
    start_date = serializers.DateField(allow_null=True, required=False)


class ComponentGroupInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    components = CodeListField(allow_empty=True)


class StatusOrBlankChanges(ComponentChangesField):
    """``{component id: status}``; an empty status marks the component affected without
    changing it (as null does)."""

    child = serializers.ChoiceField(choices=COMPONENT_STATUSES, allow_null=True)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        changes = super().to_internal_value(data)
        return {code: status or None for code, status in changes.items()}


class FlexibleTimeField(serializers.Field):  # type: ignore[type-arg]
    """A time or a date (midnight UTC), as Statuspage's ``backfill_date`` takes either;
    a time without an offset is refused, as everywhere in our API."""

    default_error_messages = {
        "invalid": "Give a date (2021-09-09) or a time with its offset "
        "(2021-09-09T20:34:00-03:00).",
    }

    def to_internal_value(self, data: Any) -> datetime:
        text = str(data).strip()
        try:
            day = parse_date(text)
            moment = parse_datetime(text) if day is None else None
        except ValueError:
            self.fail("invalid")
        if day is not None:
            return datetime.combine(day, time.min, tzinfo=UTC)
        if moment is None or timezone.is_naive(moment):
            self.fail("invalid")
        return moment

    def to_representation(self, value: Any) -> Any:
        return value


class IncidentInput(serializers.Serializer[Any]):
    """Opening an incident or scheduling maintenance (Statuspage's names)."""

    name = serializers.CharField(max_length=255)
    status = serializers.ChoiceField(choices=Incident.Status.choices, required=False)
    body = serializers.CharField(allow_blank=True, required=False, max_length=100_000)
    impact_override = serializers.ChoiceField(
        choices=Incident.Impact.choices, allow_blank=True, required=False
    )
    components = StatusOrBlankChanges(required=False)
    component_ids = CodeListField(required=False)
    deliver_notifications = serializers.BooleanField(default=True)
    scheduled_for = IsoMsDateTimeField(required=False)
    scheduled_until = IsoMsDateTimeField(required=False)
    scheduled_remind_prior = serializers.BooleanField(default=False)
    scheduled_auto_in_progress = serializers.BooleanField(default=False)
    scheduled_auto_completed = serializers.BooleanField(default=False)
    scheduled_auto_transition = serializers.BooleanField(default=False)
    backfilled = serializers.BooleanField(default=False)
    backfill_date = FlexibleTimeField(required=False)


class IncidentChangeInput(serializers.Serializer[Any]):
    """Changing an incident: its details, and/or an update to post."""

    name = serializers.CharField(max_length=255, required=False)
    status = serializers.ChoiceField(choices=Incident.Status.choices, required=False)
    body = serializers.CharField(allow_blank=True, required=False, max_length=100_000)
    impact_override = serializers.ChoiceField(
        choices=Incident.Impact.choices, allow_blank=True, required=False
    )
    components = StatusOrBlankChanges(required=False)
    component_ids = CodeListField(required=False)
    deliver_notifications = serializers.BooleanField(default=True)
    scheduled_for = IsoMsDateTimeField(required=False)
    scheduled_until = IsoMsDateTimeField(required=False)
    scheduled_remind_prior = serializers.BooleanField(required=False)
    scheduled_auto_in_progress = serializers.BooleanField(required=False)
    scheduled_auto_completed = serializers.BooleanField(required=False)


class IncidentUpdateChangeInput(serializers.Serializer[Any]):
    body = serializers.CharField(required=False, max_length=100_000)
    display_at = IsoMsDateTimeField(required=False)
    deliver_notifications = serializers.BooleanField(required=False)
    wants_twitter_update = serializers.BooleanField(required=False)


class PostmortemDraftInput(serializers.Serializer[Any]):
    body_draft = serializers.CharField(max_length=200_000)


class PostmortemPublishInput(serializers.Serializer[Any]):
    notify_subscribers = serializers.BooleanField(default=False)
    notify_twitter = serializers.BooleanField(required=False)
    custom_tweet = serializers.CharField(required=False, allow_blank=True)


class SubscriberInput(serializers.Serializer[Any]):
    email = serializers.CharField(required=False, max_length=254)
    endpoint = serializers.CharField(required=False, allow_blank=True)
    phone_number = serializers.CharField(required=False, allow_blank=True)
    phone_country = serializers.CharField(required=False, allow_blank=True)
    page_access_user = serializers.CharField(required=False, allow_blank=True)
    component_ids = CodeListField(required=False, allow_empty=False)
    skip_confirmation_notification = serializers.BooleanField(default=False)


class TemplateInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    title = serializers.CharField(max_length=255, allow_blank=True)
    body = serializers.CharField(max_length=100_000)
    update_status = serializers.ChoiceField(
        choices=Incident.Status.choices, default=Incident.Status.INVESTIGATING
    )
    component_ids = CodeListField(required=False, default=list)
    should_send_notifications = serializers.BooleanField(required=False)
    should_tweet = serializers.BooleanField(required=False)
    group_id = serializers.CharField(required=False, allow_blank=True, allow_null=True)


def valid(serializer_class: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    """The checked values of ``data``; a ValidationError (422) otherwise."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
