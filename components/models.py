"""The catalogue of what the page reports on: components, their groups, and every status
change they went through (the source of uptime)."""

from django.db import models
from django.utils import timezone

from statusportal.codes import CodeField


class ComponentGroup(models.Model):
    """A heading on the status page that gathers related components (e.g. "API")."""

    code = CodeField()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Shown on hover next to the group.")
    position = models.PositiveIntegerField(
        default=0, help_text="Lower numbers come first on the page."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "component group"
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Component(models.Model):
    """One service or feature whose status customers follow (e.g. "Git Operations")."""

    class Status(models.TextChoices):
        OPERATIONAL = "operational", "Operational"
        DEGRADED_PERFORMANCE = "degraded_performance", "Degraded performance"
        PARTIAL_OUTAGE = "partial_outage", "Partial outage"
        MAJOR_OUTAGE = "major_outage", "Major outage"
        UNDER_MAINTENANCE = "under_maintenance", "Under maintenance"

        @property
        def severity(self) -> int:
            """Rank for "worst status" roll-ups: maintenance is bad news, outages worse."""
            return SEVERITY[self]

        @classmethod
        def label_of(cls, value: str | None, default: str = "") -> str:
            """The label of a stored status value; ``default`` for none, the raw value for
            one this version does not know (an old row, an imported value)."""
            if not value:
                return default
            try:
                return str(cls(value).label)
            except ValueError:
                return value

        @classmethod
        def worst(cls, statuses) -> "Component.Status":
            statuses = [cls(s) for s in statuses]
            return max(statuses, key=lambda s: s.severity, default=cls.OPERATIONAL)

    code = CodeField()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Shown on hover next to the name.")
    group = models.ForeignKey(
        ComponentGroup,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="components",
    )
    position = models.PositiveIntegerField(
        default=0, help_text="Order within its group (or among ungrouped components)."
    )
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.OPERATIONAL)
    showcase = models.BooleanField(
        default=True, help_text="Show 90 days of uptime bars for this component."
    )
    only_show_if_degraded = models.BooleanField(
        default=False, help_text="Hide from the page while the component is operational."
    )
    start_date = models.DateField(
        null=True,
        blank=True,
        help_text="Uptime is counted from this day; earlier days show as 'no data'.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "component"
        ordering = ["position", "name"]
        permissions = [("change_component_status", "Can change the status of a component")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        """Save, writing a ComponentStatusChange whenever the status differs from the
        stored one, by whatever path (admin, API, service, shell) it was changed."""
        old = getattr(self, "_stored_status", None)
        created = self._state.adding
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "status" in update_fields:
            kwargs["update_fields"] = {*update_fields, "updated_at"}
        super().save(*args, **kwargs)
        if created or old != self.status:
            ComponentStatusChange.objects.create(
                component=self,
                old_status=None if created else old,
                new_status=self.status,
                at=getattr(self, "_status_changed_at", None) or timezone.now(),
                incident_update=getattr(self, "_status_cause", None),
            )
        self._stored_status = self.status
        self._status_cause = None
        self._status_changed_at = None

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # Remember the stored status so save() can write a history row on any change.
        instance._stored_status = instance.__dict__.get("status")
        return instance

    def set_status(self, status, *, cause=None, at=None) -> bool:
        """Move to ``status``, recording ``cause`` (an IncidentUpdate) in the history.

        Saves only the status (and updated_at). Returns whether anything changed.
        """
        status = self.Status(status)
        if status == self.status:
            return False
        self.status = status
        self._status_cause = cause
        self._status_changed_at = at
        self.save(update_fields=["status"])
        return True


SEVERITY = {
    Component.Status.OPERATIONAL: 0,
    Component.Status.UNDER_MAINTENANCE: 1,
    Component.Status.DEGRADED_PERFORMANCE: 2,
    Component.Status.PARTIAL_OUTAGE: 3,
    Component.Status.MAJOR_OUTAGE: 4,
}


class ComponentStatusChange(models.Model):
    """One status transition of a component; uptime is computed from these rows."""

    component = models.ForeignKey(
        Component, on_delete=models.CASCADE, related_name="status_changes"
    )
    old_status = models.CharField(
        max_length=32, choices=Component.Status.choices, null=True, blank=True
    )
    new_status = models.CharField(max_length=32, choices=Component.Status.choices)
    at = models.DateTimeField(default=timezone.now, db_index=False)
    incident_update = models.ForeignKey(
        "incidents.IncidentUpdate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="status_changes",
        help_text="The incident update that caused the change, if any.",
    )

    class Meta:
        verbose_name = "component status change"
        ordering = ["-at", "-pk"]
        get_latest_by = "at"
        indexes = [
            # Uptime: "changes of these components between two instants", and "the last
            # change before an instant" for the status at the start of a window.
            models.Index(fields=["component", "at"], name="components_change_comp_at"),
        ]

    def __str__(self) -> str:
        return f"{self.component}: {self.old_status or '—'} → {self.new_status}"
