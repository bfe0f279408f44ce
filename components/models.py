"""The catalogue of what the page reports on: components, their groups, and every status
change they went through (the source of uptime)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Case, F, Max, Value, When
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from components.signals import status_changed
from statusportal.codes import CodeField
from statusportal.models import ApiToken

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class ChangeSource(models.TextChoices):
    """Who or what moved a component's status (see docs/architecture.md, "Component
    status history")."""

    NOT_RECORDED = "", "Not recorded"  # rows written before sources were recorded
    OPERATOR = "operator", "Operator"
    API = "api", "API"
    ALERTMANAGER = "alertmanager", "Alertmanager"
    HEARTBEAT = "heartbeat", "Heartbeat"
    IMPORT = "import", "Import"
    SCHEDULE = "schedule", "Schedule"
    SYSTEM = "system", "System"


@dataclass(frozen=True)
class Origin:
    """Where a status change came from: recorded on its history row.

    ``actor`` names who or what acted (a user name, an API token, an integration);
    ``user_id`` is the person behind it when there is one; ``detail`` holds what an
    automation received (an alert's fingerprint, a heartbeat's error text).
    """

    source: str = ChangeSource.SYSTEM
    actor: str = ""
    user_id: int | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def operator(cls, user: "AbstractBaseUser | AnonymousUser | None") -> "Origin":
        """An operator's change (the console); without a user, the system's."""
        if user is None or not user.is_authenticated:
            return cls(ChangeSource.SYSTEM)
        return cls(ChangeSource.OPERATOR, actor=user.get_username(), user_id=user.pk)

    @classmethod
    def api(cls, token: "ApiToken") -> "Origin":
        """A change made through the API with ``token``."""
        return cls(
            ChangeSource.API,
            actor=f"{token.name} ({token.user.get_username()})",
            user_id=token.user_id,
        )

    @classmethod
    def acting(cls, user: "AbstractBaseUser | AnonymousUser | None", auth: object) -> "Origin":
        """An API request's origin: its token when it sent one (``request.auth``), else
        the signed-in operator (the browsable API)."""
        if isinstance(auth, ApiToken):
            return cls.api(auth)
        return cls.operator(user)


class ComponentGroup(models.Model):
    """A heading on the status page that gathers related components (e.g. "API")."""

    code = CodeField()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Shown on hover next to the group.")
    position = models.PositiveIntegerField(
        blank=True,
        help_text="Place on the page, shared with components outside any group: lower "
        "numbers come first. Left empty, the group goes last.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "component group"
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, origin: Origin | None = None, **kwargs: Any) -> None:
        if self.position is None:
            self.position = next_page_position()
        super().save(*args, **kwargs)


# Components as the page lists them: the SQL twin of ``page_key``. Not the model's default
# ordering: its join to the group would break ``select_for_update`` (FOR UPDATE cannot
# lock the nullable side of an outer join), so lists ask for ``in_page_order()``.
PAGE_ORDER: list[Any] = [
    Coalesce("group__position", "position").asc(),
    Lower(Coalesce("group__name", "name")).asc(),
    Case(When(group__isnull=True, then=Value(1)), default=Value(0)).asc(),
    Coalesce("group_id", "id").asc(),
    F("position").asc(),
    Lower("name").asc(),
    F("id").asc(),
]


