"""The Statuspage-compatible public JSON (``/api/v2/``) as plain dicts.

The shape follows ``statuspage-api.md`` exactly — key for key — because existing clients
(exporters, chat bots, aggregators) parse it strictly: ids are our codes, timestamps are
ISO-8601 with milliseconds, every listed key is present, lists are never null.

``load()`` reads everything a response needs in a fixed number of queries; the other
functions only shape already-loaded objects.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet

from components.models import Component, ComponentGroup, group_page_key, page_key
from incidents.models import Incident, IncidentUpdate, Postmortem
from incidents.status import page_status_for
from statusportal import revision as revisions
from statusportal.timefmt import iso_ms

# How many incidents/maintenances incidents.json and scheduled-maintenances.json list.
RECENT_LIMIT = 50
UPCOMING_STATUSES = (Incident.Status.SCHEDULED,)
UNRESOLVED_STATUSES = tuple(
    s for s in Incident.INCIDENT_STATUSES if s not in Incident.CLOSED_STATUSES
)


def page_id() -> str:
    """The page's id: ``STATUSPAGE_PAGE_ID`` when set (a page moved from Statuspage keeps
    its id), else a stable 12-character id derived from its public URL (there is one page
    per installation, so no row to take a code from)."""
    if settings.STATUSPAGE_PAGE_ID:
        return str(settings.STATUSPAGE_PAGE_ID)
    return hashlib.sha256(settings.STATUSPAGE_URL.encode()).hexdigest()[:12]


@dataclass
class Catalogue:
    """Components and groups, loaded once per response."""

    groups: list[ComponentGroup]
    components: list[Component]


def load_catalogue() -> Catalogue:
    """Two queries: all groups, all components (with their group)."""
    return Catalogue(
        groups=list(ComponentGroup.objects.order_by("position", "pk")),
        components=list(Component.objects.in_page_order()),
    )


def incidents_queryset() -> QuerySet[Incident]:
    """Incidents with their updates, affected components (and their groups) and
    postmortem: three queries, whatever the number of incidents."""
    return Incident.objects.select_related("postmortem").prefetch_related(
        "updates",
        Prefetch("components", queryset=Component.objects.in_page_order()),
    )


def open_incidents() -> list[Incident]:
    return list(
        incidents_queryset()
        .filter(kind=Incident.Kind.INCIDENT, status__in=UNRESOLVED_STATUSES)
        .order_by("-started_at", "-pk")
    )


def recent_incidents() -> list[Incident]:
    return list(
        incidents_queryset()
        .filter(kind=Incident.Kind.INCIDENT)
        .order_by("-started_at", "-pk")[:RECENT_LIMIT]
    )


def maintenances(statuses: Iterable[str] | None = None) -> list[Incident]:
    """Maintenance in ``statuses`` soonest first, or the 50 most recent when None."""
    queryset = incidents_queryset().filter(kind=Incident.Kind.MAINTENANCE)
    if statuses is None:
        return list(queryset.order_by("-scheduled_for", "-pk")[:RECENT_LIMIT])
    return list(queryset.filter(status__in=list(statuses)).order_by("scheduled_for", "pk"))


def has_open_incident() -> bool:
    return Incident.objects.filter(
        kind=Incident.Kind.INCIDENT, status__in=UNRESOLVED_STATUSES
    ).exists()


# --- Shaping -----------------------------------------------------------------------------


def page() -> dict[str, Any]:
    """The ``page`` object; ``updated_at`` is the last change of anything shown."""
    return {
        "id": page_id(),
        "name": settings.STATUSPAGE_NAME,
        "url": settings.STATUSPAGE_URL,
        "time_zone": settings.STATUSPAGE_TIME_ZONE,
        "updated_at": iso_ms(revisions.current().changed_at),
    }


def status(catalogue: Catalogue, *, has_unresolved_incident: bool) -> dict[str, Any]:
    result = page_status_for(
        (c.status for c in catalogue.components), has_unresolved_incident=has_unresolved_incident
    )
    return {"indicator": result.indicator, "description": result.description}


def component(c: Component) -> dict[str, Any]:
    return {
        "id": c.code,
        "name": c.name,
        "status": c.status,
        "created_at": iso_ms(c.created_at),
        "updated_at": iso_ms(c.updated_at),
        "position": c.position,
        "description": c.description or None,
        "showcase": c.showcase,
        "start_date": c.start_date.isoformat() if c.start_date else None,
        "group_id": c.group.code if c.group is not None else None,
        "page_id": page_id(),
        "group": False,
        "only_show_if_degraded": c.only_show_if_degraded,
    }


def group(g: ComponentGroup, children: list[Component]) -> dict[str, Any]:
    """A group entry: its children's ids and their worst status."""
    return {
        "id": g.code,
        "name": g.name,
        "status": Component.Status.worst(c.status for c in children).value,
        "created_at": iso_ms(g.created_at),
        "updated_at": iso_ms(max([g.updated_at, *(c.updated_at for c in children)])),
        "position": g.position,
        "description": g.description or None,
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": page_id(),
        "group": True,
        "only_show_if_degraded": False,
        "components": [c.code for c in children],
    }


