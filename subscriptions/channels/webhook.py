"""Webhooks: Statuspage's webhook JSON, signed with the subscriber's secret.

Every POST carries ``X-Statusportal-Signature: sha256=<hex HMAC-SHA256 of the body>``
keyed with the secret shown once when the subscription was confirmed, and
``X-Statusportal-Delivery``: the same id on every attempt of one delivery, so a receiver
can drop a repeat."""

import hashlib
import hmac

from subscriptions.channels.http import HttpChannel
from subscriptions.models import NotificationEvent, Subscriber
from subscriptions.payloads import Payload, webhook, webhook_test

SIGNATURE_HEADER = "X-Statusportal-Signature"
DELIVERY_HEADER = "X-Statusportal-Delivery"
EVENT_HEADER = "X-Statusportal-Event"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery_id(prepared: Payload, subscriber: Subscriber) -> str:
    """Stable across attempts: the event's code and the subscriber's."""
    return f"{prepared.event_code}.{subscriber.code}"


class WebhookChannel(HttpChannel):
    name = Subscriber.Channel.WEBHOOK.value

    def prepare(self, event: NotificationEvent) -> Payload:
        return webhook(event)

    def headers(self, prepared: Payload, subscriber: Subscriber, body: bytes) -> dict[str, str]:
        kind = "component.update" if "component" in prepared.data else "incident.update"
        return {
            SIGNATURE_HEADER: signature(subscriber.secret, body),
            DELIVERY_HEADER: delivery_id(prepared, subscriber),
            EVENT_HEADER: kind,
        }

    def prepare_test(self) -> Payload:
        return webhook_test()