class ComponentQuerySet(models.QuerySet):
    def in_page_order(self) -> "ComponentQuerySet":
        """Components in page order, with their groups loaded (for ``page_key``)."""
        return self.select_related("group").order_by(*PAGE_ORDER)


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
        blank=True,
        help_text="In a group: the place within the group. Outside any group: the place on "
        "the page, shared with the groups. Left empty, the component goes last.",
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

    objects = ComponentQuerySet.as_manager()

    class Meta:
        verbose_name = "component"
        ordering = ["position", "name"]
        permissions = [("change_component_status", "Can change the status of a component")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, origin: Origin | None = None, **kwargs: Any) -> None:
        """Save; creating a component, or saving a status assigned directly (a form, the
        shell), writes the history row as ``set_status`` does.

        Our own code moves statuses with ``set_status``; this keeps the rule "every status
        change has its row" for any other path; ``origin`` is recorded on that row. The
        previous status is read from the database (locked), never remembered from when
        this object was loaded.
        """
        if self.position is None:
            self.position = next_page_position(self.group_id)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            if "status" not in update_fields:
                super().save(*args, **kwargs)  # the status is not written
                return
            kwargs["update_fields"] = {*update_fields, "updated_at"}
        with transaction.atomic(savepoint=False):
            stored = self.stored_status()
            super().save(*args, **kwargs)
            if stored != self.status:
                self._write_change(stored, at=None, origin=origin)

    def set_status(
        self, status: str, *, at: datetime | None = None, origin: Origin | None = None
    ) -> "ComponentStatusChange | None":
        """Move to ``status`` and write the history row, dated ``at`` (now by default),
        recording ``origin`` (the system's when not given).

        Saves only the status (and ``updated_at``); an unsaved component is created, with
        its first row dated ``at``. Returns the new ComponentStatusChange, or None when the
        stored status already was ``status``. Why it changed is the caller's business
        (incidents link the row to the update that caused it).
        """
        status = self.Status(status)
        with transaction.atomic(savepoint=False):
            stored = self.stored_status()
            self.status = status
            if stored == status:
                return None
            if self._state.adding:
                if self.position is None:
                    self.position = next_page_position(self.group_id)
                super().save()
            else:
                super().save(update_fields=["status", "updated_at"])
            return self._write_change(stored, at=at, origin=origin)

    def stored_status(self) -> str | None:
        """The status in the database, locking the row until the transaction ends (None
        for a component not saved yet)."""
        if self._state.adding or self.pk is None:
            return None
        rows = Component._base_manager.select_for_update().filter(pk=self.pk)
        return rows.values_list("status", flat=True).first()

    def _write_change(
        self, old: str | None, *, at: datetime | None, origin: Origin | None
    ) -> "ComponentStatusChange":
        origin = origin or Origin()
        change = ComponentStatusChange.objects.create(
            component=self,
            old_status=old,
            new_status=self.status,
            at=at or timezone.now(),
            source=origin.source,
            actor=origin.actor[:200],
            user_id=origin.user_id,
            detail=dict(origin.detail),
        )
        # A live change is announced (webhook subscribers hear of it); a component's first
        # row and history brought over by an import are not news.
        if old is not None and origin.source != ChangeSource.IMPORT:
            status_changed.send(sender=Component, change=change)
        return change


def next_page_position(group_id: int | None = None) -> int:
    """The position that puts a new item last: last in its group for a grouped component,
    last on the page for a group or a component outside any group (they share one order,
    see docs/architecture.md, "Page order")."""
    if group_id is not None:
        top = Component.objects.filter(group_id=group_id).aggregate(top=Max("position"))["top"]
        return 0 if top is None else top + 1
    tops = [
        ComponentGroup.objects.aggregate(top=Max("position"))["top"],
        Component.objects.filter(group__isnull=True).aggregate(top=Max("position"))["top"],
    ]
    known = [t for t in tops if t is not None]
    return max(known) + 1 if known else 0


def page_key(component: Component) -> tuple:
    """Where a component sits on the page: its group's (or its own) place in the page
    order, then its place within the group. Needs ``group`` loaded (select_related)."""
    group = component.group
    name = component.name.lower()
    if group is None:
        return (component.position, name, 1, component.pk, 0, "", 0)
    return (group.position, group.name.lower(), 0, group.pk, component.position, name, component.pk)


def group_page_key(group: ComponentGroup) -> tuple:
    """A group's place among the page's items (the first half of ``page_key``)."""
    return (group.position, group.name.lower(), 0, group.pk)


SEVERITY = {
    Component.Status.OPERATIONAL: 0,
    Component.Status.UNDER_MAINTENANCE: 1,
    Component.Status.DEGRADED_PERFORMANCE: 2,
    Component.Status.PARTIAL_OUTAGE: 3,
    Component.Status.MAJOR_OUTAGE: 4,
}


class ComponentStatusChange(models.Model):
    """One status transition of a component; uptime is computed from these rows.

    Written by ``Component.set_status`` (and by ``save`` for a component's creation or a
    status assigned directly). Each row records its ``source`` and actor (``Origin``);
    the incident update that caused a change is linked by the app that caused it
    (``incidents.StatusChangeCause``): components know nothing of incidents."""

    component = models.ForeignKey(
        Component, on_delete=models.CASCADE, related_name="status_changes"
    )
    old_status = models.CharField(
        max_length=32, choices=Component.Status.choices, null=True, blank=True
    )
    new_status = models.CharField(max_length=32, choices=Component.Status.choices)
    at = models.DateTimeField(default=timezone.now, db_index=False)
    source = models.CharField(
        max_length=16, choices=ChangeSource.choices, blank=True, default=ChangeSource.SYSTEM
    )
    actor = models.CharField(
        max_length=200, blank=True, help_text="Who or what acted: a user, a token, an integration."
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The person behind the change, if any.",
    )
    detail = models.JSONField(
        default=dict, blank=True, help_text="What an automation received (alert, heartbeat)."
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
