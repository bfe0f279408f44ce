"""Email subscribers of the page and of single incidents, through
``subscriptions.services`` (double opt-in unless the key skips the confirmation)."""

from typing import Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from components.models import Component
from incidents.models import Incident
from manageapi import shapes
from manageapi.base import ManageView, get_or_404, page_slice
from manageapi.envelope import unwrap
from manageapi.serializers import SubscriberInput, valid
from subscriptions import services
from subscriptions.models import Subscriber

State = Subscriber.State

# What ``state`` selects; Statuspage leaves quarantined subscribers out unless asked.
STATES = {
    "active": [State.ACTIVE],
    "unconfirmed": [State.UNCONFIRMED],
    "quarantined": [State.QUARANTINED],
    "unsubscribed": [State.UNSUBSCRIBED],
    "all": [State.ACTIVE, State.UNCONFIRMED, State.QUARANTINED],
}
TYPES = ("email", "sms", "webhook", "slack", "integration_partner")


def subscribers() -> QuerySet[Subscriber]:
    """Subscribers with what ``shapes.subscriber`` reads, in a fixed number of queries."""
    return Subscriber.objects.prefetch_related(
        "components",
        Prefetch("groups__components", queryset=Component.objects.order_by("position", "pk")),
    ).order_by("created_at", "pk")


def choice(request: Request, name: str, accepted: tuple[str, ...] | list[str], default: str) -> str:
    value = request.query_params.get(name) or default
    if value not in accepted:
        raise exceptions.ValidationError(
            {name: [f"“{value[:64]}” is not accepted; use one of: {', '.join(accepted)}."]}
        )
    return value


def checked_input(request: Request) -> dict[str, Any]:
    """An email subscriber's fields; other kinds are answered with what we lack."""
    data = valid(SubscriberInput, unwrap(request, "subscriber"))
    if data.get("endpoint"):
        raise exceptions.ValidationError(
            {"endpoint": ["Webhook subscribers are not supported yet by statusportal."]}
        )
    if data.get("phone_number"):
        raise exceptions.ValidationError(
            {"phone_number": ["SMS subscribers are not supported by statusportal."]}
        )
    if data.get("page_access_user"):
        raise exceptions.ValidationError(
            {"page_access_user": ["Page access users are not supported by statusportal."]}
        )
    if not data.get("email"):
        raise exceptions.ValidationError({"email": ["Give the subscriber's email address."]})
    return data


def subscribe(data: dict[str, Any], *, incident: Incident | None = None) -> Subscriber:
    """Subscribe as an operator does: active at once when the key skips the
    confirmation, else the double opt-in email (``add_subscriber`` decides which)."""
    skip = data["skip_confirmation_notification"]
    subscriber = services.add_subscriber(
        data["email"],
        components=data.get("component_ids"),
        incident=incident,
        confirmed=skip,
        send_confirmation=not skip,
    )
    return subscribers().get(pk=subscriber.pk)


class SubscriberList(ManageView):
    """``GET``: subscribers (``type``, ``state``, ``q``, ``limit``, ``page``), oldest
    first; ``POST``: subscribe an address."""

    model = Subscriber

    def get(self, request: Request, page_id: str) -> Response:
        kind = choice(request, "type", TYPES, "email")
        state = choice(request, "state", list(STATES), "active")
        found = subscribers().filter(state__in=STATES[state])
        text = request.query_params.get("q", "").strip()
        if "\x00" in text:
            raise exceptions.ParseError("“q” cannot hold NUL.")
        if text:
            found = found.filter(email__icontains=text[:254])
        if kind != "email":
            found = found.none()
        listed = page_slice(request, found, size_param="limit")
        return Response([shapes.subscriber(s) for s in listed])

    def post(self, request: Request, page_id: str) -> Response:
        data = checked_input(request)
        return Response(shapes.subscriber(subscribe(data)), status=status.HTTP_201_CREATED)


class UnsubscribedList(ManageView):
    """Subscribers who left (``page``, ``per_page``)."""

    model = Subscriber

    def get(self, request: Request, page_id: str) -> Response:
        found = subscribers().filter(state=State.UNSUBSCRIBED)
        return Response([shapes.subscriber(s) for s in page_slice(request, found)])


class SubscriberCount(ManageView):
    """How many subscribers, by type (only email exists here)."""

    model = Subscriber

    def get(self, request: Request, page_id: str) -> Response:
        kind = request.query_params.get("type")
        if kind is not None:
            choice(request, "type", TYPES, "email")
        state = choice(request, "state", list(STATES), "all")
        emails = Subscriber.objects.filter(state__in=STATES[state]).count()
        counts = dict.fromkeys(TYPES, 0)
        counts["email"] = emails
        if kind is not None:
            counts = {kind: counts[kind]}
        return Response(counts)


class SubscriberDetail(ManageView):
    """One subscriber; ``PATCH`` sets its components (none: everything); ``DELETE``
    unsubscribes it (the row stays, as after the one-click link)."""

    model = Subscriber

    def get(self, request: Request, page_id: str, code: str) -> Response:
        return Response(shapes.subscriber(get_or_404(subscribers(), code, "subscriber")))

    @transaction.atomic
    def patch(self, request: Request, page_id: str, code: str) -> Response:
        subscriber = get_or_404(Subscriber.objects.all(), code, "subscriber")
        data = valid(SubscriberInput, unwrap(request, "subscriber", required=False))
        services.set_scope(subscriber, data.get("component_ids"))
        return Response(shapes.subscriber(subscribers().get(pk=subscriber.pk)))

    def delete(self, request: Request, page_id: str, code: str) -> Response:
        subscriber = get_or_404(Subscriber.objects.all(), code, "subscriber")
        services.unsubscribe(subscriber)
        return Response(shapes.subscriber(subscribers().get(pk=subscriber.pk)))


class IncidentSubscriberList(ManageView):
    """Subscribers following one incident."""

    model = Subscriber

    def get(self, request: Request, page_id: str, code: str) -> Response:
        incident = get_or_404(Incident.objects.all(), code, "incident")
        found = subscribers().filter(incidents=incident).exclude(state=State.UNSUBSCRIBED)
        return Response([shapes.subscriber(s) for s in page_slice(request, found)])

    def post(self, request: Request, page_id: str, code: str) -> Response:
        incident = get_or_404(Incident.objects.all(), code, "incident")
        data = checked_input(request)
        data.pop("component_ids", None)
        subscriber = subscribe(data, incident=incident)
        return Response(shapes.subscriber(subscriber), status=status.HTTP_201_CREATED)


class IncidentSubscriberDetail(ManageView):
    model = Subscriber

    def _find(self, code: str, subscriber_code: str) -> tuple[Incident, Subscriber]:
        incident = get_or_404(Incident.objects.all(), code, "incident")
        subscriber = get_or_404(
            subscribers().filter(incidents=incident), subscriber_code, "subscriber of it"
        )
        return incident, subscriber

    def get(self, request: Request, page_id: str, code: str, subscriber_code: str) -> Response:
        _, subscriber = self._find(code, subscriber_code)
        return Response(shapes.subscriber(subscriber))

    def delete(self, request: Request, page_id: str, code: str, subscriber_code: str) -> Response:
        incident, subscriber = self._find(code, subscriber_code)
        services.unfollow_incident(subscriber, incident)
        return Response(shapes.subscriber(subscribers().get(pk=subscriber.pk)))
