"""Incidents and maintenance, the updates posted on them, postmortems and templates."""

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from components.models import Component, ComponentStatusChange
from statusportal.codes import CodeField
from statusportal.markdown import render_markdown


class Incident(models.Model):
    """Something that happened to (or is planned for) some components: an incident or a
    maintenance. Its status, timestamps and impact move only by posting updates
    (``incidents.services.post_update``)."""

    class Kind(models.TextChoices):
        INCIDENT = "incident", "Incident"
        MAINTENANCE = "maintenance", "Maintenance"

    class Status(models.TextChoices):
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Identified"
        MONITORING = "monitoring", "Monitoring"
        RESOLVED = "resolved", "Resolved"
        SCHEDULED = "scheduled", "Scheduled"
        IN_PROGRESS = "in_progress", "In progress"
        VERIFYING = "verifying", "Verifying"
        COMPLETED = "completed", "Completed"

    class Impact(models.TextChoices):
        NONE = "none", "None"
        MINOR = "minor", "Minor"
        MAJOR = "major", "Major"
        CRITICAL = "critical", "Critical"
        MAINTENANCE = "maintenance", "Maintenance"

    INCIDENT_STATUSES = (
        Status.INVESTIGATING,
        Status.IDENTIFIED,
        Status.MONITORING,
        Status.RESOLVED,
    )
    MAINTENANCE_STATUSES = (
        Status.SCHEDULED,
        Status.IN_PROGRESS,
        Status.VERIFYING,
        Status.COMPLETED,
    )
    CLOSED_STATUSES = (Status.RESOLVED, Status.COMPLETED)
    ACTIVE_MAINTENANCE_STATUSES = (Status.IN_PROGRESS, Status.VERIFYING)

    code = CodeField()
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.INCIDENT)
    status = models.CharField(max_length=16, choices=Status.choices)
    impact = models.CharField(
        max_length=16,
        choices=Impact.choices,
        default=Impact.NONE,
        help_text="Computed from the worst component status reached, unless overridden.",
    )
    impact_override = models.CharField(
        max_length=16,
        choices=Impact.choices,
        blank=True,
        default="",
        help_text="Set to fix the impact by hand instead of computing it.",
    )
    components = models.ManyToManyField(
        Component,
        blank=True,
        related_name="incidents",
        help_text="Components this incident affects.",
    )
    started_at = models.DateTimeField(default=timezone.now)
    monitoring_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Maintenance only.
    scheduled_for = models.DateTimeField(null=True, blank=True)
    scheduled_until = models.DateTimeField(null=True, blank=True)
    auto_start = models.BooleanField(
        default=False, help_text="Move to 'In progress' at the scheduled start."
    )
    auto_complete = models.BooleanField(
        default=False, help_text="Move to 'Completed' at the scheduled end."
    )
    remind_before = models.DurationField(
        null=True,
        blank=True,
        help_text="Email subscribers this long before the start.",
    )
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    planned_statuses = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="Maintenance only: {component code: status} chosen while it is scheduled; "
        "applied when it starts (components without one go under maintenance).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Not stored: what the reader pages set for their templates (incidents.pages).
    timeline: list[Any]
    latest_update: "IncidentUpdate | None"
    affected: str
    summary: str

    class Meta:
        verbose_name = "incident"
        ordering = ["-started_at", "-pk"]
        permissions = [("resolve_incident", "Can resolve incidents")]
        indexes = [
            # History pages and feeds: newest incidents first.
            models.Index(fields=["-started_at", "-id"], name="incidents_started_desc"),
            # Status page and summary.json: the unresolved incidents and open maintenance.
            models.Index(
                fields=["kind", "status"],
                name="incidents_open",
                condition=~Q(status__in=["resolved", "completed"]),
            ),
            # Uptime bars: the incidents that touched the last 90 days (resolved since
            # then, or open) without scanning the whole history.
            models.Index(fields=["resolved_at"], name="incidents_resolved_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(scheduled_until__isnull=True)
                | Q(scheduled_for__isnull=True)
                | Q(scheduled_until__gt=models.F("scheduled_for")),
                name="%(app_label)s_%(class)s_window_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/incidents/{self.code}/"

    @property
    def is_maintenance(self) -> bool:
        return self.kind == self.Kind.MAINTENANCE

    @property
    def is_closed(self) -> bool:
        return self.status in self.CLOSED_STATUSES

    @property
    def accepts_updates(self) -> bool:
        """Whether updates may still be posted: completed maintenance is over for good (a
        resolved incident, though, may be reopened by an update)."""
        return not (self.is_maintenance and self.status == self.Status.COMPLETED)

    @classmethod
    def statuses_for(cls, kind: str) -> tuple:
        return cls.MAINTENANCE_STATUSES if kind == cls.Kind.MAINTENANCE else cls.INCIDENT_STATUSES

    @classmethod
    def open_filter(cls) -> Q:
        """Unresolved incidents and maintenance not completed."""
        return ~Q(status__in=cls.CLOSED_STATUSES)


class RenderedBody(models.Model):
    """A Markdown ``body`` kept with its rendering, ``body_html`` (sanitised HTML): every
    path that writes the body (the services, the admin's correction with update_fields,
    imports calling ``render_body`` before a bulk insert) renders it here, once, so pages
    and emails never run the parser (docs/architecture.md, "Hostile input and access").
    Converting costs ~0.2 ms for an update, up to seconds for a long hostile postmortem."""

    body: str
    body_html: str

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "body" in update_fields:
            self.render_body()
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "body_html"}
        super().save(*args, **kwargs)

    def render_body(self) -> None:
        self.body_html = render_markdown(self.body)

    @property
    def html(self) -> SafeString:
        return body_as_html(self.body, self.body_html)


class IncidentUpdate(RenderedBody):
    """One message posted on an incident's timeline, with the status it moved to and the
    component statuses it changed."""

    code = CodeField()
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=16, choices=Incident.Status.choices)
    body = models.TextField(help_text="Markdown. Shown to customers and emailed.")
    body_html = models.TextField(
        blank=True,
        default="",
        editable=False,
        help_text="The body rendered and sanitised, written by save() whenever the body is.",
    )
    display_at = models.DateTimeField(
        default=timezone.now, help_text="When the update is shown as posted; may be back-dated."
    )
    deliver_notifications = models.BooleanField(default=True)
    affected_components = models.JSONField(
        default=list,
        blank=True,
        help_text="[{code, name, old_status, new_status}] for each component it changed.",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="incident_updates",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Not stored: set by incidents.pages.label_updates for the reader pages.
    label: str

    class Meta:
        verbose_name = "incident update"
        ordering = ["-display_at", "-pk"]
        get_latest_by = "display_at"
        indexes = [
            # An incident's timeline, newest first; "latest update" per incident.
            models.Index(fields=["incident", "-display_at", "-id"], name="incidents_upd_timeline"),
        ]

    def __str__(self) -> str:
        return f"{self.incident}: {self.get_status_display()}"


class StatusChangeCause(models.Model):
    """The incident update that caused a component status change.

    The history row belongs to components, which know nothing of incidents; the link
    belongs here. ``post_update`` writes one for each status it changes; a change made
    outside an incident (the console, the API) has none.
    """

    status_change = models.OneToOneField(
        ComponentStatusChange,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="cause",
    )
    incident_update = models.ForeignKey(
        IncidentUpdate,
        on_delete=models.CASCADE,
        related_name="status_change_causes",
        help_text="The update whose posting changed the status.",
    )

    class Meta:
        verbose_name = "status change cause"
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.status_change_id} caused by {self.incident_update}"


