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
            "email",
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
    """Subscribe an address, by default to everything and with the double opt-in email."""

    email = serializers.EmailField(max_length=254)
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
