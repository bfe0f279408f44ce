"""The catalogue of what the page reports on: components, their groups, and every status
change they went through (the source of uptime).

One concern, kept in one module although it passes 400 lines: a component and its
status as rows. The status history and its daily roll-up are written in the same
transaction as the status (``Component.set_status``), so they live beside it."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Case, F, Max, Min, Value, When
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from components.days import as_timestamp, day_of, day_start, fold_days, timestamp_of
from components.signals import status_changed
from statusportal.codes import CodeField
from statusportal.models import ApiToken
from statusportal.timefmt import page_zone

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


class ChangeQuerySet(models.QuerySet):
    """The history's queries; bulk writes keep the uptime roll-up in step (see
    docs/architecture.md, 'Uptime from daily roll-ups'), so that no ORM path can change
    the history without it. Raw SQL (a bulk COPY) calls ``components.uptime.rebuild_rollups``."""

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        objs = list(objs)
        with transaction.atomic(savepoint=False):
            created = super().bulk_create(objs, *args, **kwargs)
            earliest: dict[int, datetime] = {}
            for obj in objs:
                if obj.component_id not in earliest or obj.at < earliest[obj.component_id]:
                    earliest[obj.component_id] = obj.at
            for component_id, since in sorted(earliest.items()):
                roll_up(component_id, since)
        return created

    def update(self, **kwargs: Any) -> int:
        with transaction.atomic(savepoint=False):
            touched = dict(self.order_by().values_list("component_id").annotate(since=Min("at")))
            count = super().update(**kwargs)
            moved_to = kwargs.get("component_id", kwargs.get("component"))
            new_at = kwargs.get("at")
            for component_id, since in sorted(touched.items()):
                if moved_to is not None or ("at" in kwargs and not isinstance(new_at, datetime)):
                    since = None  # an expression: no telling how far back the rows moved
                elif isinstance(new_at, datetime):
                    since = min(since, new_at)
                roll_up(component_id, since)
            if moved_to is not None:
                roll_up(getattr(moved_to, "pk", moved_to), None)
        return count

    def delete(self) -> tuple[int, dict[str, int]]:
        with transaction.atomic(savepoint=False):
            touched = dict(self.order_by().values_list("component_id").annotate(since=Min("at")))
            result = super().delete()
            for component_id, since in sorted(touched.items()):
                roll_up(component_id, since)
        return result


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

    objects = ChangeQuerySet.as_manager()

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

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, and roll the component's days up again from this change's day on (in the
        same transaction: see docs/architecture.md, 'Uptime from daily roll-ups')."""
        with transaction.atomic(savepoint=False):
            since = self.at
            if not self._state.adding and self.pk is not None:
                # A moved row also rewrites the days it left.
                stored = ComponentStatusChange.objects.filter(pk=self.pk)
                for row in stored.values("at", "component_id"):
                    since = min(since, row["at"])
                    if row["component_id"] != self.component_id:
                        roll_up(row["component_id"], None)
            super().save(*args, **kwargs)
            roll_up(self.component_id, since)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        with transaction.atomic(savepoint=False):
            result = super().delete(*args, **kwargs)
            roll_up(self.component_id, self.at)
        return result


class UptimeDay(models.Model):
    """One component's day of status history, rolled up in the page's time zone: the
    seconds spent in each status from the day's start until its last change, and the status
    it ended in. A row exists only for a day with a change; the days between are in the
    previous row's end status. Written with every change (``roll_up``), never by hand; the
    status page, ``/uptime/`` and group uptime read at most one row per component and day
    instead of replaying the history (see docs/architecture.md, 'Uptime from daily
    roll-ups')."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="uptime_days")
    zone = models.CharField(
        max_length=64, help_text="The page's time zone when the day was rolled up."
    )
    day = models.DateField()
    seconds = models.JSONField(
        default=dict,
        help_text="Seconds in each status from the day's start until the last change; "
        "'' holds those before the component's first recorded change.",
    )
    end_status = models.CharField(
        max_length=32, help_text="The status in force after the day's last change."
    )
    last_change_at = models.DateTimeField()

    class Meta:
        verbose_name = "uptime day"
        ordering = ["component", "day"]
        constraints = [
            # Also the index of both uptime reads: "the rows of these components between
            # two days" and "the last row before a day" (the status a window opens in).
            models.UniqueConstraint(
                fields=["component", "day"], name="components_uptimeday_unique_component_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.component_id} on {self.day}"


def rollup_zone() -> str:
    """The name under which the roll-up records its days' time zone."""
    return str(settings.STATUSPAGE_TIME_ZONE)


def roll_up(component_id: int, since: datetime | None) -> None:
    """Rewrite the roll-up of one component from the day of ``since`` on (all of it for
    None), from its history; inside the caller's transaction.

    1. Lock the component's row, so that two writers of its history roll up in turn.
    2. Start from scratch when any of its days were rolled up in another time zone (the
       page's zone changed), else from the start of ``since``'s day.
    3. Read the status in force when that day began and every change from then on.
    4. Replace the rows from that day on with the folded days.
    """
    zone, zone_name = page_zone(), rollup_zone()
    with transaction.atomic(savepoint=False):
        list(Component._base_manager.select_for_update().filter(pk=component_id).values("pk"))
        days = UptimeDay.objects.filter(component_id=component_id)
        if since is not None and days.exclude(zone=zone_name).exists():
            since = None
        changes = ComponentStatusChange.objects.filter(component_id=component_id)
        status_before = None
        if since is not None:
            first_day = day_of(since.timestamp(), zone)[0]
            status_before = (
                changes.filter(at__lt=day_start(first_day, zone))
                .order_by("-at", "-pk")
                .values_list("new_status", flat=True)
                .first()
            )
            changes = changes.filter(at__gte=day_start(first_day, zone))
            days = days.filter(day__gte=first_day)
        rows = (
            changes.order_by("at", "pk")
            .annotate(ts=timestamp_of("at"))
            .values_list("ts", "new_status")
        )
        folded = fold_days(((as_timestamp(ts), status) for ts, status in rows), status_before, zone)
        days.delete()
        UptimeDay.objects.bulk_create(
            UptimeDay(
                component_id=component_id,
                zone=zone_name,
                day=row.day,
                seconds=row.seconds,
                end_status=row.end_status,
                last_change_at=datetime.fromtimestamp(row.last_at, UTC),
            )
            for row in folded
        )
