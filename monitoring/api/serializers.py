"""The Alertmanager webhook (format version 4) and our answers, as the API checks and
shows them."""

from typing import Any

from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from monitoring.alertmanager import ReceivedAlert, Webhook
from monitoring.models import Payload
from statusportal import limits
from statusportal.api.fields import IsoMsDateTimeField

STATES = ["firing", "resolved"]
MAX_ALERTS = 1000  # Alertmanager's max_alerts is unbounded by default; ours is not
MAX_TEXT = 10_000


class LabelsField(serializers.DictField):
    """Label or annotation names to text; names checked like the values (no NUL, no lone
    surrogate: PostgreSQL could not store them)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.CharField(allow_blank=True, max_length=MAX_TEXT))
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", dict)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        value = super().to_internal_value(data)
        for name in value:
            if len(name) > 200:
                raise serializers.ValidationError(f"The name “{name[:50]}…” is too long.")
            for validator in (
                ProhibitNullCharactersValidator(),
                ProhibitSurrogateCharactersValidator(),
            ):
                validator(name)
        return dict(value)


class AlertSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=STATES)
    labels = LabelsField()
    annotations = LabelsField()
    startsAt = IsoMsDateTimeField()  # (Alertmanager's names)
    endsAt = serializers.CharField(required=False, allow_blank=True, max_length=100)
    generatorURL = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TEXT)
    fingerprint = serializers.CharField(max_length=64)

    def validate_startsAt(self, value: Any) -> Any:
        limits.check_time("startsAt", value)
        return value


class WebhookSerializer(serializers.Serializer[Any]):
    """What Alertmanager posts to a webhook receiver (version 4)."""

    version = serializers.ChoiceField(choices=["4"], help_text="The webhook format: 4.")
    groupKey = serializers.CharField(max_length=MAX_TEXT)
    truncatedAlerts = serializers.IntegerField(required=False, min_value=0)
    status = serializers.ChoiceField(choices=STATES)
    receiver = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TEXT)
    groupLabels = LabelsField()
    commonLabels = LabelsField()
    commonAnnotations = LabelsField()
    externalURL = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TEXT)
    alerts = serializers.ListField(child=AlertSerializer(), max_length=MAX_ALERTS)

    def webhook(self) -> Webhook:
        data = self.validated_data
        return Webhook(
            group_key=data["groupKey"],
            alerts=[
                ReceivedAlert(
                    fingerprint=alert["fingerprint"],
                    firing=alert["status"] == "firing",
                    starts_at=alert["startsAt"],
                    labels=alert["labels"],
                    annotations=alert["annotations"],
                )
                for alert in data["alerts"]
            ],
            common_labels=data["commonLabels"],
            common_annotations=data["commonAnnotations"],
        )


class PayloadSerializer(serializers.ModelSerializer[Payload]):
    """What a received payload did."""

    payload = serializers.IntegerField(source="pk", read_only=True)
    received_at = IsoMsDateTimeField(read_only=True)

    class Meta:
        model = Payload
        fields = ["payload", "received_at", "outcome", "summary"]
        read_only_fields = fields
