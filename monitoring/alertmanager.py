"""What a Prometheus Alertmanager webhook (format version 4) does to the page
(docs/architecture.md, "Driven by monitoring").

Labels map an alert to components: ``statusportal_component`` (codes, comma-separated)
and ``statusportal_status`` (default ``major_outage``). An annotation
``statusportal_incident: "true"`` asks for one incident per ``groupKey``.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from components.models import ChangeSource, Component, Origin, page_key
from incidents import services as incident_services
from incidents.models import Incident
from monitoring import services
from monitoring.models import (
    AUTOMATION_STATUSES,
    Alert,
    AlertGroup,
    Integration,
    Payload,
)
from statusportal import limits

COMPONENT_LABEL = "statusportal_component"
STATUS_LABEL = "statusportal_status"
INCIDENT_ANNOTATION = "statusportal_incident"
DEFAULT_STATUS = Component.Status.MAJOR_OUTAGE
YES = {"true", "yes", "1", "on"}
# Alerts described in a history row's detail (a group may hold hundreds).
DETAIL_ALERTS = 20
# A resolved alert is remembered this long (to ignore its late deliveries), then dropped.
RESOLVED_KEPT = timedelta(days=7)


@dataclass(frozen=True)
class ReceivedAlert:
    """One entry of ``alerts[]``, as the webhook serializer checked it."""

    fingerprint: str
    firing: bool
    starts_at: datetime
    labels: Mapping[str, str]
    annotations: Mapping[str, str]


@dataclass(frozen=True)
class Webhook:
    """The parts of a webhook we act on."""

    group_key: str
    alerts: Sequence[ReceivedAlert]
    common_labels: Mapping[str, str] = field(default_factory=dict)
    common_annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Mapped:
    alert: ReceivedAlert
    components: list[Component]
    status: Component.Status

    @property
    def name(self) -> str:
        return self.alert.labels.get("alertname", "")[:200]


def _codes(alert: ReceivedAlert) -> list[str]:
    return [c.strip() for c in alert.labels.get(COMPONENT_LABEL, "").split(",") if c.strip()]


def _map(webhook: Webhook) -> tuple[list[_Mapped], int]:
    """The alerts that name components, with their components and status; and how many
    name none. Refuses (``ValidationError``) an unknown component code or status, before
    anything is written."""
    wanted = {code for alert in webhook.alerts for code in _codes(alert)}
    found = {c.code: c for c in Component.objects.filter(code__in=wanted).select_related("group")}
    unknown = sorted(wanted - set(found))
    if unknown:
        raise ValidationError(
            {"alerts": f"Unknown component code(s) in {COMPONENT_LABEL}: {', '.join(unknown)}."},
            code="unknown_component",
        )
    accepted = [s.value for s in AUTOMATION_STATUSES]
    mapped, unmapped = [], 0
    for alert in webhook.alerts:
        codes = _codes(alert)
        if not codes:
            unmapped += 1
            continue
        status = alert.labels.get(STATUS_LABEL, "").strip() or DEFAULT_STATUS
        if status not in accepted:
            raise ValidationError(
                {
                    "alerts": f"“{status[:100]}” is not a status for {STATUS_LABEL}; use one "
                    f"of: {', '.join(accepted)}."
                },
                code="invalid_status",
            )
        components = sorted({found[code] for code in codes}, key=page_key)
        mapped.append(_Mapped(alert, components, Component.Status(status)))
    return mapped, unmapped


def receive(integration: Integration, webhook: Webhook, body: Any) -> Payload:
    """Act on one webhook of ``integration`` and record it (see ``monitoring.services``).

    A refusal (an unknown component or status) is recorded as rejected and raised as a
    ``ValidationError``; nothing else is written. Payloads of one integration are handled
    one at a time (its row is locked), so two deliveries of one group cannot interleave.
    """
    try:
        mapped, unmapped = _map(webhook)
    except ValidationError as exc:
        services.record(
            integration, Payload.Outcome.REJECTED, " ".join(exc.messages), body, payload=None
        )
        raise
    with transaction.atomic():
        services.limit_lock_waits()
        Integration.objects.select_for_update().filter(pk=integration.pk).first()
        payload = Payload.objects.create(
            integration=integration, outcome=Payload.Outcome.UNCHANGED, body=body
        )
        done = _Run(integration, webhook, payload).run(mapped, unmapped, body)
        Alert.objects.filter(
            integration=integration, firing=False, updated_at__lt=timezone.now() - RESOLVED_KEPT
        ).delete()
        return done


class _Run:
    """One webhook being applied: what changed, and the notes for the payload's record."""

    def __init__(self, integration: Integration, webhook: Webhook, payload: Payload) -> None:
        self.integration = integration
        self.webhook = webhook
        self.payload = payload
        self.notes: list[str] = []
        self.changed_alerts: list[_Mapped] = []
        self.touched: set[Component] = set()
        self.acted = False  # an incident opened, updated or resolved

    def run(self, mapped: list[_Mapped], unmapped: int, body: Any) -> Payload:
        key = self.webhook.group_key
        group, _ = AlertGroup.objects.get_or_create(
            integration=self.integration,
            key_digest=hashlib.sha256(key.encode()).hexdigest(),
            defaults={"group_key": key},
        )
        for entry in mapped:
            self._update_alert(entry, group)
        if unmapped:
            self.notes.append(f"{unmapped} alert(s) without a {COMPONENT_LABEL} label: skipped.")
        before = {c.pk: c.status for c in self.touched}
        origin = self._origin()
        has_incident = group.incident is not None and not group.incident.is_closed
        if has_incident or self._wants_incident(mapped):
            self._follow_incident(group, origin)
        results = [
            services.apply(component, origin) for component in sorted(self.touched, key=page_key)
        ]
        outcome = self._outcome(results, before)
        self.notes[:0] = [r.describe(before[r.component.pk]) for r in results]
        return services.record(
            self.integration, outcome, "\n".join(self.notes), body, payload=self.payload
        )

    def _update_alert(self, entry: _Mapped, group: AlertGroup) -> None:
        """Record what the payload says of one alert, unless it is a repeat or late."""
        received = entry.alert
        alert = (
            Alert.objects.filter(integration=self.integration, fingerprint=received.fingerprint)
            .prefetch_related("components")
            .first()
        )
        label = entry.name or received.fingerprint
        if alert is not None:
            known = set(alert.components.all())
            late = received.starts_at < alert.starts_at or (
                received.starts_at == alert.starts_at and received.firing and not alert.firing
            )
            if late:
                self.notes.append(f"{label}: late delivery (an older episode), ignored.")
                return
            repeat = (
                received.starts_at == alert.starts_at
                and received.firing == alert.firing
                and entry.status == alert.status
                and set(entry.components) == known
            )
            if repeat:
                return
            self.touched |= known
        alert = alert or Alert(integration=self.integration, fingerprint=received.fingerprint)
        acts = alert.pk is not None or received.firing
        alert.group = group
        alert.firing = received.firing
        alert.starts_at = received.starts_at
        alert.status = entry.status
        alert.name = entry.name
        alert.labels = dict(received.labels)
        alert.save()
        alert.components.set(entry.components)
        if not acts:
            # Resolved before we heard it fire: remembered, so a late "firing" is ignored.
            self.notes.append(f"{label}: resolved, never seen firing.")
            return
        self.touched |= set(entry.components)
        self.changed_alerts.append(entry)

    def _origin(self) -> Origin:
        alerts = [
            {
                "fingerprint": e.alert.fingerprint,
                "alertname": e.name,
                "status": "firing" if e.alert.firing else "resolved",
                "startsAt": e.alert.starts_at.isoformat(),
            }
            for e in self.changed_alerts[:DETAIL_ALERTS]
        ]
        return Origin(
            ChangeSource.ALERTMANAGER,
            actor=self.integration.name,
            detail={
                "payload": self.payload.pk,
                "group_key": self.webhook.group_key[:500],
                "alerts": alerts,
            },
        )

    def _wants_incident(self, mapped: list[_Mapped]) -> bool:
        asks = [self.webhook.common_annotations.get(INCIDENT_ANNOTATION, "")]
        asks += [e.alert.annotations.get(INCIDENT_ANNOTATION, "") for e in mapped]
        return any(a.strip().lower() in YES for a in asks)

    def _text(self, key: str, fallback: str) -> str:
        """An annotation of the group (common, else of its first alert naming it)."""
        value = self.webhook.common_annotations.get(key, "")
        for alert in self.webhook.alerts:
            value = value or alert.annotations.get(key, "")
        return value.strip() or fallback

    def _follow_incident(self, group: AlertGroup, origin: Origin) -> None:
        """Open the group's incident when it starts firing, post an update when the set of
        firing alerts changes, resolve it when the group resolves (each through
        ``incidents.services``, notifying as the integration says)."""
        firing = list(
            Alert.objects.filter(group=group, firing=True)
            .order_by("name", "fingerprint")
            .prefetch_related("components")
        )
        fingerprints = [a.fingerprint for a in firing]
        incident = group.incident if group.incident and not group.incident.is_closed else None
        notify = self.integration.notify_subscribers
        if not firing:
            if incident is not None:
                incident_services.resolve(
                    incident,
                    body=self._text("resolved", "Monitoring reports that the alerts resolved."),
                    deliver_notifications=notify,
                    origin=origin,
                )
                self.notes.append(f"Resolved the incident “{incident.name}”.")
                self.acted = True
            group.firing = []
            group.save(update_fields=["firing", "updated_at"])
            return
        if incident is not None and fingerprints == group.firing:
            return
        components = {c for alert in firing for c in alert.components.all()} | self.touched
        targets: dict[Component | str, str | None] = {}
        for component in sorted(components, key=page_key):
            if services.refusal(component):
                continue  # left alone; apply() records why
            wanted = services.wanted_status(component)
            targets[component] = wanted or incident_services.claimed_status(
                component, excluding=incident
            )
        names = ", ".join(sorted({a.name or a.fingerprint for a in firing}))
        if incident is None:
            if not targets:
                self.notes.append("No incident opened: every component is left alone.")
                return
            summary = self._text("summary", f"Monitoring reports: {names}")
            incident = incident_services.open_incident(
                name=summary[: limits.MAX_NAME_LENGTH],
                status=Incident.Status.INVESTIGATING,
                body=self._text("description", summary)[: limits.MAX_UPDATE_BODY_LENGTH],
                components=targets,
                deliver_notifications=notify,
                origin=origin,
            )
            group.incident = incident
            self.notes.append(f"Opened the incident “{incident.name}”.")
        else:
            incident_services.post_update(
                incident,
                status=incident.status,
                body=f"Firing now: {names}."[: limits.MAX_UPDATE_BODY_LENGTH],
                components=targets,
                deliver_notifications=notify,
                origin=origin,
            )
            self.notes.append(f"Updated the incident “{incident.name}”.")
        self.acted = True
        group.firing = fingerprints
        group.save(update_fields=["incident", "firing", "updated_at"])

    def _outcome(self, results: list[services.Applied], before: dict[int, str]) -> str:
        moved = any(r.component.status != before.get(r.component.pk) for r in results)
        if moved or self.acted:
            return Payload.Outcome.APPLIED
        if results and all(r.ignored for r in results):
            return Payload.Outcome.IGNORED
        return Payload.Outcome.UNCHANGED
