"""The page's overall status (the banner and ``status.indicator`` in the JSON)."""

from dataclasses import dataclass

from components.models import Component
from incidents.models import Incident

ComponentStatus = Component.Status


@dataclass(frozen=True)
class PageStatus:
    indicator: str  # none | minor | major | critical | maintenance
    description: str


ALL_OK = PageStatus("none", "All Systems Operational")
BY_WORST_COMPONENT = {
    ComponentStatus.MAJOR_OUTAGE: PageStatus("critical", "Major System Outage"),
    ComponentStatus.PARTIAL_OUTAGE: PageStatus("major", "Partial System Outage"),
    ComponentStatus.DEGRADED_PERFORMANCE: PageStatus("minor", "Minor Service Outage"),
    ComponentStatus.UNDER_MAINTENANCE: PageStatus("maintenance", "Service Under Maintenance"),
}


def page_status_for(component_statuses, *, has_unresolved_incident: bool) -> PageStatus:
    """Apply the page-status rule (docs/architecture.md, "Domain model and its rules") to
    already-loaded data (no queries)."""
    statuses = list(component_statuses)
    result = BY_WORST_COMPONENT.get(ComponentStatus.worst(statuses), ALL_OK)
    if not statuses and has_unresolved_incident:
        return BY_WORST_COMPONENT[ComponentStatus.DEGRADED_PERFORMANCE]
    return result


def page_status() -> PageStatus:
    """The page status from the database (two small queries)."""
    statuses = Component.objects.values_list("status", flat=True)
    has_open = (
        Incident.objects.filter(kind=Incident.Kind.INCIDENT).filter(Incident.open_filter()).exists()
    )
    return page_status_for(statuses, has_unresolved_incident=has_open)
