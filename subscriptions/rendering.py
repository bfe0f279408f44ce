"""Every email the portal sends, built by one function from three templates per kind:
``emails/<kind>-subject.txt``, ``emails/<kind>-body.txt`` and ``emails/<kind>-body.html``.

Kinds: ``confirm`` (double opt-in), ``manage`` (an active subscriber signed up again),
``update`` (an incident or maintenance update), ``postmortem``, ``reminder`` (maintenance
starts soon); to a webhook's contact: ``webhook-confirm`` and ``endpoint-quarantined``.

Notifications go to thousands of subscribers at once and are the same for all of them
but for a few values: the secret token in the manage and unsubscribe links, the
subscriber's code in the threading Message-IDs, the To address and the Date. So a
:class:`NotificationContext` (one per event and send batch) renders the templates ONCE
with random :class:`Placeholders` for those values, and each recipient's email is made by
substituting the real values into the rendered strings (:func:`notification_email`), or,
for the SMTP backend, into the message bytes (``subscriptions.mime``).

Notification templates therefore see no ``subscriber``: only the shared values and the
placeholder ``manage_url`` / ``unsubscribe_url``.
"""

import dataclasses
import re
import secrets
from dataclasses import dataclass, field
from email.utils import formatdate
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from components.models import Component
from incidents.models import Incident
from incidents.pages import affected_line
from statusportal.markdown import markdown_to_text
from statusportal.timefmt import format_posted
from subscriptions import links, scope
from subscriptions.audience import event_component_ids
from subscriptions.models import NotificationEvent, Subscriber


