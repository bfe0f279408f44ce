"""Heartbeats of cron jobs and checkers (docs/architecture.md, "Driven by monitoring").

A component with a heartbeat window that hears nothing within it, or hears
``success=false``, takes its failure status; the next success brings it back. The beat
scheduler runs :func:`check_windows` every few seconds."""

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, QuerySet
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from components.models import ChangeSource, Component, Origin
from monitoring import services
from monitoring.models import ComponentAutomation, Integration, Payload
from statusportal.errors import ConflictError

MAX_ERROR_LENGTH = 500
MISSED = "heartbeat window"  # the actor of a change made because a window passed


def beat(
    integration: Integration,
    component: Component,
    *,
    success: bool,
    error: str,
    body: dict[str, Any],
) -> Payload:
    """One heartbeat of ``integration`` for ``component``; records and returns the payload.

    Refused (``ConflictError``, recorded as rejected) when the component expects no
    heartbeat. A heartbeat that flips the component between healthy and failing applies
    the change through ``monitoring.services.apply``; one that does not changes nothing.
    """
    error = error.strip()[:MAX_ERROR_LENGTH] if not success else ""
    configured = (
        ComponentAutomation.objects.filter(component=component, heartbeat_window__isnull=False)
        .values_list("pk", flat=True)
        .first()
    )
    if configured is None:
        message = (
            f"{component.name} ({component.code}) expects no heartbeat: set a heartbeat "
            "window on the component in the admin."
        )
        services.record(integration, Payload.Outcome.REJECTED, message, body, payload=None)
        raise ConflictError({"component": message}, code="no_heartbeat")
    with transaction.atomic():
        services.limit_lock_waits()
        automation = ComponentAutomation.objects.select_for_update().get(pk=configured)
        was_failing = automation.heartbeat_failing
        automation.last_heartbeat_at = timezone.now()
        automation.heartbeat_failing = not success
        automation.heartbeat_error = error
        automation.save(update_fields=["last_heartbeat_at", "heartbeat_failing", "heartbeat_error"])
        payload = Payload.objects.create(
            integration=integration, outcome=Payload.Outcome.UNCHANGED, body=body
        )
        state = "success" if success else f"failure: {error or 'no error text'}"
        if was_failing == automation.heartbeat_failing:
            summary = f"{component.name} ({component.code}): heartbeat {state}; no change."
            return services.record(
                integration, Payload.Outcome.UNCHANGED, summary, body, payload=payload
            )
        before = component.status
        origin = Origin(
            ChangeSource.HEARTBEAT,
            actor=integration.name,
            detail={"payload": payload.pk, "success": success, "error": error},
        )
        applied = services.apply(component, origin)
        if applied.ignored:
            outcome = Payload.Outcome.IGNORED
        elif applied.component.status != before:
            outcome = Payload.Outcome.APPLIED
        else:
            outcome = Payload.Outcome.UNCHANGED
        summary = f"Heartbeat {state}. {applied.describe(before)}"
        return services.record(integration, outcome, summary, body, payload=payload)


def check_windows(now: datetime | None = None) -> int:
    """Move every component whose heartbeat window passed in silence to its failure
    status (run by beat); returns how many were found late. Safe to run twice at once:
    each row is re-checked under its lock."""
    now = now or timezone.now()
    late = 0
    for pk in _late(ComponentAutomation.objects.all(), now).values_list("pk", flat=True):
        with transaction.atomic():
            rows = ComponentAutomation.objects.select_for_update(skip_locked=True).filter(pk=pk)
            automation = _late(rows, now).select_related("component").first()
            if automation is None:
                continue  # a heartbeat arrived, or another run took it
            assert automation.heartbeat_window is not None  # (filtered)
            heard = automation.last_heartbeat_at
            automation.heartbeat_failing = True
            automation.heartbeat_error = (
                f"No heartbeat within {_human(automation.heartbeat_window)}"
                + (f" (last at {heard:%Y-%m-%d %H:%M:%S} UTC)." if heard else " (none yet).")
            )
            automation.save(update_fields=["heartbeat_failing", "heartbeat_error"])
            origin = Origin(
                ChangeSource.HEARTBEAT,
                actor=MISSED,
                detail={
                    "missed": True,
                    "last_heartbeat_at": heard.isoformat() if heard else None,
                    "window_seconds": int(automation.heartbeat_window.total_seconds()),
                },
            )
            services.apply(automation.component, origin)
            late += 1
    return late


def _late(rows: QuerySet[ComponentAutomation], now: datetime) -> QuerySet[ComponentAutomation]:
    """Rows whose window, counted from the later of the last heartbeat and the window's
    start, ended before ``now`` and that are not failing yet."""
    deadline = ExpressionWrapper(
        Greatest("heartbeat_since", Coalesce("last_heartbeat_at", "heartbeat_since"))
        + F("heartbeat_window"),
        output_field=DateTimeField(),
    )
    return (
        rows.filter(heartbeat_window__isnull=False, heartbeat_failing=False)
        .annotate(deadline=deadline)
        .filter(deadline__lt=now)
    )


def _human(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"
