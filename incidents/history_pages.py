"""The history (``/history/``, three months a page) and the uptime calendar (``/uptime/``),
each built in a fixed number of queries like the pages of ``incidents.pages``. Months are
those of the page's time zone."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from components.models import Component
from components.uptime import ComponentUptime, day_start, local_today
from incidents.models import Incident, IncidentUpdate, body_as_html
from incidents.pages import (
    NEWEST_FIRST,
    brief,
    is_visible,
    page_blocks,
    uptime_with_incidents,
)
from statusportal.timefmt import localize, page_zone

HISTORY_MONTHS_PER_PAGE = 3
# About the first two lines of an update (~220 characters of English).
HISTORY_SUMMARY_WORDS = 36


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return divmod(index, 12)[0], divmod(index, 12)[1] + 1


@dataclass
class Month:
    year: int
    month: int
    items: list = field(default_factory=list)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])


class PageOutOfRange(Exception):
    """A history or uptime page number that no calendar can show."""


def _page_months(page: int, today: date) -> list[Month]:
    """The months of ``page`` (1 = the current month and the two before), newest first."""
    if page < 1:
        raise PageOutOfRange(page)
    months = []
    for i in range(HISTORY_MONTHS_PER_PAGE):
        year, month = _add_months(today.year, today.month, -(page - 1) * 3 - i)
        if year < 1970:
            raise PageOutOfRange(page)
        months.append(Month(year, month))
    return months


def _page_of(day: date, today: date) -> int:
    months_back = (today.year - day.year) * 12 + today.month - day.month
    return months_back // HISTORY_MONTHS_PER_PAGE + 1


def history_page(page: int = 1, now: datetime | None = None) -> dict:
    """Context of ``/history/?page=N``: three months of incidents and maintenance, newest
    first, with a link to the next page that has anything. Two queries."""
    now = now or timezone.now()
    today = local_today(now)
    zone = page_zone()
    months = _page_months(page, today)
    start = day_start(months[-1].first_day, zone)
    end = day_start(months[0].last_day + timedelta(days=1), zone)
    past = Incident.objects.exclude(status=Incident.Status.SCHEDULED)
    # What the list shows, and the newest update's body for its summary as two columns
    # (one index probe each) rather than updates as model instances: a busy quarter
    # lists hundreds of incidents.
    newest = IncidentUpdate.objects.filter(incident=OuterRef("pk")).order_by(*NEWEST_FIRST)
    items = list(
        past.filter(started_at__gte=start, started_at__lt=end)
        .only("pk", "code", "name", "kind", "status", "impact", "started_at", "resolved_at")
        .annotate(
            newest_body=Subquery(newest.values("body")[:1]),
            newest_html=Subquery(newest.values("body_html")[:1]),
        )
        .order_by("-started_at", "-pk")
    )
    by_month = {(m.year, m.month): m for m in months}
    for incident in items:
        if incident.newest_body is None:
            incident.summary = ""
        else:
            html = body_as_html(incident.newest_body, incident.newest_html)
            incident.summary = brief(html, HISTORY_SUMMARY_WORDS)
        local = localize(incident.started_at, zone)
        by_month[(local.year, local.month)].items.append(incident)
    # Jump over empty quarters straight to the page of the newest older incident.
    older = (
        past.filter(started_at__lt=start)
        .order_by("-started_at", "-pk")
        .values_list("started_at", flat=True)
        .first()
    )
    return {
        "months": months,
        "page": page,
        "newer_page": page - 1 if page > 1 else None,
        "older_page": _page_of(localize(older, zone).date(), today) if older else None,
    }


# --- Uptime calendar ----------------------------------------------------------------------


@dataclass
class CalendarMonth:
    month: Month
    weeks: list[list]  # 7 cells a week; a cell is a DayUptime or None outside the month
    percent: float | None = None


class UnknownComponent(Exception):
    """A ``?component=`` that names no component shown on ``/uptime/``."""


def uptime_page(
    page: int = 1, component_code: str | None = None, now: datetime | None = None
) -> dict:
    """Context of ``/uptime/``: the calendar of three months of ONE showcased component,
    with the same per-day details as the bars, and a picker of every showcased component
    (in page order, with its uptime over the same months). The component is
    ``component_code``, or by default the first one in page order, the first row of the
    status page. Four queries whatever the history."""
    now = now or timezone.now()
    today = local_today(now)
    months = list(reversed(_page_months(page, today)))  # oldest first, like a calendar
    first_day, last_day = months[0].first_day, months[-1].last_day
    components = [
        c for c in Component.objects.select_related("group").filter(showcase=True) if is_visible(c)
    ]
    blocks = page_blocks(components)
    rows = [row for block in blocks for row in block.rows]
    chosen = rows[0] if rows else None
    if component_code is not None:
        chosen = next((r for r in rows if r.component.code == component_code), None)
        if chosen is None:
            raise UnknownComponent(component_code)
    uptimes = uptime_with_incidents(components, first_day, last_day, now)
    for row in rows:
        row.uptime = uptimes[row.component.pk]
    section = None
    if chosen is not None and chosen.uptime is not None:
        uptime = chosen.uptime
        by_day = {d.day: d for d in uptime.days}
        weeks_of = calendar.Calendar(firstweekday=calendar.SUNDAY)
        calendars = []
        for month in months:
            weeks = [
                [by_day.get(day) if day.month == month.month else None for day in week]
                for week in weeks_of.monthdatescalendar(month.year, month.month)
            ]
            days = [d for d in uptime.days if d.day.month == month.month]
            calendars.append(
                CalendarMonth(month, weeks, ComponentUptime(chosen.component, days).percent)
            )
        block = next(b for b in blocks if chosen in b.rows)
        section = {"block": block, "row": chosen, "uptime": uptime, "months": calendars}
    zone = page_zone()
    earliest = (
        chosen.component.start_date or chosen.component.created_at.astimezone(zone).date()
        if chosen
        else None
    )
    return {
        "blocks": blocks,
        "chosen": chosen.component if chosen else None,
        "section": section,
        "page": page,
        "newer_page": page - 1 if page > 1 else None,
        "older_page": page + 1 if earliest and earliest < first_day else None,
        "first_day": first_day,
        "last_day": min(last_day, today),
        "today": today,
        "weekday_names": [calendar.day_abbr[(calendar.SUNDAY + i) % 7] for i in range(7)],
    }
