"""What the public pages show, built in a fixed number of queries (see
docs/architecture.md, 'The page cache').

Views stay thin: each asks one function here (or in ``incidents.history_pages`` for the
history and the uptime calendar) for its template context. Every builder reads a bounded
slice of the data (open incidents, the last 15 or 90 days, one quarter of history, the
latest 50 incidents), so its query count and its cost do not grow with the size of the
history. Times are grouped into days in the page's time zone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Protocol, TypeVar

from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from components.models import Component, ComponentGroup, page_key
from components.uptime import (
    ComponentUptime,
    as_timestamp,
    daily_uptime,
    day_index,
    day_start,
    local_today,
    mean_percent,
    timestamp_of,
)
from incidents.models import Incident, IncidentUpdate, body_as_html
from incidents.status import PageStatus, page_status_for
from statusportal.timefmt import localize, page_zone

ComponentStatus = Component.Status

UPTIME_DAYS = 90
PAST_INCIDENT_DAYS = 15
FEED_ITEMS = 50

NEWEST_FIRST = ("-display_at", "-pk")
STATUS_LABELS = {status.value: str(status.label) for status in Incident.Status}


# --- Updates -------------------------------------------------------------------------


class Labelled(Protocol):
    status: str
    label: str


LabelledT = TypeVar("LabelledT", bound=Labelled)


def label_updates(updates_newest_first: Sequence[LabelledT]) -> list[LabelledT]:
    """Set ``label`` on each update: its status name, or "Update" when it keeps the status
    of the update before it. Returns the same list (newest first)."""
    previous = None
    for update in reversed(updates_newest_first):
        same = previous is not None and update.status == previous
        # A dict lookup: get_status_display() costs ~10x more, for ~400 updates on `/`.
        update.label = "Update" if same else STATUS_LABELS.get(update.status, update.status)
        previous = update.status
    return list(updates_newest_first)


def latest_updates_prefetch(count: int = 2) -> Prefetch:
    """The ``count`` newest updates of each incident as ``incident.latest`` — one query for
    any number of incidents (a sliced prefetch uses a window function). Two are enough to
    label the newest one."""
    return Prefetch(
        "updates",
        queryset=IncidentUpdate.objects.order_by(*NEWEST_FIRST)[:count],
        to_attr="latest",
    )


def all_updates_prefetch() -> Prefetch:
    return Prefetch(
        "updates", queryset=IncidentUpdate.objects.order_by(*NEWEST_FIRST), to_attr="timeline"
    )


def latest_update(incident: Incident) -> IncidentUpdate | None:
    """The newest update of an incident loaded with ``latest_updates_prefetch``, labelled."""
    updates = label_updates(getattr(incident, "latest", []))
    return updates[0] if updates else None


# A tag of the sanitiser's serialised output (render_markdown): it escapes "<" and ">" in
# text and attribute values and double-quotes attributes, so removing tags by pattern is
# exact for it (tests compare with striptags), and ~5x cheaper than another sanitiser pass.
_TAG = re.compile(r'<(?:"[^"]*"|[^">])*>')


def brief(html: str, words: int = 60) -> SafeString:
    """The summary of an update wherever a page shows one (the status page's cards and
    past incidents, the history): the first ``words`` words of its body as plain text,
    from its stored HTML (``update.html``). The same text as
    ``body|markdown|striptags|truncatewords``, at a fraction of the cost (no Markdown
    conversion)."""
    text = _TAG.sub("", html).split()  # still HTML-escaped text
    if len(text) > words:
        return mark_safe(" ".join(text[:words]) + " …")
    return mark_safe(" ".join(text))


# --- Components in page order ----------------------------------------------------------


@dataclass
class Row:
    """A component line on the page, with its uptime days when it is showcased."""

    component: Component
    uptime: ComponentUptime | None = None


@dataclass
class Block:
    """A group with its components, or a lone ungrouped component, in page order."""

    group: ComponentGroup | None
    rows: list[Row] = field(default_factory=list)

    @cached_property
    def worst_status(self) -> ComponentStatus:
        # Cached: the page asks three times; rows are complete before it is read.
        return ComponentStatus.worst(r.component.status for r in self.rows)

    @property
    def uptime_percent(self) -> float | None:
        return mean_percent(r.uptime for r in self.rows if r.uptime is not None)

    @property
    def has_uptime(self) -> bool:
        return any(r.uptime is not None for r in self.rows)

    @property
    def is_degraded(self) -> bool:
        return self.worst_status != ComponentStatus.OPERATIONAL


def page_blocks(components: Iterable[Component]) -> list[Block]:
    """Components arranged as on the page: groups and ungrouped components in the one page
    order, components inside a group by their place in it (docs/architecture.md, "Page
    order"). Needs ``group`` loaded (select_related)."""
    groups: dict[int, Block] = {}
    blocks: list[Block] = []
    for component in sorted(components, key=page_key):
        if component.group_id is None:
            blocks.append(Block(None, [Row(component)]))
            continue
        block = groups.get(component.group_id)
        if block is None:
            block = groups[component.group_id] = Block(component.group)
            blocks.append(block)
        block.rows.append(Row(component))
    return blocks


def affected_line(components: Iterable[Component]) -> str:
    """``Group A (Comp 1, Comp 2), Comp 3`` in page order."""
    parts = []
    for block in page_blocks(components):
        names = ", ".join(r.component.name for r in block.rows)
        parts.append(f"{block.group.name} ({names})" if block.group else names)
    return ", ".join(parts)


def is_visible(component: Component) -> bool:
    """``only_show_if_degraded`` components appear only while not operational."""
    return not component.only_show_if_degraded or (component.status != ComponentStatus.OPERATIONAL)


# --- Uptime with the incidents of each day ---------------------------------------------


def attach_day_incidents(
    uptimes: dict[int, ComponentUptime], first_day: date, last_day: date, now: datetime
) -> None:
    """Fill ``day.incidents`` of each uptime with the incidents (and maintenance) that
    touched that component on that day — one query for all components and days."""
    if not uptimes:
        return
    zone = page_zone()
    n_days = (last_day - first_day).days + 1
    bounds = [day_start(first_day + timedelta(days=i), zone).timestamp() for i in range(n_days + 1)]
    window_start = day_start(first_day, zone)
    window_end = min(day_start(last_day + timedelta(days=1), zone), now)
    now_ts = now.timestamp()
    through = Incident.components.through
    # django-stubs misses annotations on an auto-created through model: hence the ignore.
    rows = (
        through.objects.filter(  # type: ignore[misc]
            component_id__in=list(uptimes),
            incident__started_at__lt=window_end,
        )
        .filter(Q(incident__resolved_at__isnull=True) | Q(incident__resolved_at__gte=window_start))
        .exclude(incident__status=Incident.Status.SCHEDULED)
        .order_by("incident__started_at", "incident_id")
        # Timestamps rather than datetimes: ~1,000 rows at a busy page's density.
        .annotate(
            started_ts=timestamp_of("incident__started_at"),
            resolved_ts=timestamp_of("incident__resolved_at"),
        )
        .values_list(
            "component_id",
            "incident__code",
            "incident__name",
            "incident__impact",
            "started_ts",
            "resolved_ts",
        )
    )
    refs: dict[str, dict[str, str]] = {}
    for component_id, code, name, impact, started_ts, resolved_ts in rows:
        days = uptimes[component_id].days
        first = day_index(bounds, as_timestamp(started_ts))
        last = day_index(bounds, now_ts if resolved_ts is None else as_timestamp(resolved_ts))
        ref = refs.get(code)
        if ref is None:
            ref = refs[code] = {
                "code": code,
                "name": name,
                "impact": impact,
                "url": f"/incidents/{code}/",
            }
        for offset in range(first, last + 1):
            days[offset].incidents.append(ref)


def uptime_with_incidents(
    components: Sequence[Component], first_day: date, last_day: date, now: datetime
) -> dict[int, ComponentUptime]:
    uptimes = daily_uptime(components, first_day, last_day, now=now)
    attach_day_incidents(uptimes, first_day, last_day, now)
    return uptimes


# --- The status page --------------------------------------------------------------------


@dataclass
class DayOfIncidents:
    day: date
    incidents: list[Incident]


@dataclass(slots=True)
class UpdateBrief:
    """An update as the status page's past incidents show it: read as a row rather than
    a model instance (the page lists ~400 of them), labelled by ``label_updates``."""

    status: str
    body: str
    body_html: str
    display_at: datetime
    label: str = ""

    @property
    def html(self) -> SafeString:
        return body_as_html(self.body, self.body_html)


def past_incidents(today: date, now: datetime) -> list[DayOfIncidents]:
    """The incidents and maintenance started in the last 15 days, by day (newest first,
    quiet days included), each with ``timeline``: its updates newest first. Two queries."""
    zone = page_zone()
    past_from = today - timedelta(days=PAST_INCIDENT_DAYS - 1)
    past = list(
        Incident.objects.filter(started_at__gte=day_start(past_from), started_at__lte=now)
        .exclude(status=Incident.Status.SCHEDULED)
        .only("pk", "code", "name", "impact", "started_at")
        .order_by("-started_at", "-pk")
    )
    timelines = defaultdict(list)
    rows = (
        IncidentUpdate.objects.filter(incident_id__in=[i.pk for i in past])
        .order_by(*NEWEST_FIRST)
        .values_list("incident_id", "status", "body", "body_html", "display_at")
    )
    for incident_id, status, body, body_html, display_at in rows:
        timelines[incident_id].append(UpdateBrief(status, body, body_html, display_at))
    by_day = defaultdict(list)
    for incident in past:
        incident.timeline = label_updates(timelines.get(incident.pk, []))
        by_day[localize(incident.started_at, zone).date()].append(incident)
    return [
        DayOfIncidents(day, by_day.get(day, []))
        for day in (today - timedelta(days=i) for i in range(PAST_INCIDENT_DAYS))
    ]


def status_page(now: datetime | None = None) -> dict:
    """Context of ``/``: banner, open incidents, maintenance, components with 90 days of
    uptime, and the past 15 days of incidents. Nine queries whatever the history."""
    now = now or timezone.now()
    today = local_today(now)

    components = list(Component.objects.select_related("group"))
    visible = [c for c in components if is_visible(c)]
    blocks = page_blocks(visible)
    first_day = today - timedelta(days=UPTIME_DAYS - 1)
    showcased = [c for c in visible if c.showcase]
    uptimes = uptime_with_incidents(showcased, first_day, today, now)
    for block in blocks:
        for row in block.rows:
            row.uptime = uptimes.get(row.component.pk)

    open_items = list(
        Incident.objects.filter(Incident.open_filter())
        .prefetch_related(latest_updates_prefetch(), components_prefetch())
        .order_by("-started_at", "-pk")
    )
    for incident in open_items:
        incident.latest_update = latest_update(incident)
        incident.affected = affected_line(incident.components.all())
    incidents = [i for i in open_items if not i.is_maintenance]
    active_maintenance = [
        i for i in open_items if i.is_maintenance and i.status != Incident.Status.SCHEDULED
    ]
    upcoming = sorted(
        (i for i in open_items if i.status == Incident.Status.SCHEDULED),
        key=lambda i: (i.scheduled_for or i.started_at, i.pk),
    )

    past_days = past_incidents(today, now)

    status: PageStatus = page_status_for(
        (c.status for c in components), has_unresolved_incident=bool(incidents)
    )
    return {
        "page_status": status,
        "incidents": incidents,
        "active_maintenance": active_maintenance,
        "upcoming_maintenance": upcoming,
        "blocks": blocks,
        "has_uptime": bool(showcased),
        "uptime_days": UPTIME_DAYS,
        "past_days": past_days,
        "today": today,
    }


def components_prefetch() -> Prefetch:
    return Prefetch("components", queryset=Component.objects.select_related("group"))


# --- An incident ------------------------------------------------------------------------


def incident_page(code: str) -> dict | None:
    """Context of ``/incidents/<code>/``, or None when there is no such incident. Three
    queries: the incident with its postmortem, its updates, its components."""
    incident = (
        Incident.objects.select_related("postmortem")
        .prefetch_related(all_updates_prefetch(), components_prefetch())
        .filter(code=code)
        .first()
    )
    if incident is None:
        return None
    postmortem = getattr(incident, "postmortem", None)
    if postmortem is not None and not postmortem.is_published:
        postmortem = None
    components = list(incident.components.all())
    return {
        "incident": incident,
        "updates": label_updates(incident.timeline),
        "postmortem": postmortem,
        "affected": affected_line(components),
        "affected_blocks": page_blocks(components),
    }


# --- Feeds --------------------------------------------------------------------------------


def feed_items() -> list[Incident]:
    """The newest incidents and maintenance with all their updates (two queries)."""
    items = list(
        Incident.objects.prefetch_related(all_updates_prefetch()).order_by("-started_at", "-pk")[
            :FEED_ITEMS
        ]
    )
    for incident in items:
        incident.timeline = label_updates(incident.timeline)
    return items
