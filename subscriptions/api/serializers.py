"""Subscribers as administrators see them through the API (never their link secret)."""

from typing import Any

from rest_framework import serializers

from components.models import Component, ComponentGroup
from incidents.models import Incident
from statusportal.api.fields import TimestampedModelSerializer
from subscriptions.models import Subscriber


class SubscriberSerializer(TimestampedModelSerializer):
    components: "serializers.SlugRelatedField[Component]" = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )
    groups: "serializers.SlugRelatedField[ComponentGroup]" = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )
    incidents: "serializers.SlugRelatedField[Incident]" = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )

    class Meta:
        model = Subscriber
        fields = [
            "code",
            "channel",
            "email",
            "endpoint",
            "state",
            "all_components",
            "components",
            "groups",
            "incidents",
            "created_at",
            "confirmed_at",
            "unsubscribed_at",
        ]
        read_only_fields = fields


class SubscriberCreateSerializer(serializers.Serializer[Any]):
    """Subscribe an address (or a webhook, Slack or Teams endpoint), by default to
    everything and with the double opt-in (a webhook's contact gets the confirm email, a
    Slack or Teams channel a message with the link). A webhook's signing secret is in
    the answer (``secret``) when it is created active (``skip_confirmation``): keep it,
    it is not shown again."""

    channel = serializers.ChoiceField(
        choices=Subscriber.Channel.choices,
        default=Subscriber.Channel.EMAIL,
        help_text="email (the default), webhook, slack or teams.",
    )
    email = serializers.EmailField(
        max_length=254,
        required=False,
        default="",
        help_text="The address (email); the contact (webhook, required); optional for "
        "Slack and Teams.",
    )
    endpoint = serializers.CharField(
        max_length=2000,
        required=False,
        default="",
        help_text="webhook, slack, teams: the URL notifications are POSTed to.",
    )
    components = serializers.ListField(
        child=serializers.CharField(max_length=12),
        required=False,
        allow_null=True,
        default=None,
        help_text="Codes of components or groups to follow; null or absent: everything.",
    )
    incident = serializers.CharField(
        max_length=12,
        required=False,
        allow_null=True,
        default=None,
        help_text="Code of a single incident to follow.",
    )
    skip_confirmation = serializers.BooleanField(
        default=False,
        help_text="Activate at once without the confirmation email (you vouch for the "
        "address, e.g. when importing a list).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        email_channel = attrs["channel"] == Subscriber.Channel.EMAIL
        if email_channel and not attrs["email"]:
            raise serializers.ValidationError({"email": ["This field is required."]})
        if not email_channel and not attrs["endpoint"]:
            raise serializers.ValidationError({"endpoint": ["This field is required."]})
        if not email_channel and attrs["incident"]:
            raise serializers.ValidationError(
                {"incident": ["Endpoints follow components, not single incidents."]}
            )
        return attrs