def components(catalogue: Catalogue) -> list[dict[str, Any]]:
    """The flat list in page order: groups and ungrouped components in one order, each
    group followed by its children (docs/architecture.md, "Page order")."""
    children: dict[int, list[Component]] = {g.pk: [] for g in catalogue.groups}
    top: list[tuple[tuple[Any, ...], Component | ComponentGroup]] = []
    for c in sorted(catalogue.components, key=page_key):
        if c.group_id is None:
            top.append((page_key(c)[:4], c))
        else:
            children[c.group_id].append(c)
    top.extend((group_page_key(g), g) for g in catalogue.groups)
    result = []
    for _, item in sorted(top, key=lambda t: t[0]):
        if isinstance(item, ComponentGroup):
            result.append(group(item, children[item.pk]))
            result.extend(component(c) for c in children[item.pk])
        else:
            result.append(component(item))
    return result


def incident_update(update: IncidentUpdate, incident: Incident) -> dict[str, Any]:
    return {
        "id": update.code,
        "status": update.status,
        "body": update.body,
        "incident_id": incident.code,
        "created_at": iso_ms(update.created_at),
        "updated_at": iso_ms(update.updated_at),
        "display_at": iso_ms(update.display_at),
        "affected_components": list(update.affected_components) or None,
        "deliver_notifications": update.deliver_notifications,
        "custom_tweet": None,
        "tweet_id": None,
    }


def _has_published_postmortem(incident: Incident) -> bool:
    try:
        return incident.postmortem.is_published  # select_related: no query
    except Postmortem.DoesNotExist:
        return False


def incident(i: Incident) -> dict[str, Any]:
    """An incident or a scheduled maintenance (which also has its window)."""
    status_ = i.status
    if status_ == Incident.Status.RESOLVED and _has_published_postmortem(i):
        status_ = "postmortem"
    result = {
        "id": i.code,
        "name": i.name,
        "status": status_,
        "created_at": iso_ms(i.created_at),
        "updated_at": iso_ms(i.updated_at),
        "monitoring_at": iso_ms(i.monitoring_at),
        "resolved_at": iso_ms(i.resolved_at),
        "impact": i.impact,
        "shortlink": settings.STATUSPAGE_URL + i.get_absolute_url(),
        "started_at": iso_ms(i.started_at),
        "page_id": page_id(),
        "incident_updates": [incident_update(u, i) for u in i.updates.all()],
        "components": [component(c) for c in i.components.all()],
    }
    if i.is_maintenance:
        result["scheduled_for"] = iso_ms(i.scheduled_for)
        result["scheduled_until"] = iso_ms(i.scheduled_until)
    return result


# --- Documents -----------------------------------------------------------------------------


def summary() -> dict[str, Any]:
    """Open incidents and open maintenance (scheduled, in progress or verifying) come from
    one query, split here."""
    catalogue = load_catalogue()
    open_ = list(incidents_queryset().filter(Incident.open_filter()))
    unresolved = sorted(
        (i for i in open_ if not i.is_maintenance),
        key=lambda i: (i.started_at, i.pk),
        reverse=True,
    )
    planned = sorted(
        (i for i in open_ if i.is_maintenance),
        key=lambda i: (i.scheduled_for or i.started_at, i.pk),
    )
    return {
        "page": page(),
        "components": components(catalogue),
        "incidents": [incident(i) for i in unresolved],
        "scheduled_maintenances": [incident(m) for m in planned],
        "status": status(catalogue, has_unresolved_incident=bool(unresolved)),
    }


def status_document() -> dict[str, Any]:
    catalogue = load_catalogue()
    return {
        "page": page(),
        "status": status(catalogue, has_unresolved_incident=has_open_incident()),
    }


def components_document() -> dict[str, Any]:
    return {"page": page(), "components": components(load_catalogue())}


def incidents_document(*, unresolved_only: bool = False) -> dict[str, Any]:
    found = open_incidents() if unresolved_only else recent_incidents()
    return {"page": page(), "incidents": [incident(i) for i in found]}


def maintenances_document(statuses: Iterable[str] | None = None) -> dict[str, Any]:
    return {
        "page": page(),
        "scheduled_maintenances": [incident(m) for m in maintenances(statuses)],
    }
