"""``/api/v1/subscribers/``: list, add and remove subscribers (administrators only)."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from incidents.models import Incident
from statusportal.api.idempotency import idempotent
from subscriptions import services
from subscriptions.api.filtersets import SubscriberFilterSet
from subscriptions.api.serializers import SubscriberCreateSerializer, SubscriberSerializer
from subscriptions.models import Subscriber


class SubscriberViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Subscriber],
):
    """Subscribers' addresses are private: even reading needs ``view_subscriber``."""

    private = True
    queryset = Subscriber.objects.prefetch_related("components", "groups", "incidents")
    serializer_class = SubscriberSerializer
    filterset_class = SubscriberFilterSet
    lookup_field = "code"
    ordering_fields = ["created_at", "email"]

    @extend_schema(
        request=SubscriberCreateSerializer,
        responses={201: SubscriberSerializer},
        summary="Add a subscriber",
    )
    @idempotent
    def create(self, request: Request) -> Response:
        """Subscribe an address (an existing one is updated, not duplicated)."""
        serializer = SubscriberCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        incident = None
        if data["incident"]:
            incident = Incident.objects.filter(code=data["incident"]).first()
            if incident is None:
                raise ValidationError({"incident": [f"Unknown incident code: {data['incident']}."]})
        if data["channel"] == Subscriber.Channel.EMAIL:
            subscriber = services.add_subscriber(
                data["email"],
                components=data["components"],
                incident=incident,
                confirmed=data["skip_confirmation"],
                send_confirmation=not data["skip_confirmation"],
            )
        else:
            subscriber = services.add_endpoint_subscriber(
                data["channel"],
                data["endpoint"],
                email=data["email"],
                components=data["components"],
                confirmed=data["skip_confirmation"],
                send_confirmation=not data["skip_confirmation"],
            )
        subscriber = self.get_queryset().get(pk=subscriber.pk)
        body = dict(self.get_serializer(subscriber).data)
        if data["skip_confirmation"] and subscriber.channel == Subscriber.Channel.WEBHOOK:
            body["secret"] = subscriber.secret  # the one time a script can read it
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: Subscriber) -> None:
        services.remove_subscriber(instance)
