"""Backfilling: recording a whole incident that happened in the past (Statuspage's
"backfilled" incidents), the one path that may write an incident's updates and its
components' history before now (see docs/architecture.md, 'The update service').

``post_update`` refuses an update dated before the incident's previous one; a past
incident is written here instead, all at once, in order:

1. every step is checked first (status of the kind, a message, an aware time in the past,
   times in order, the last step resolves or completes) and nothing is written on a
   refusal;
2. each component's history must have no change during the incident, so the rows written
   fit between the existing ones: the component enters the statuses the steps give it and
   returns, at the last step, to the status it had before;
3. the incident, its updates (nobody is notified), the history rows and their causes are
   written in one transaction; the current status of every component is left as it is.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from components.models import Component, ComponentStatusChange, Origin
from incidents import services
from incidents.models import Incident, IncidentUpdate, StatusChangeCause

ComponentStatus = Component.Status


@dataclass
class Step:
    """One update of a backfilled incident: its status, text, time and the component
    statuses it set (code -> status)."""

    status: str
    body: str
    display_at: datetime
    components: Mapping[Component | str, str | None] = field(default_factory=dict)


def _check_steps(kind: str, steps: Sequence[Step], now: datetime) -> None:
    if not steps:
        raise ValidationError({"updates": "Give at least one update."}, code="required")
    previous = None
    for step in steps:
        services._check_status(kind, step.status)
        services.check_body(step.body)
        if timezone.is_naive(step.display_at):
            raise ValidationError({"display_at": "Give a time zone with the time."}, code="naive")
        if step.display_at > now:
            raise ValidationError(
                {"display_at": "A backfilled incident happened in the past."}, code="future"
            )
        if previous is not None and step.display_at < previous:
            raise ValidationError(
                {"display_at": "The updates of a backfilled incident must be in time order."},
                code="out_of_order",
            )
        previous = step.display_at
    if steps[-1].status not in Incident.CLOSED_STATUSES:
        raise ValidationError(
            {"status": "The last update of a backfilled incident resolves (or completes) it."},
            code="not_closed",
        )


def _status_before(component: Component, start: datetime, end: datetime) -> str:
    """The status ``component`` had when the incident started; refused when its history
    has no record of it then, or changed during the incident."""
    changes = ComponentStatusChange.objects.filter(component=component)
    if changes.filter(at__gt=start, at__lte=end).exists():
        raise ValidationError(
            {
                "components": f"{component.name}'s status changed during this period; a "
                "backfilled incident cannot rewrite that history."
            },
            code="history_overlap",
        )
    before = changes.filter(at__lte=start).order_by("-at", "-pk").first()
    if before is None:
        raise ValidationError(
            {"components": f"{component.name} has no recorded status at that time."},
            code="no_history",
        )
    return before.new_status


@transaction.atomic
def backfill_incident(
    *,
    name: str,
    steps: Sequence[Step],
    kind: str = Incident.Kind.INCIDENT,
    author: User | None = None,
    origin: Origin | None = None,
) -> Incident:
    """Record a past incident with its updates in order; see the module's docstring. The
    history rows record ``origin`` (by default the operator ``author``)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the incident a name."}, code="required")
    _check_steps(kind, steps, timezone.now())
    start, end = steps[0].display_at, steps[-1].display_at
    codes = {code for step in steps for code in step.components}
    found = services._resolve_components(dict.fromkeys(codes))
    by_code = {c.code: c for c in found}
    for step in steps:
        services._resolve_components(step.components)  # checks the statuses
    current = {c: _status_before(c, start, end) for c in found}
    returns_to = dict(current)
    origin = origin or Origin.operator(author)

    incident = Incident.objects.create(
        name=name, kind=kind, status=steps[-1].status, started_at=start, resolved_at=end
    )
    incident.components.add(*found)
    causes = []
    for index, step in enumerate(steps):
        last = index == len(steps) - 1
        update = IncidentUpdate.objects.create(
            incident=incident,
            status=step.status,
            body=step.body.strip(),
            display_at=step.display_at,
            deliver_notifications=False,
            author=author,
        )
        targets = {
            by_code[code.code if isinstance(code, Component) else code]: status
            for code, status in step.components.items()
            if status is not None
        }
        if last:
            targets = dict(returns_to)
        affected = []
        for component in sorted(targets, key=lambda c: (c.position, c.pk)):
            old, new = current[component], targets[component]
            if new != old:
                change = ComponentStatusChange.objects.create(
                    component=component,
                    old_status=old,
                    new_status=new,
                    at=step.display_at,
                    source=origin.source,
                    actor=origin.actor[:200],
                    user_id=origin.user_id,
                    detail=dict(origin.detail),
                )
                causes.append(StatusChangeCause(status_change=change, incident_update=update))
                current[component] = new
            affected.append(
                {
                    "code": component.code,
                    "name": component.name,
                    "old_status": old,
                    "new_status": new,
                }
            )
        update.affected_components = affected
        update.save(update_fields=["affected_components"])
        if step.status == Incident.Status.MONITORING and incident.monitoring_at is None:
            incident.monitoring_at = step.display_at
    StatusChangeCause.objects.bulk_create(causes)
    incident.impact = services.compute_impact(incident)
    incident.save(update_fields=["impact", "monitoring_at", "updated_at"])
    return incident
