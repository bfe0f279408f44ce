"""Uptime of components, read from the daily roll-up of their ComponentStatusChange rows
(see docs/architecture.md, 'Uptime from daily roll-ups').

A component's uptime over a window is ``100 * (1 - (major + 0.3 * partial) / covered)``
where *major* and *partial* are the seconds spent in ``major_outage`` and
``partial_outage`` and *covered* the seconds of the window since the component's
``start_date`` (or creation) and before now. Degraded performance and maintenance count
as up. Days are calendar days in the page's time zone.

``daily_uptime`` answers for any number of components in two queries, whatever the
length of their history: one for the status each was in when the window opened (the end
status of its last rolled-up day before it), one for the rolled-up days inside the window
(at most one row per component and day). A group's uptime is the mean of its components'
(``mean_percent``). ``rebuild_rollups`` rolls the days up again from the history, for
whatever wrote history rows without the ORM (a bulk load, an importer) and after the
page's time zone changed.

One concern, kept in one module although it passes 400 lines: how uptime is counted,
from the roll-up rows to a day's summary, so that every page counts it the same way.
"""

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from functools import cached_property
from typing import Any, NamedTuple

from django.db import connections, transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone

from components import days as calendar_days
from components.days import BEFORE_RECORD, DayRow, as_timestamp, fold_days, timestamp_of
from components.models import Component, ComponentStatusChange, UptimeDay, roll_up, rollup_zone
from statusportal.timefmt import page_zone

__all__ = ["as_timestamp", "timestamp_of"]  # read by the page builders from here

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
    return calendar_days.day_start(day, zone or page_zone())


def local_today(now: datetime | None = None, zone: tzinfo | None = None) -> date:
    return (now or timezone.now()).astimezone(zone or page_zone()).date()


