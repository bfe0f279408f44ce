"""Subscribers and the notification outbox.

A ``Subscriber`` is one endpoint of one channel (an email address, a webhook URL, a Slack
or Microsoft Teams incoming-webhook URL) with a scope (everything, chosen components or
groups, and/or single incidents). A ``NotificationEvent`` is something worth notifying
about (an update posted with delivery on, a postmortem published with notify on, a
maintenance reminder, a component's status change); it is written in the same
transaction as the change it reports. A ``Delivery`` is one (event, subscriber) message:
the outbox row exists before the send and records its outcome after it (see
docs/architecture.md, 'The outbox').
"""

import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from components.models import Component, ComponentGroup, ComponentStatusChange
from incidents.models import Incident, IncidentUpdate, Postmortem
from statusportal.codes import CodeField
from subscriptions.egress import check_endpoint


def new_token() -> str:
    """An unguessable secret for confirm/manage/unsubscribe links (about 256 bits).

    Random, not derived from the email: a link never reveals whose it is."""
    return secrets.token_urlsafe(32)


def new_secret() -> str:
    """The key a webhook subscriber checks our signatures with (256 bits, hex)."""
    return secrets.token_hex(32)


class Subscriber(models.Model):
    """One endpoint that hears about incidents (an email address, a webhook, a Slack or
    Teams channel), with what it chose to follow."""

    class State(models.TextChoices):
        UNCONFIRMED = "unconfirmed", "Unconfirmed"
        ACTIVE = "active", "Active"
        QUARANTINED = "quarantined", "Quarantined (bouncing)"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"
        SLACK = "slack", "Slack"
        TEAMS = "teams", "Microsoft Teams"

        @classmethod
        def over_http(cls) -> list["Subscriber.Channel"]:
            """Channels that POST to an endpoint URL."""
            return [cls.WEBHOOK, cls.SLACK, cls.TEAMS]

    code = CodeField()
    channel = models.CharField(
        max_length=16, choices=Channel.choices, default=Channel.EMAIL, db_index=True
    )
    email = models.EmailField(
        max_length=254,
        blank=True,
        help_text="Email subscribers: the address, unique whatever its case. Webhooks: the "
        "contact told about confirmation and quarantine. Slack and Teams: optional contact.",
    )
    # (A CharField: egress.check_endpoint is the one rule for what an endpoint may be.)
    endpoint = models.CharField(
        max_length=2000,
        blank=True,
        help_text="Webhook, Slack or Teams: the http(s) URL notifications are POSTed to.",
    )
    secret = models.CharField(
        max_length=64,
        blank=True,
        default="",
        editable=False,
        help_text="Webhooks: the key of the X-Statusportal-Signature HMAC.",
    )
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.UNCONFIRMED, db_index=True
    )
    all_components = models.BooleanField(
        default=True,
        help_text="Hear about every component, including ones added later. "
        "Off: only the chosen components and groups (and followed incidents).",
    )
    components = models.ManyToManyField(
        Component, blank=True, related_name="subscribers", help_text="Chosen components."
    )
    groups = models.ManyToManyField(
        ComponentGroup,
        blank=True,
        related_name="subscribers",
        help_text="Chosen groups: every component in them, including ones added later.",
    )
    incidents = models.ManyToManyField(
        Incident,
        blank=True,
        related_name="subscribers",
        help_text="Single incidents followed until they resolve.",
    )
    token = models.CharField(
        max_length=64,
        unique=True,
        default=new_token,
        editable=False,
        help_text="Secret in manage and unsubscribe links; rotate it to revoke old links.",
    )
    hard_bounces = models.PositiveIntegerField(
        default=0, help_text="Permanent delivery failures in a row; too many quarantine."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "subscriber"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="%(app_label)s_%(class)s_unique_email_ci",
                condition=Q(channel="email"),
            ),
            models.UniqueConstraint(
                fields=["channel", "endpoint"],
                name="%(app_label)s_%(class)s_unique_endpoint",
                condition=~Q(channel="email"),
            ),
        ]

    def __str__(self) -> str:
        if self.channel == self.Channel.EMAIL:
            return self.email
        return f"{self.get_channel_display()}: {self.endpoint}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.channel == self.Channel.WEBHOOK and not self.secret:
            self.secret = new_secret()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "secret"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """What each channel needs: an email address, or an endpoint that may be sent to
        (and for a webhook, a contact address). The admin's form enforces it; the
        services check the same before they write."""
        if self.channel == self.Channel.EMAIL:
            if not self.email:
                raise ValidationError({"email": "Enter the email address."}, code="required")
            if self.endpoint:
                raise ValidationError(
                    {"endpoint": "An email subscriber has no endpoint."}, code="invalid"
                )
            return
        if not self.endpoint:
            raise ValidationError({"endpoint": "Enter the URL to post to."}, code="required")
        if self.channel == self.Channel.WEBHOOK and not self.email:
            raise ValidationError(
                {"email": "A webhook needs a contact email address."}, code="required"
            )
        self.endpoint = check_endpoint(self.endpoint)

    @property
    def address(self) -> str:
        """Where this subscriber's notifications go: the email address or the URL."""
        return self.email if self.channel == self.Channel.EMAIL else self.endpoint

    @property
    def over_http(self) -> bool:
        return self.channel in self.Channel.over_http()

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE


