"""Monitoring that moves component statuses: integrations and their tokens, what each
component allows automation to do (and its heartbeat), the alerts we know of, and every
payload received with what it did (see docs/architecture.md, "Driven by monitoring")."""

from typing import Any

from django.db import models, transaction
from django.utils import timezone

from components.models import Component
from incidents.models import Incident
from statusportal.models import HashedKey

# What monitoring may ask for: the outage statuses. "Operational" is where a component
# returns by itself, and maintenance belongs to operators and the timetable.
AUTOMATION_STATUSES = [
    Component.Status.DEGRADED_PERFORMANCE,
    Component.Status.PARTIAL_OUTAGE,
    Component.Status.MAJOR_OUTAGE,
]
AUTOMATION_STATUS_CHOICES = [(s.value, s.label) for s in AUTOMATION_STATUSES]


class Integration(models.Model):
    """A monitoring system allowed to move component statuses: a Prometheus Alertmanager,
    or the heartbeats of cron jobs and checkers. It posts with its own tokens."""

    class Kind(models.TextChoices):
        ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
        HEARTBEAT = "heartbeat", "Heartbeats"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(
        max_length=100, unique=True, help_text="Shown in the status history, e.g. 'prod-am'."
    )
    notify_subscribers = models.BooleanField(
        default=False,
        help_text="Incidents this integration opens, updates and resolves notify subscribers.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "integration"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class IntegrationToken(HashedKey):
    """A key an integration sends as ``Authorization: Bearer <key>``. Only its SHA-256 is
    kept; it opens only its integration's endpoint, never the rest of ``/api/v1``."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100, help_text="Where the key is used, e.g. 'am-01'.")

    class Meta:
        verbose_name = "integration token"
        ordering = ["integration__name", "name"]

    def __str__(self) -> str:
        return f"{self.integration.name} / {self.name} ({self.prefix}…)"


class ComponentAutomation(models.Model):
    """What monitoring may do to one component: the automation switch, and the heartbeat
    it expects. A component without this row allows automation and expects no heartbeat.

    The heartbeat state (last heard, failing) is kept here too: the beat scheduler finds
    windows that passed without a heartbeat from these rows."""

    component = models.OneToOneField(Component, on_delete=models.CASCADE, related_name="automation")
    enabled = models.BooleanField(
        "automation on",
        default=True,
        help_text="Alertmanager and heartbeats may change this component's status. Off: "
        "what they send is recorded as ignored.",
    )
    heartbeat_window = models.DurationField(
        null=True,
        blank=True,
        help_text="Expect a heartbeat at least this often (e.g. 00:05:00). Empty: none.",
    )
    heartbeat_status = models.CharField(
        "status when the heartbeat fails",
        max_length=32,
        choices=AUTOMATION_STATUS_CHOICES,
        default=Component.Status.MAJOR_OUTAGE,
        help_text="Taken when a window passes without a heartbeat, or on success=false.",
    )
    heartbeat_since = models.DateTimeField(
        default=timezone.now,
        editable=False,
        help_text="When the window started counting (set when it changes).",
    )
    last_heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    heartbeat_failing = models.BooleanField(default=False, editable=False)
    heartbeat_error = models.CharField(max_length=500, blank=True, editable=False)

    class Meta:
        verbose_name = "component automation"
        verbose_name_plural = "component automation"
        ordering = ["component__name"]
        indexes = [
            # The beat scheduler: "windows that are not failing yet".
            models.Index(
                fields=["heartbeat_failing"],
                condition=models.Q(heartbeat_window__isnull=False),
                name="monitoring_heartbeat_watch",
            ),
        ]

    def __str__(self) -> str:
        return f"Automation of {self.component}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A new or changed window starts counting now (a window added to a component
        long after its last heartbeat must not fire at once)."""
        with transaction.atomic(savepoint=False):
            if self.pk is not None and kwargs.get("update_fields") is None:
                stored = (
                    ComponentAutomation.objects.filter(pk=self.pk)
                    .values_list("heartbeat_window", flat=True)
                    .first()
                )
                if stored != self.heartbeat_window:
                    self.heartbeat_since = timezone.now()
                    self.heartbeat_failing = False
            super().save(*args, **kwargs)


class Alert(models.Model):
    """The latest we heard of one Alertmanager alert (its ``fingerprint``): firing or
    resolved since ``starts_at``, the components it names and the status it asks for.

    Repeats and late deliveries are told apart with it: a payload that says what this
    row already says changes nothing, and one older than it (an earlier ``startsAt``, or
    "firing" for an alert already resolved) is ignored."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="alerts")
    fingerprint = models.CharField(max_length=64)
    group = models.ForeignKey(
        "AlertGroup", on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    firing = models.BooleanField()
    starts_at = models.DateTimeField()
    status = models.CharField(max_length=32, choices=AUTOMATION_STATUS_CHOICES)
    components = models.ManyToManyField(Component, related_name="alerts")
    name = models.CharField(max_length=200, blank=True, help_text="The alertname label.")
    labels = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "alert"
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "fingerprint"],
                name="%(app_label)s_%(class)s_unique_integration_fingerprint",
            ),
        ]

    def __str__(self) -> str:
        state = "firing" if self.firing else "resolved"
        return f"{self.name or self.fingerprint} ({state})"


class AlertGroup(models.Model):
    """One Alertmanager group (its ``groupKey``) and the incident opened for it, if its
    alerts asked for one (annotation ``statusportal_incident: "true"``)."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="alert_groups"
    )
    key_digest = models.CharField(max_length=64, help_text="SHA-256 of the groupKey.")
    group_key = models.TextField()
    incident = models.ForeignKey(
        Incident,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="alert_groups",
        help_text="The incident monitoring opened for this group.",
    )
    firing = models.JSONField(
        default=list, blank=True, help_text="Fingerprints firing at the incident's last update."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "alert group"
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "key_digest"],
                name="%(app_label)s_%(class)s_unique_integration_key",
            ),
        ]

    def __str__(self) -> str:
        return self.group_key[:100]


class Payload(models.Model):
    """One request an integration sent, and what it did. The last
    ``MONITORING_PAYLOADS_KEPT`` of each integration are kept."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Applied"
        UNCHANGED = "unchanged", "No change"
        IGNORED = "ignored", "Ignored"
        REJECTED = "rejected", "Rejected"

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="payloads")
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    summary = models.TextField(blank=True, help_text="What it did, or why it was refused.")
    body = models.JSONField(default=dict, blank=True, help_text="What was received.")

    class Meta:
        verbose_name = "received payload"
        ordering = ["-pk"]
        indexes = [
            # The Automation page and the pruning: "the latest payloads of an integration".
            models.Index(fields=["integration", "-id"], name="monitoring_payload_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.integration.name} {self.received_at:%Y-%m-%d %H:%M:%S}: {self.outcome}"


class Automation(Integration):
    """The admin's "Automation" page (a view over integrations, payloads and component
    automation); a proxy so that it has its own entry and view permission."""

    class Meta:
        proxy = True
        verbose_name = "automation"
        verbose_name_plural = "automation"