def zone_name(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or str(zone)


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

    1. Read, per component, the end status of its last rolled-up day before the window
       (the status the window opens in), and whether it has a history and a roll-up.
    2. Read its rolled-up days inside the window, up to now.
    3. Walk the window's days (``_walk``): a day with a row adds the row's seconds and
       its end status until midnight (or now); a day without one is spent whole in the
       status carried from the day before; all clipped to the component's coverage.

    A component without a roll-up in this zone (asked in another zone than the page's,
    or rolled up before the page's zone changed), or with a change after ``now`` on
    ``now``'s day, is folded from its history for the window instead, with the same
    ``fold_days`` that writes the roll-up (two more queries).
    """
    zone = zone or page_zone()
    now = now or timezone.now()
    n_days = (last_day - first_day).days + 1
    # The arithmetic below runs on POSIX timestamps (floats): comparing and subtracting
    # aware datetimes costs a utcoffset() call each time, which made this loop most of
    # the status page's context time (2,700 days, thousands of changes).
    day_starts = [day_start(first_day + timedelta(days=i), zone) for i in range(n_days + 1)]
    bounds = [d.timestamp() for d in day_starts]
    window_end = min(bounds[-1], now.timestamp())
    dates = [first_day + timedelta(days=i) for i in range(n_days)]
    result = {c.pk: ComponentUptime(c, [DayUptime(d) for d in dates]) for c in components}
    if not result or window_end <= bounds[0]:
        return result
    last_open_day = dates[bisect_left(bounds, window_end) - 1]

    heads: dict[int, tuple[str | None, bool]] = {}
    rows: dict[int, dict[date, DayRow]] = defaultdict(dict)
    refold = set(result)
    name = zone_name(zone)
    if name == rollup_zone():
        refold = set()
        rolled = UptimeDay.objects.filter(component=OuterRef("pk"), zone=name).order_by("day")
        changes = ComponentStatusChange.objects.filter(component=OuterRef("pk")).order_by("at")
        # "Is there a row?" as "the first row, if any": ordered by the index's column, one
        # index probe each; PostgreSQL plans an EXISTS here as a sequential scan that
        # expects an early match, which grows with the history (docs/architecture.md,
        # "Uptime from daily roll-ups").
        for pk, carry, first_rolled, first_change in (
            Component.objects.filter(pk__in=result)
            .annotate(
                carry=Subquery(rolled.filter(day__lt=first_day).reverse().values("end_status")[:1]),
                first_rolled=Subquery(rolled.values("day")[:1]),
                first_change=Subquery(changes.values("at")[:1]),
            )
            .values_list("pk", "carry", "first_rolled", "first_change")
        ):
            recorded = first_change is not None
            heads[pk] = (carry, recorded)
            if recorded and first_rolled is None:
                refold.add(pk)
        window_rows = (
            UptimeDay.objects.filter(
                component_id__in=result, zone=name, day__gte=first_day, day__lte=last_open_day
            )
            .annotate(last_ts=timestamp_of("last_change_at"))
            .values_list("component_id", "day", "seconds", "end_status", "last_ts")
        )
        for component_id, day, seconds, end_status, last_ts in window_rows:
            last_at = as_timestamp(last_ts)
            if last_at > window_end:
                refold.add(component_id)  # a change after now: not part of this answer
            rows[component_id][day] = DayRow(day, seconds, end_status, last_at)
    if refold:
        folded_heads, folded_rows = _fold_window(refold, day_starts[0], window_end, zone)
        heads.update(folded_heads)
        rows.update(folded_rows)

    for pk, uptime in result.items():
        carry, recorded = heads.get(pk, (None, False))
        _walk(uptime, bounds, window_end, rows.get(pk, {}), carry, recorded, zone)
    return result


def _fold_window(
    component_ids: set[int], window_start: datetime, window_end: float, zone: tzinfo
) -> tuple[dict[int, tuple[str | None, bool]], dict[int, dict[date, DayRow]]]:
    """The window's days of ``component_ids`` folded from their history, as the roll-up
    would hold them (ignoring changes at or after ``window_end``), with the status each
    component was in when the window opened and whether it has any history."""
    changes = ComponentStatusChange.objects.filter(component=OuterRef("pk"))
    heads = {
        pk: (carry, recorded)
        for pk, carry, recorded in Component.objects.filter(pk__in=component_ids)
        .annotate(
            carry=Subquery(
                changes.filter(at__lt=window_start).order_by("-at", "-pk").values("new_status")[:1]
            ),
            recorded=Exists(changes),
        )
        .values_list("pk", "carry", "recorded")
    }
    in_window: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for component_id, ts, status in (
        ComponentStatusChange.objects.filter(
            component_id__in=component_ids,
            at__gte=window_start,
            at__lt=datetime.fromtimestamp(window_end, window_start.tzinfo),
        )
        .order_by("component_id", "at", "pk")
        .annotate(ts=timestamp_of("at"))
        .values_list("component_id", "ts", "new_status")
    ):
        in_window[component_id].append((as_timestamp(ts), status))
    rows = {
        pk: {row.day: row for row in fold_days(in_window.get(pk, []), heads[pk][0], zone)}
        for pk in heads
    }
    return heads, rows


def _walk(
    uptime: ComponentUptime,
    bounds: list[float],
    window_end: float,
    rows: dict[date, DayRow],
    carry: str | None,
    recorded: bool,
    zone: tzinfo,
) -> None:
    """Fill ``uptime.days`` from the rolled-up ``rows`` of the window, starting in status
    ``carry`` (None: before the component's first record).

    A component is covered from the start of its ``start_date`` (before its first record
    it was operational), else from its first record (or, without any history, from its
    creation), until now. Degraded performance and maintenance count as up; seconds are
    added only where they are positive, as a day's statuses are those it spent time in.
    """
    component = uptime.component
    start_date = component.start_date
    if not recorded:
        if start_date:
            coverage_start = day_start(start_date, zone).timestamp()
        else:
            coverage_start = component.created_at.timestamp()
        _spread(uptime.days, bounds, max(bounds[0], coverage_start), window_end, Status.OPERATIONAL)
        return
    for index, day in enumerate(uptime.days):
        lo = bounds[index]
        if lo >= window_end:
            break
        end = min(bounds[index + 1], window_end)
        row = rows.get(day.day)
        counted = start_date is None or day.day >= start_date
        if row is None:
            if counted and (carry is not None or start_date is not None):
                _add(day, STATUS_OF.get(carry, carry) if carry else Status.OPERATIONAL, end - lo)
            continue
        if counted:
            for key, seconds in row.seconds.items():
                if key != BEFORE_RECORD:
                    _add(day, STATUS_OF.get(key, key), seconds)
                elif start_date is not None:
                    _add(day, Status.OPERATIONAL, seconds)
            _add(day, STATUS_OF.get(row.end_status, row.end_status), end - row.last_at)
        carry = row.end_status


def _add(day: DayUptime, status: Any, seconds: float) -> None:
    if seconds > 0:
        day.covered_seconds += seconds
        by_status = day.seconds_by_status
        by_status[status] = by_status.get(status, 0.0) + seconds


def rebuild_rollups(
    components: Iterable[Component | int], since: datetime | date | None = None
) -> int:
    """Roll the days of ``components`` up again from their history: from ``since`` (an
    instant, or a day of the page's time zone) on, or entirely. For whatever wrote history
    rows without the ORM (a bulk COPY, an importer) and after the page's zone changed.
    Each component in a transaction of its own; returns how many were rolled up."""
    if isinstance(since, date) and not isinstance(since, datetime):
        since = day_start(since)
    count = 0
    for component in components:
        with transaction.atomic():
            roll_up(component.pk if isinstance(component, Component) else component, since)
        count += 1
    return count


def stale_rollups() -> "QuerySet[Component]":
    """Components whose roll-up does not match the page's time zone: a history without
    rolled-up days in it (rows written before the roll-up existed), or days rolled up
    in another zone."""
    name = rollup_zone()
    rolled = UptimeDay.objects.filter(component=OuterRef("pk"))
    recorded = ComponentStatusChange.objects.filter(component=OuterRef("pk"))
    return Component.objects.filter(
        (Exists(recorded) & ~Exists(rolled.filter(zone=name))) | Exists(rolled.exclude(zone=name))
    ).order_by("pk")


def rebuild_stale_rollups(using: str = "default", **kwargs: Any) -> None:
    """After ``migrate`` (post_migrate): roll up what is stale, so that a deploy that adds
    the roll-up or changes the page's time zone needs no step of its own."""
    if UptimeDay._meta.db_table not in connections[using].introspection.table_names():
        return  # migrated back to before the roll-up
    rebuild_rollups(stale_rollups().using(using).values_list("pk", flat=True))


def day_index(bounds: list[float], ts: float) -> int:
    """The day (0 .. len(bounds) - 2) that ``ts`` falls on, clipped to the window whose
    days begin at ``bounds`` (one more bound than days)."""
    return min(max(bisect_right(bounds, ts) - 1, 0), len(bounds) - 2)


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
