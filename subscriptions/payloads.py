"""What the HTTP channels POST: Statuspage's webhook JSON, a Slack Block Kit message and a
Microsoft Teams Adaptive Card (see docs/architecture.md, 'Subscriptions').

Each is built once per event and send batch as a :class:`Payload` holding a placeholder
for the subscriber's link token; a subscriber's body is those bytes with its token
written in (``Payload.body_for``), as the email channel substitutes its placeholders.

The webhook JSON follows Statuspage's webhook format key by key and type by type
(``incident`` + ``incident_update`` events, and ``component`` + ``component_update``
for a component's status change), with our codes as ids and ``meta.unsubscribe`` the
subscriber's one-click unsubscribe link.

One concern, kept in one module although it passes 400 lines: the bodies the HTTP
channels POST, built the same way for the three formats.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from components.models import Component, ComponentStatusChange
from incidents.api import statuspage
from incidents.models import Incident, IncidentUpdate, Postmortem
from statusportal.markdown import markdown_to_text
from statusportal.timefmt import format_posted, iso_ms
from subscriptions import links
from subscriptions.models import NotificationEvent, Subscriber
from subscriptions.rendering import PLAIN_TOKEN, Placeholders

DOCUMENTATION = "https://support.atlassian.com/statuspage/docs/enable-webhook-notifications/"
# Slack limits: header text 150 characters, a section's text 3000.
SLACK_HEADER_MAX = 150
SLACK_TEXT_MAX = 3000


@dataclass(frozen=True)
class Payload:
    """A body rendered once, with a placeholder where each subscriber's token goes."""

    data: dict[str, Any]
    placeholder: str
    shared: bytes
    event_code: str = ""

    @classmethod
    def build(cls, data: dict[str, Any], placeholder: str, event_code: str = "") -> "Payload":
        return cls(data, placeholder, dumps(data), event_code)

    def body_for(self, subscriber: Subscriber) -> bytes:
        if PLAIN_TOKEN.fullmatch(subscriber.token):
            return self.shared.replace(self.placeholder.encode(), subscriber.token.encode())
        text = json.dumps(subscriber.token)[1:-1]  # (an unusual token, escaped for JSON)
        return self.shared.replace(self.placeholder.encode(), text.encode())