class NotificationEvent(models.Model):
    """Something subscribers are notified about, recorded in the transaction that made it.

    The fan-out reads it to create one Delivery per recipient; ``fanned_out_at`` stays
    empty until every recipient has a row, so the sweeper can finish an interrupted
    fan-out (for example when the broker was down at posting time)."""

    class Kind(models.TextChoices):
        UPDATE = "update", "Incident update"
        POSTMORTEM = "postmortem", "Postmortem published"
        REMINDER = "reminder", "Maintenance reminder"
        COMPONENT = "component", "Component status changed"

    code = CodeField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    incident = models.ForeignKey(
        Incident,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_events",
        help_text="Empty for a component's status change.",
    )
    status_change = models.OneToOneField(
        ComponentStatusChange,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_event",
        help_text="A component's status change (heard by webhook subscribers).",
    )
    update = models.OneToOneField(
        IncidentUpdate,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_event",
    )
    postmortem = models.ForeignKey(
        Postmortem,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_events",
    )
    created_at = models.DateTimeField(default=timezone.now)
    fanout_cursor = models.BigIntegerField(
        default=0, editable=False, help_text="Last subscriber id the fan-out reached."
    )
    fanned_out_at = models.DateTimeField(
        null=True, blank=True, help_text="When every recipient had a delivery row."
    )

    class Meta:
        verbose_name = "notification event"
        ordering = ["-created_at", "-pk"]
        indexes = [
            # Sweeper: "events whose fan-out never finished".
            models.Index(
                fields=["created_at"],
                name="subscriptions_event_unfanned",
                condition=Q(fanned_out_at__isnull=True),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["incident"],
                condition=Q(kind="reminder"),
                name="%(app_label)s_%(class)s_unique_reminder",
            ),
        ]

    def __str__(self) -> str:
        if self.incident_id is None:
            return f"{self.get_kind_display()}: {self.status_change}"
        return f"{self.get_kind_display()}: {self.incident}"


class Delivery(models.Model):
    """One message of one event to one subscriber (by its channel), and what became of
    it."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (no longer subscribed)"

    event = models.ForeignKey(
        NotificationEvent,
        on_delete=models.CASCADE,
        related_name="deliveries",
        # No index of its own: the unique (event, subscriber) index serves "rows of an
        # event", and a bare event index tempted the planner, with statistics from a
        # quieter hour, into scanning every row of the event for each fan-out page.
        db_index=False,
    )
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(
        max_length=16,
        choices=Subscriber.Channel.choices,
        default=Subscriber.Channel.EMAIL,
        help_text="The subscriber's channel, copied at fan-out (send batches, counts).",
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(
        blank=True, default="", help_text="The mail server's or the endpoint's answer."
    )
    next_attempt_at = models.DateTimeField(
        default=timezone.now,
        help_text="Not sent before this; the sweeper re-enqueues pending rows past it.",
    )
    claim = models.CharField(
        max_length=32,
        blank=True,
        default="",
        editable=False,
        help_text="Which send task holds the row while it is sending.",
    )
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    lease_until = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="The claim holds the row until then (database clock); renewed as it sends.",
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "delivery"
        verbose_name_plural = "deliveries"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "subscriber"], name="%(app_label)s_%(class)s_unique_event_sub"
            ),
        ]
        indexes = [
            # Rows in flight, by id: the claim ("these ids, if pending"), a send task's
            # rows ("these ids, if sending"), the sweeper ("pending rows due, in id
            # order"; "sending rows claimed too long ago"). The id, not the due time,
            # follows the state so that every plan is bounded by the batch: on
            # (state, next_attempt_at) the claim could walk every pending row, each
            # batch of a large fan-out (O(backlog) per batch; bench/RESULTS.md).
            models.Index(
                fields=["state", "id"],
                name="subscriptions_delivery_flight",
                condition=Q(state__in=["pending", "sending"]),
            ),
            # Admin: delivery counts per event (per incident update).
            models.Index(fields=["event", "state"], name="subscriptions_delivery_event"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscriber_id} ({self.state})"


class SweeperRun(models.Model):
    """When the outbox sweeper last finished (one row): the admin index and /metrics warn
    when it stops running (no beat)."""

    finished_at = models.DateTimeField()
    runs = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = "sweeper run"

    def __str__(self) -> str:
        return f"sweep at {self.finished_at:%Y-%m-%d %H:%M:%S}"
