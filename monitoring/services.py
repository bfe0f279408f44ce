"""The rules of automation, in one place (docs/architecture.md, "Driven by monitoring"):
which status monitoring wants for a component, when it must leave a component alone, and
the record of every payload received.

Alertmanager (``monitoring.alertmanager``) and heartbeats (``monitoring.heartbeats``)
change what they know, then call :func:`apply` for each component it concerns."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from components.models import Component, ComponentStatusChange, Origin
from incidents import services as incident_services
from incidents.models import Incident
from monitoring.models import Alert, ComponentAutomation, Integration, Payload

ComponentStatus = Component.Status


@dataclass(frozen=True)
class Applied:
    """What :func:`apply` did to one component: the history row it wrote (None when the
    status already was right), or why it left the component alone."""

    component: Component
    change: ComponentStatusChange | None = None
    ignored: str = ""

    def describe(self, before: str) -> str:
        """One line for the payload's record; ``before`` is the status the component had
        when the payload arrived (an incident may have moved it since)."""
        name = f"{self.component.name} ({self.component.code})"
        if self.ignored:
            return f"{name}: ignored, {self.ignored}"
        if self.component.status == before:
            return f"{name}: unchanged ({ComponentStatus.label_of(before)})"
        old = ComponentStatus.label_of(before)
        return f"{name}: {old} → {ComponentStatus.label_of(self.component.status)}"


def automation_of(component: Component) -> ComponentAutomation:
    """The component's automation settings (the defaults, unsaved, when it has none)."""
    try:
        return component.automation
    except ComponentAutomation.DoesNotExist:
        return ComponentAutomation(component=component)


def held_by(component: Component) -> str:
    """Why monitoring must leave ``component`` alone, or "" when it may move it.

    Precedence, as Statuspage's component automation: a component under maintenance, or
    in an open incident that monitoring did not open (an operator's, or an API
    script's), is the operators' until that closes.
    """
    if component.status == ComponentStatus.UNDER_MAINTENANCE:
        return "the component is under maintenance"
    holders = (
        component.incidents.filter(Incident.open_filter())
        .filter(alert_groups__isnull=True)
        .order_by("pk")
    )
    for incident in holders:
        if incident.is_maintenance:
            if incident.status in Incident.ACTIVE_MAINTENANCE_STATUSES:
                return f"the component is under maintenance “{incident.name}”"
            continue  # scheduled: holds nothing yet
        return f"the component is held by the incident “{incident.name}” opened by an operator"
    return ""


def wanted_status(component: Component) -> ComponentStatus | None:
    """The worst status that firing alerts and a failing heartbeat ask for ``component``;
    None when nothing does."""
    asked = list(
        Alert.objects.filter(components=component, firing=True).values_list("status", flat=True)
    )
    automation = automation_of(component)
    if automation.heartbeat_window is not None and automation.heartbeat_failing:
        asked.append(automation.heartbeat_status)
    return ComponentStatus.worst(asked) if asked else None


def refusal(component: Component) -> str:
    """Why automation may not move ``component`` now ("" when it may)."""
    if not automation_of(component).enabled:
        return "automation is off for this component"
    return held_by(component)


def apply(component: Component, origin: Origin) -> Applied:
    """Bring ``component`` to what monitoring wants, unless it must be left alone.

    1. lock the component's row (an operator opening an incident waits, or we do);
    2. leave it alone when automation is off for it or an operator holds it;
    3. move it to the worst status its firing alerts and failing heartbeat ask for, or,
       when nothing asks any more, back through the resolve rule
       (``incidents.services.claimed_status``).
    """
    with transaction.atomic():
        component = Component.objects.select_for_update().get(pk=component.pk)
        reason = refusal(component)
        if reason:
            return Applied(component, ignored=reason)
        target = wanted_status(component) or incident_services.claimed_status(component)
        return Applied(component, change=component.set_status(target, origin=origin))


def record(
    integration: Integration, outcome: str, summary: str, body: Any, *, payload: Payload | None
) -> Payload:
    """Store (or complete) the record of a received payload and drop the oldest beyond
    ``MONITORING_PAYLOADS_KEPT`` for the integration."""
    if payload is None:
        payload = Payload(integration=integration)
    payload.outcome = outcome
    payload.summary = summary
    payload.body = storable(body if isinstance(body, dict | list) else {"raw": str(body)[:2000]})
    payload.save()
    keep = settings.MONITORING_PAYLOADS_KEPT
    oldest_kept = list(
        Payload.objects.filter(integration=integration)
        .order_by("-pk")
        .values_list("pk", flat=True)[keep - 1 : keep]
    )
    if oldest_kept:
        Payload.objects.filter(integration=integration, pk__lt=oldest_kept[0]).delete()
    return payload


def storable(value: Any) -> Any:
    """``value`` (a parsed JSON body) as PostgreSQL can store it: NUL and lone surrogates,
    which JSON may carry and ``jsonb`` refuses, replaced in every key and string."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {storable(str(k)): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value


def limit_lock_waits() -> None:
    """Within the current transaction, give up on a row lock after
    ``MONITORING_LOCK_TIMEOUT_MS`` (PostgreSQL): a sender that would wait longer gets a
    503 and retries, instead of holding its connection until its own timeout."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true)",
                [f"{settings.MONITORING_LOCK_TIMEOUT_MS}ms"],
            )