def render_parts(kind: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Subject (one line), text body and HTML body of ``kind``."""
    context = {
        "page_name": settings.STATUSPAGE_NAME,
        "page_url": settings.STATUSPAGE_URL,
        **context,
    }
    subject: str = render_to_string(f"emails/{kind}-subject.txt", context)
    subject = " ".join(subject.split())  # one line, whatever the template's layout
    text = render_to_string(f"emails/{kind}-body.txt", context)
    html = render_to_string(f"emails/{kind}-body.html", context)
    return subject, text, html


# Headings of an update or postmortem body, as the sanitiser leaves them (no attributes).
BODY_HEADING = re.compile(r"<(/?)h([1-6])>")
# Font sizes of the body's headings, by their level once demoted: all below the email's
# title (an <h1> of 20px in every HTML template).
BODY_HEADING_PX = {2: 18, 3: 16, 4: 15, 5: 14, 6: 14}


def body_html(html: str) -> SafeString:
    """An update or postmortem body as the HTML of an email: its stored sanitised HTML
    (``.html``, rendered once when saved), each heading one level down and sized below the
    email's title (a mail client draws a bare <h1> at 32px, larger than the title)."""

    def demote(match: re.Match[str]) -> str:
        closing, level = match.group(1), min(int(match.group(2)) + 1, 6)
        if closing:
            return f"</h{level}>"
        return f'<h{level} style="font-size:{BODY_HEADING_PX[level]}px;margin:16px 0 4px">'

    # Safe: the pattern matches only tags the sanitiser wrote (text "<h1>" is escaped),
    # and the replacements are fixed strings.
    return mark_safe(BODY_HEADING.sub(demote, html))


def assemble(
    subject: str, text: str, html: str, *, to: str, headers: dict[str, str] | None = None
) -> EmailMultiAlternatives:
    """A text email with its HTML alternative, from the site's sender address."""
    message = EmailMultiAlternatives(
        subject, text, settings.DEFAULT_FROM_EMAIL, [to], headers=headers or {}
    )
    message.attach_alternative(html, "text/html")
    return message


def subscriber_email(
    subscriber: Subscriber,
    kind: str,
    *,
    incident: Incident | None = None,
    extra: dict[str, Any] | None = None,
) -> EmailMultiAlternatives:
    """The confirm email (double opt-in), the manage email (already subscribed), the
    webhook's confirm email and the "endpoint quarantined" email (to its contact)."""
    context = {
        **(extra or {}),
        "subscriber": subscriber,
        "incident": incident,
        "confirm_url": links.confirm_url(subscriber, incident),
        "manage_url": links.manage_url(subscriber.token),
        "max_age_hours": settings.SUBSCRIPTIONS_CONFIRM_MAX_AGE // 3600,
        "scope": scope.describe(subscriber, incident=incident),
    }
    headers = {"Auto-Submitted": "auto-generated"}
    return assemble(*render_parts(kind, context), to=subscriber.email, headers=headers)


def date_header() -> str:
    """The Date of a notification, written when it is sent (as Django would date it)."""
    return formatdate(localtime=settings.EMAIL_USE_LOCALTIME)


# --- Notifications: shared parts rendered once, per-subscriber values substituted -------

# Tokens and codes of the alphabet and length of the placeholders (see ``new_token`` and
# ``CodeField``): substituted verbatim. Anything else is rendered with its own values.
PLAIN_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
PLAIN_CODE = re.compile(r"[a-z0-9]{12}")


@dataclass(frozen=True)
class Placeholders:
    """Stand-ins for the per-subscriber values while the shared parts are rendered.

    Random for each context, so no incident text can contain (or forge) one. The token
    and code placeholders have the length of real ones (43 and 12 characters) and
    characters every encoding writes as themselves, so headers and bodies flatten, fold
    and wrap exactly as they would with real values."""

    token: str
    code: str
    to: str
    date: str

    @classmethod
    def new(cls) -> "Placeholders":
        return cls(
            token="tok" + secrets.token_hex(20),
            # "q" is no hex digit: never a substring of the token placeholder.
            code="q" + secrets.token_hex(6)[:11],
            to=f"to{secrets.token_hex(8)}@placeholder.invalid",
            # A real date (Python's email parser reads the Date header), random, of the
            # fixed length of every ``formatdate`` value.
            date=formatdate(secrets.randbelow(2**31)),
        )

    def named(self) -> dict[str, str]:
        return {"token": self.token, "code": self.code, "to": self.to, "date": self.date}


@dataclass(frozen=True)
class SharedParts:
    """A notification rendered with placeholders: what every recipient shares."""

    subject: str
    text: str
    html: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Wording:
    """What a notification says about its recipient: why they get it ("because you
    follow Checkout") and what they follow ("Checkout, Payments"). Subscribers with the
    same wording share one rendering."""

    reason: str
    scope: str


@dataclass
class NotificationContext:
    """What every recipient of one event shares: built once per send batch, so a batch
    of a hundred emails renders the Markdown and the templates once (once per wording:
    see ``for_subscriber``)."""

    event: NotificationEvent
    kind: str
    values: dict[str, Any] = field(default_factory=dict)
    # The Message-ID of the incident's first update opens the thread.
    opens_thread: bool = False
    placeholders: Placeholders = field(default_factory=Placeholders.new)
    # The components the event concerns (the reason line names the ones followed).
    component_ids: frozenset[int] = frozenset()
    wording: Wording | None = None
    variants: dict[Wording, "NotificationContext"] = field(default_factory=dict, repr=False)
    # Each subscriber's wording, by primary key: shared with the variants.
    wordings: dict[int, Wording] = field(default_factory=dict, repr=False)

    def wording_for(self, subscriber: Subscriber) -> Wording:
        wording = self.wordings.get(subscriber.pk)
        if wording is None:
            wording = self.wordings[subscriber.pk] = Wording(
                reason=scope.reason(subscriber, self.component_ids, self.event.incident_id or 0),
                scope=scope.describe(subscriber),
            )
        return wording

    def forget_subscribers(self) -> None:
        """Drop what was remembered per subscriber (for another batch of the same event);
        the wordings' variants, as many as there are distinct wordings, stay."""
        self.wordings.clear()

    def for_subscriber(self, subscriber: Subscriber) -> "NotificationContext":
        """This context with the subscriber's reason and scope: the same placeholders,
        rendered once for every subscriber with the same wording."""
        wording = self.wording_for(subscriber)
        if wording == self.wording:
            return self
        variant = self.variants.get(wording)
        if variant is None:
            variant = dataclasses.replace(self, wording=wording, variants={})
            self.variants[wording] = variant
        return variant

    @classmethod
    def for_event(cls, event: NotificationEvent) -> "NotificationContext":
        incident = event.incident
        assert incident is not None  # (emails are about incidents; status changes go to webhooks)
        values: dict[str, Any] = {
            "incident": incident,
            "incident_url": links.absolute(incident.get_absolute_url()),
            "is_maintenance": incident.is_maintenance,
        }
        if incident.is_maintenance and incident.scheduled_for and incident.scheduled_until:
            values["scheduled_for"] = format_posted(incident.scheduled_for)
            values["scheduled_until"] = format_posted(incident.scheduled_until)
        opens_thread = False
        if event.kind == NotificationEvent.Kind.UPDATE:
            update = event.update
            assert update is not None  # (an update's event has its update)
            values.update(
                update=update,
                status_label=update.get_status_display(),
                body_html=body_html(update.html),
                body_text=markdown_to_text(update.body),
                posted=format_posted(update.display_at),
                affected=[
                    {
                        "name": entry.get("name", ""),
                        "status": Component.Status.label_of(entry.get("new_status")),
                    }
                    for entry in update.affected_components or ()
                ],
            )
            first = incident.updates.order_by("created_at", "pk").values_list("pk", flat=True)
            opens_thread = first.first() == update.pk
            kind = "update"
        elif event.kind == NotificationEvent.Kind.POSTMORTEM:
            postmortem = event.postmortem
            assert postmortem is not None and postmortem.published_at is not None  # (published)
            values.update(
                status_label="Postmortem",
                body_html=body_html(postmortem.html),
                body_text=markdown_to_text(postmortem.body),
                posted=format_posted(postmortem.published_at),
            )
            kind = "postmortem"
        else:
            # The reminder repeats what the maintenance is about: its latest message and
            # the components it concerns, in page order.
            latest = incident.updates.order_by("-display_at", "-pk").first()
            values.update(
                status_label="Starts " + values.get("scheduled_for", "soon"),
                body_html=body_html(latest.html) if latest else "",
                body_text=markdown_to_text(latest.body) if latest else "",
                affects=affected_line(incident.components.select_related("group")),
            )
            kind = "reminder"
        return cls(
            event=event,
            kind=kind,
            values=values,
            opens_thread=opens_thread,
            component_ids=frozenset(event_component_ids(event)),
        )

    def render_for(self, token: str, code: str) -> SharedParts:
        """The parts with these token and code values (placeholders or real ones)."""
        values = {
            **self.values,
            "manage_url": links.manage_url(token),
            "unsubscribe_url": links.unsubscribe_url(token),
            "reason": self.wording.reason if self.wording else "",
            "scope": self.wording.scope if self.wording else "",
        }
        headers = {**links.list_headers(token), **self.thread_headers(code)}
        return SharedParts(*render_parts(self.kind, values), headers=headers)

    @cached_property
    def shared(self) -> SharedParts:
        """The parts rendered once, with the token and code placeholders."""
        return self.render_for(self.placeholders.token, self.placeholders.code)

    def thread_headers(self, code: str) -> dict[str, str]:
        """Message-ID / In-Reply-To / References so one incident's mails form one thread.

        The root id is fixed per (incident, subscriber ``code``); the first update's
        mail carries it, later ones reply to it. Ids are deterministic, so a retried or
        duplicated send keeps the same Message-ID (receivers can drop the duplicate)."""
        domain = links.mail_domain()
        incident = self.event.incident
        assert incident is not None  # (see for_event)
        root = f"<incident.{incident.code}.{code}@{domain}>"
        if self.opens_thread:
            return {"Message-ID": root}
        own = f"<{self.kind}.{self.event.code}.{code}@{domain}>"
        return {"Message-ID": own, "In-Reply-To": root, "References": root}


def substitutable(subscriber: Subscriber) -> bool:
    """Whether the subscriber's token and code may replace the placeholders verbatim:
    values of the placeholders' alphabet and length, which neither URL reversing nor
    HTML escaping changes. Others get the templates rendered with their own values."""
    return bool(PLAIN_TOKEN.fullmatch(subscriber.token) and PLAIN_CODE.fullmatch(subscriber.code))


def notification_email(
    context: NotificationContext, subscriber: Subscriber, *, date: str | None = None
) -> EmailMultiAlternatives:
    """The email of one event for one subscriber, dated ``date`` (now by default)."""
    context = context.for_subscriber(subscriber)
    if substitutable(subscriber):
        swaps = (
            (context.placeholders.token, subscriber.token),
            (context.placeholders.code, subscriber.code),
        )

        def fill(text: str) -> str:
            for placeholder, value in swaps:
                text = text.replace(placeholder, value)
            return text

        shared = context.shared
        parts = SharedParts(
            fill(shared.subject),
            fill(shared.text),
            fill(shared.html),
            {name: fill(value) for name, value in shared.headers.items()},
        )
    else:
        parts = context.render_for(subscriber.token, subscriber.code)
    return assemble(
        parts.subject,
        parts.text,
        parts.html,
        to=subscriber.email,
        headers={**parts.headers, "Date": date or date_header()},
    )