def dumps(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


# --- Statuspage's webhook JSON ---------------------------------------------------------


def webhook_meta(token: str) -> dict[str, Any]:
    return {
        "unsubscribe": links.unsubscribe_url(token),
        "documentation": DOCUMENTATION,
        "generated_at": iso_ms(timezone.now()),
    }


def webhook_page() -> dict[str, Any]:
    status = statuspage.status(
        statuspage.load_catalogue(), has_unresolved_incident=statuspage.has_open_incident()
    )
    return {
        "id": statuspage.page_id(),
        "status_indicator": status["indicator"],
        "status_description": status["description"],
    }


def webhook_component(c: Component) -> dict[str, Any]:
    return {
        "status": c.status,
        "name": c.name,
        "created_at": iso_ms(c.created_at),
        "updated_at": iso_ms(c.updated_at),
        "position": c.position if c.position is not None else 0,
        "description": c.description or None,
        "showcase": c.showcase,
        "id": c.code,
        "page_id": statuspage.page_id(),
        "group_id": c.group.code if c.group is not None else None,
    }


def webhook_update(u: IncidentUpdate, incident: Incident) -> dict[str, Any]:
    return {
        "status": u.status,
        "body": u.body,
        "created_at": iso_ms(u.created_at),
        "wants_twitter_update": False,
        "twitter_updated_at": None,
        "updated_at": iso_ms(u.updated_at),
        "display_at": iso_ms(u.display_at),
        "affected_components": [
            {
                "code": str(entry.get("code", "")),
                "name": str(entry.get("name", "")),
                "old_status": str(entry.get("old_status") or entry.get("new_status") or ""),
                "new_status": str(entry.get("new_status", "")),
            }
            for entry in u.affected_components or ()
        ],
        "custom_tweet": None,
        "deliver_notifications": u.deliver_notifications,
        "id": u.code,
        "incident_id": incident.code,
    }


def webhook_incident(i: Incident) -> dict[str, Any]:
    postmortem = Postmortem.objects.filter(incident=i).first()
    published = postmortem is not None and postmortem.published_at is not None
    status = i.status
    if published and status == Incident.Status.RESOLVED:
        status = "postmortem"
    updates = i.updates.order_by("-display_at", "-pk")
    components = Component.objects.in_page_order().filter(pk__in=i.components.all())
    return {
        "name": i.name,
        "status": status,
        "created_at": iso_ms(i.created_at),
        "updated_at": iso_ms(i.updated_at),
        "monitoring_at": iso_ms(i.monitoring_at),
        "resolved_at": iso_ms(i.resolved_at),
        "impact": i.impact,
        "shortlink": links.absolute(i.get_absolute_url()),
        "postmortem_ignored": False,
        "postmortem_body": postmortem.body if published and postmortem else None,
        "postmortem_body_last_updated_at": (
            iso_ms(postmortem.updated_at) if published and postmortem else None
        ),
        "postmortem_published_at": (
            iso_ms(postmortem.published_at) if published and postmortem else None
        ),
        "postmortem_notified_subscribers": bool(postmortem and postmortem.notified_at),
        "postmortem_notified_twitter": False,
        "backfilled": False,
        "scheduled_for": iso_ms(i.scheduled_for),
        "scheduled_until": iso_ms(i.scheduled_until),
        "scheduled_remind_prior": i.remind_before is not None,
        "scheduled_reminded_at": iso_ms(i.reminded_at),
        "impact_override": i.impact_override or None,
        "scheduled_auto_in_progress": i.auto_start,
        "scheduled_auto_completed": i.auto_complete,
        "id": i.code,
        "page_id": statuspage.page_id(),
        "incident_updates": [webhook_update(u, i) for u in updates],
        "components": [webhook_component(c) for c in components],
    }


def webhook_component_update(
    event: NotificationEvent, change: ComponentStatusChange
) -> dict[str, Any]:
    return {
        "old_status": change.old_status or change.new_status,
        "new_status": change.new_status,
        "created_at": iso_ms(change.at),
        "component_type": "Component",
        "id": event.code,
        "component_id": change.component.code,
    }


def webhook(event: NotificationEvent) -> Payload:
    """Statuspage's webhook body for ``event``."""
    placeholder = Placeholders.new().token
    data: dict[str, Any] = {"meta": webhook_meta(placeholder), "page": webhook_page()}
    if event.kind == NotificationEvent.Kind.COMPONENT:
        change = event.status_change
        assert change is not None  # (a component event has its change)
        data["component"] = webhook_component(change.component)
        data["component_update"] = webhook_component_update(event, change)
    else:
        assert event.incident is not None  # (every other event is about an incident)
        data["incident"] = webhook_incident(event.incident)
    return Payload.build(data, placeholder, event.code)


# --- Chat messages (Slack, Teams) -------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """What a chat message says about an event."""

    title: str
    status: str
    body: str
    affected: list[tuple[str, str]]  # (component name, status label)
    url: str
    when: str


def message(event: NotificationEvent) -> Message:
    incident = event.incident
    assert incident is not None  # (chat channels hear about incidents only)
    url = links.absolute(incident.get_absolute_url())
    if event.kind == NotificationEvent.Kind.UPDATE and event.update is not None:
        update = event.update
        return Message(
            title=incident.name,
            status=update.get_status_display(),
            body=markdown_to_text(update.body).strip(),
            affected=[
                (str(e.get("name", "")), Component.Status.label_of(e.get("new_status")))
                for e in update.affected_components or ()
            ],
            url=url,
            when=format_posted(update.display_at),
        )
    if event.kind == NotificationEvent.Kind.POSTMORTEM and event.postmortem is not None:
        postmortem = event.postmortem
        return Message(
            title=incident.name,
            status="Postmortem",
            body=markdown_to_text(postmortem.body).strip(),
            affected=[],
            url=url,
            when=format_posted(postmortem.published_at or timezone.now()),
        )
    starts = format_posted(incident.scheduled_for) if incident.scheduled_for else "soon"
    return Message(
        title=incident.name,
        status="Maintenance reminder",
        body=f"Scheduled maintenance starts {starts}.",
        affected=[(c.name, "") for c in incident.components.all()],
        url=url,
        when=starts,
    )


SLACK_SPECIAL = re.compile(r"[&<>]")


def slack_escape(text: str) -> str:
    """Text for Slack's mrkdwn: &, < and > are its only control characters."""
    return SLACK_SPECIAL.sub(lambda m: {"&": "&amp;", "<": "&lt;", ">": "&gt;"}[m.group()], text)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_blocks(m: Message, unsubscribe: str) -> dict[str, Any]:
    """A Block Kit message (incoming webhook): header, status, body, components, link."""
    page = settings.STATUSPAGE_NAME
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(f"{m.status}: {m.title}", 150)},
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Status*\n{slack_escape(m.status)}"},
                {"type": "mrkdwn", "text": f"*When*\n{slack_escape(m.when)}"},
            ],
        },
    ]
    if m.body:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _cut(slack_escape(m.body), SLACK_TEXT_MAX)},
            }
        )
    if m.affected:
        names = ", ".join(f"{n} ({s})" if s else n for n, s in m.affected)
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": _cut(f"*Affected:* {slack_escape(names)}", 3000)}
                ],
            }
        )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "View on the status page"},
                    "url": m.url,
                }
            ],
        }
    )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"{slack_escape(page)} status · "
                    f"<{unsubscribe}|Unsubscribe this channel>",
                }
            ],
        }
    )
    return {"text": _cut(f"{m.status}: {m.title} — {page} status", 3000), "blocks": blocks}


