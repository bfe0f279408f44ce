"""Uptime of components, computed from their ComponentStatusChange rows (see
docs/architecture.md, 'Component status history').

A component's uptime over a window is ``100 * (1 - (major + 0.3 * partial) / covered)``
where *major* and *partial* are the seconds spent in ``major_outage`` and
``partial_outage`` and *covered* the seconds of the window since the component's
``start_date`` (or creation) and before now. Degraded performance and maintenance count
as up. Days are calendar days in the page's time zone.

``daily_uptime`` answers for any number of components in two queries, whatever the
length of their history: one for the status each was in when the window opened (and when
its record begins), one for the changes inside the window. A group's uptime is the mean
of its components' (``mean_percent``).
"""

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from functools import cached_property
from typing import NamedTuple, overload

from django.db import connection
from django.db.models import F, FloatField, Func, OuterRef, Subquery
from django.utils import timezone

from components.models import Component, ComponentStatusChange
from statusportal.timefmt import page_zone

Status = Component.Status

# Weight of a second of each status in the downtime sum; other statuses count as up.
DOWNTIME_WEIGHT = {Status.MAJOR_OUTAGE: 1.0, Status.PARTIAL_OUTAGE: 0.3}
# Stored status strings to their members, without an enum call per row.
STATUS_OF = {status.value: status for status in Status}
SEVERITY_OF = {status: status.severity for status in Status}


class DaySummary(NamedTuple):
    """See DayUptime.summary; the same values as its properties."""

    percent: float | None
    worst_status: Status | None
    outages: list[tuple[Status, float]]


@dataclass
class DayUptime:
    """One day (one uptime bar or calendar cell) of one component."""

    day: date
    covered_seconds: float = 0.0
    seconds_by_status: dict = field(default_factory=dict)
    # Incidents that touched the component that day; filled by the page layer, which is
    # allowed to know about incidents (components must not import incidents).
    incidents: list = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return self.covered_seconds > 0

    @property
    def downtime_seconds(self) -> float:
        return sum(
            seconds * DOWNTIME_WEIGHT.get(status, 0.0)
            for status, seconds in self.seconds_by_status.items()
        )

    @property
    def percent(self) -> float | None:
        """Uptime in percent, or None when there is no data for the day."""
        if not self.has_data:
            return None
        return 100.0 * (1.0 - self.downtime_seconds / self.covered_seconds)

    @property
    def worst_status(self) -> Status | None:
        """The worst status the component was in during the day (None without data)."""
        if not self.has_data:
            return None
        return Status.worst(s for s, secs in self.seconds_by_status.items() if secs > 0)

    def summary(self) -> "DaySummary":
        """Uptime, worst status and outages in one pass over the day's statuses (a page
        draws thousands of days; the properties above each walk them again)."""
        covered = self.covered_seconds
        if covered <= 0:
            return DaySummary(None, None, [])
        down, worst, worst_rank, outages = 0.0, None, -1, []
        for status, seconds in self.seconds_by_status.items():
            down += seconds * DOWNTIME_WEIGHT.get(status, 0.0)
            rank = SEVERITY_OF.get(status, 0)
            if seconds > 0 and rank > worst_rank:
                worst, worst_rank = status, rank
            if status != Status.OPERATIONAL and seconds >= 1:
                outages.append((rank, status, seconds))
        outages.sort(key=lambda item: -item[0])
        return DaySummary(
            100.0 * (1.0 - down / covered),
            worst or Status.OPERATIONAL,
            [(status, seconds) for _, status, seconds in outages],
        )

    @property
    def outages(self) -> list[tuple[Status, float]]:
        """Non-operational statuses of the day with their seconds, worst first."""
        return sorted(
            (
                (status, secs)
                for status, secs in self.seconds_by_status.items()
                if status != Status.OPERATIONAL and secs >= 1
            ),
            key=lambda item: -item[0].severity,
        )


@dataclass
class ComponentUptime:
    """The days of one component over a window, oldest first, and their total."""

    component: Component
    days: list[DayUptime]

    @cached_property
    def percent(self) -> float | None:
        # Cached: a page asks for it several times (the row, its group's mean); the days
        # are complete before anyone reads it.
        covered = down = 0.0
        weight = DOWNTIME_WEIGHT.get
        for day in self.days:
            covered += day.covered_seconds
            for status, seconds in day.seconds_by_status.items():
                down += seconds * weight(status, 0.0)
        if not covered:
            return None
        return 100.0 * (1.0 - down / covered)


def format_percent(value: float | None) -> str:
    """``99.97%``: two decimals, rounded down so that any downtime never shows as 100%."""
    if value is None:
        return "No data"
    if value >= 100.0:
        return "100%"
    return f"{math.floor(value * 100) / 100:.2f}%"


def mean_percent(uptimes: Iterable[ComponentUptime]) -> float | None:
    """A group's uptime: the mean of its components' (those with data)."""
    values = [p for p in (u.percent for u in uptimes) if p is not None]
    return sum(values) / len(values) if values else None


def day_start(day: date, zone: tzinfo | None = None) -> datetime:
    """The instant a calendar day begins in ``zone`` (the page's by default)."""
    return datetime.combine(day, time.min, tzinfo=zone or page_zone())