def body_as_html(body: str, body_html: str) -> SafeString:
    """An update's body as sanitised HTML: the stored rendering, or a fresh one for a row
    written without save() (a bulk load) that has none yet."""
    if body_html or not body:
        return mark_safe(body_html)  # sanitised by render_markdown when stored
    return render_markdown(body)


class Postmortem(RenderedBody):
    """The write-up of an incident after it is resolved; a draft until published."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="postmortem")
    body = models.TextField(help_text="Markdown.")
    body_html = models.TextField(
        blank=True,
        default="",
        editable=False,
        help_text="The body rendered and sanitised, written by save() whenever the body is.",
    )
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty while the postmortem is a draft."
    )
    notify_subscribers = models.BooleanField(
        default=False, help_text="Whether subscribers were emailed when it was published."
    )
    notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="postmortems",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "postmortem"
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return f"Postmortem: {self.incident}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class IncidentTemplate(models.Model):
    """A canned incident (title, message, status, components) that prefills the admin's
    "Post an update" form, so that common outages are posted in seconds."""

    code = CodeField()
    name = models.CharField(max_length=200, unique=True, help_text="Shown in the template menu.")
    title = models.CharField(max_length=255, blank=True, help_text="Incident name to prefill.")
    body = models.TextField(help_text="Markdown message to prefill.")
    status = models.CharField(
        max_length=16, choices=Incident.Status.choices, default=Incident.Status.INVESTIGATING
    )
    component_status = models.CharField(
        max_length=32,
        choices=Component.Status.choices,
        blank=True,
        help_text="Status to prefill for the template's components.",
    )
    components = models.ManyToManyField(Component, blank=True, related_name="+")

    class Meta:
        verbose_name = "incident template"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MaintenanceManager(models.Manager["Maintenance"]):
    def get_queryset(self) -> "models.QuerySet[Maintenance]":
        return super().get_queryset().filter(kind=Incident.Kind.MAINTENANCE)


class Maintenance(Incident):
    """Scheduled maintenance: the same rows as Incident (kind="maintenance"), as a model of
    its own so that the console lists and schedules it apart from incidents."""

    objects: ClassVar[MaintenanceManager] = MaintenanceManager()

    class Meta:
        proxy = True
        verbose_name = "maintenance"
        verbose_name_plural = "maintenance"
        ordering = ["-scheduled_for", "-pk"]