def teams_card(m: Message, unsubscribe: str) -> dict[str, Any]:
    """A Teams message with one Adaptive Card, as a Workflows webhook takes it."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": m.title,
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        {
            "type": "TextBlock",
            "text": f"{m.status} · {m.when}",
            "isSubtle": True,
            "spacing": "None",
            "wrap": True,
        },
    ]
    if m.body:
        body.append({"type": "TextBlock", "text": m.body, "wrap": True})
    if m.affected:
        body.append(
            {
                "type": "FactSet",
                "facts": [{"title": n, "value": s or "Affected"} for n, s in m.affected],
            }
        )
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [
            {"type": "Action.OpenUrl", "title": "View on the status page", "url": m.url},
            {"type": "Action.OpenUrl", "title": "Unsubscribe this channel", "url": unsubscribe},
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def slack(event: NotificationEvent) -> Payload:
    placeholder = Placeholders.new().token
    data = slack_blocks(message(event), links.unsubscribe_url(placeholder))
    return Payload.build(data, placeholder, event.code)


def teams(event: NotificationEvent) -> Payload:
    placeholder = Placeholders.new().token
    data = teams_card(message(event), links.unsubscribe_url(placeholder))
    return Payload.build(data, placeholder, event.code)


def chat_confirmation(subscriber: Subscriber, confirm_url: str) -> bytes:
    """The message posted into a Slack or Teams channel to confirm its subscription:
    whoever can read the channel follows the link to start notifications."""
    m = Message(
        title=f"Confirm notifications from {settings.STATUSPAGE_NAME} status",
        status="Subscription",
        body="Someone asked to post status updates into this channel. Nothing is posted "
        "until the subscription is confirmed; ignore this message to decline.",
        affected=[],
        url=confirm_url,
        when=format_posted(timezone.now()),
    )
    unsubscribe = links.unsubscribe_url(subscriber.token)
    if subscriber.channel == Subscriber.Channel.TEAMS:
        data = teams_card(m, unsubscribe)
        data["attachments"][0]["content"]["actions"][0]["title"] = "Confirm"
    else:
        data = slack_blocks(m, unsubscribe)
        data["blocks"][-2]["elements"][0]["text"]["text"] = "Confirm"
    return dumps(data)


# --- Test messages (the admin's "send test") ---------------------------------------------


def webhook_test() -> Payload:
    """A component update of the page's first component, its status unchanged: what a
    receiver will get, signed the same way."""
    placeholder = Placeholders.new().token
    data: dict[str, Any] = {"meta": webhook_meta(placeholder), "page": webhook_page()}
    first = Component.objects.in_page_order().first()
    if first is not None:
        data["component"] = webhook_component(first)
        data["component_update"] = {
            "old_status": first.status,
            "new_status": first.status,
            "created_at": iso_ms(timezone.now()),
            "component_type": "Component",
            "id": "test",
            "component_id": first.code,
        }
    return Payload.build(data, placeholder, "test")


def chat_test(channel: str) -> Payload:
    placeholder = Placeholders.new().token
    m = Message(
        title=f"Test message from {settings.STATUSPAGE_NAME} status",
        status="Test",
        body="Notifications reach this channel.",
        affected=[],
        url=settings.STATUSPAGE_URL + "/",
        when=format_posted(timezone.now()),
    )
    unsubscribe = links.unsubscribe_url(placeholder)
    if channel == Subscriber.Channel.TEAMS:
        return Payload.build(teams_card(m, unsubscribe), placeholder, "test")
    return Payload.build(slack_blocks(m, unsubscribe), placeholder, "test")