def local_today(now: datetime | None = None, zone: tzinfo | None = None) -> date:
    return (now or timezone.now()).astimezone(zone or page_zone()).date()


def daily_uptime(
    components: Sequence[Component],
    first_day: date,
    last_day: date,
    *,
    now: datetime | None = None,
    zone: tzinfo | None = None,
) -> dict[int, ComponentUptime]:
    """Per-day uptime of ``components`` from ``first_day`` to ``last_day`` (inclusive, in
    the page's time zone), keyed by component id. Two queries for all components.

    1. Read, per component, the status in force when the window opens and the time of its
       first recorded change (where its record begins).
    2. Read every change inside the window, ordered.
    3. Turn each component's changes into segments of constant status and spread each
       segment's seconds over the days it spans, clipped to the component's coverage
       (from ``start_date`` or its first record, until now).
    """
    zone = zone or page_zone()
    now = now or timezone.now()
    n_days = (last_day - first_day).days + 1
    # The arithmetic below runs on POSIX timestamps (floats): comparing and subtracting
    # aware datetimes costs a utcoffset() call each time, which made this loop most of
    # the status page's context time (2,700 days, thousands of changes).
    day_starts = [day_start(first_day + timedelta(days=i), zone) for i in range(n_days + 1)]
    bounds = [d.timestamp() for d in day_starts]
    window_start_at = day_starts[0]
    window_end_at = min(day_starts[-1], now)
    window_start, window_end = bounds[0], window_end_at.timestamp()
    dates = [first_day + timedelta(days=i) for i in range(n_days)]
    result = {c.pk: ComponentUptime(c, [DayUptime(d) for d in dates]) for c in components}
    if not result or window_end <= window_start:
        return result

    changes = ComponentStatusChange.objects.filter(component=OuterRef("pk"))
    heads = Component.objects.filter(pk__in=result).annotate(
        status_before=Subquery(
            changes.filter(at__lt=window_start_at).order_by("-at", "-pk").values("new_status")[:1]
        ),
        first_change_at=Subquery(changes.order_by("at", "pk").values("at")[:1]),
    )
    head = {
        pk: (before, first)
        for pk, before, first in heads.values_list("pk", "status_before", "first_change_at")
    }
    in_window = defaultdict(list)
    rows = (
        ComponentStatusChange.objects.filter(
            component_id__in=result, at__gte=window_start_at, at__lt=window_end_at
        )
        .order_by("component_id", "at", "pk")
        .annotate(ts=timestamp_of("at"))
        .values_list("component_id", "ts", "new_status")
    )
    for component_id, ts, status in rows:
        in_window[component_id].append((as_timestamp(ts), STATUS_OF.get(status, status)))

    for pk, uptime in result.items():
        component = uptime.component
        before, first_change_at = head.get(pk, (None, None))
        if component.start_date:
            coverage_start = day_start(component.start_date, zone).timestamp()
        else:
            coverage_start = (first_change_at or component.created_at).timestamp()
        # Before a component's first record (but after its start date) it was operational.
        status = STATUS_OF.get(before, Status.OPERATIONAL) if before else Status.OPERATIONAL
        cursor = window_start
        for at, new_status in in_window.get(pk, ()):
            _spread(uptime.days, bounds, max(cursor, coverage_start), at, status)
            cursor, status = at, new_status
        _spread(uptime.days, bounds, max(cursor, coverage_start), window_end, status)
    return result


def timestamp_of(field: str) -> Func | F:
    """Read the datetime ``field`` as seconds since the epoch where the database can do it
    (PostgreSQL), as the datetime elsewhere; turn either into a float with
    ``as_timestamp``. For loops over thousands of rows."""
    return _Epoch(field) if connection.vendor == "postgresql" else F(field)


@overload
def as_timestamp(value: float | datetime) -> float: ...
@overload
def as_timestamp(value: None) -> None: ...
def as_timestamp(value: float | datetime | None) -> float | None:
    if value is None or isinstance(value, float):
        return value
    return value.timestamp()


def day_index(bounds: list[float], ts: float) -> int:
    """The day (0 .. len(bounds) - 2) that ``ts`` falls on, clipped to the window whose
    days begin at ``bounds`` (one more bound than days)."""
    return min(max(bisect_right(bounds, ts) - 1, 0), len(bounds) - 2)


class _Epoch(Func):
    """A PostgreSQL timestamp as seconds since the epoch (double precision): reading
    floats is ~3x cheaper than building thousands of aware datetimes in psycopg."""

    template = "date_part('epoch', %(expressions)s)"
    output_field = FloatField()


def _spread(days: list[DayUptime], bounds: list[float], start: float, end: float, status) -> None:
    """Add the seconds of [start, end) (timestamps) spent in ``status`` to the days they
    fall on; ``bounds`` are the timestamps at which the days begin (one more than days)."""
    if end <= start:
        return
    index = bisect_right(bounds, start) - 1
    if index < 0:
        index = 0
    last = len(days)
    while index < last:
        lo, hi = bounds[index], bounds[index + 1]
        if lo >= end:
            break
        seconds = (end if end < hi else hi) - (start if start > lo else lo)
        if seconds > 0:
            day = days[index]
            day.covered_seconds += seconds
            by_status = day.seconds_by_status
            by_status[status] = by_status.get(status, 0.0) + seconds
        index += 1
