"""Maintenance on a timetable: reminders, auto-start and auto-complete (run by beat).

Transitions go through ``incidents.services.post_update`` like an operator's would, so
they write history, move component statuses and notify subscribers the same way."""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from components.models import ChangeSource, Origin
from incidents import services as incident_services
from incidents.models import Incident
from subscriptions.outbox import record_reminder

logger = logging.getLogger(__name__)

Status = Incident.Status

STARTED_BODY = "The scheduled maintenance is now in progress."
COMPLETED_BODY = incident_services.DEFAULT_COMPLETED_BODY
SCHEDULE = Origin(ChangeSource.SCHEDULE, actor="maintenance timetable")


def run_maintenance_schedule(now: datetime | None = None) -> dict[str, int]:
    """Do what is due at ``now``; returns counts. Safe to run twice (each step re-checks
    the incident's state under a row lock)."""
    now = now or timezone.now()
    done = {"reminded": 0, "started": 0, "completed": 0}
    maintenance = Incident.objects.filter(kind=Incident.Kind.MAINTENANCE)

    for incident in maintenance.filter(
        status=Status.SCHEDULED,
        remind_before__isnull=False,
        reminded_at__isnull=True,
        scheduled_for__gt=now,
    ):
        assert incident.scheduled_for is not None and incident.remind_before is not None
        try:
            due = incident.scheduled_for - incident.remind_before <= now
        except OverflowError:
            # A reminder longer than any date (stored before the input rules): remind now
            # rather than stop every later step of this run.
            logger.warning("maintenance %s has an out-of-range reminder", incident.pk)
            due = True
        if due and record_reminder(incident):
            done["reminded"] += 1

    for incident in maintenance.filter(
        status=Status.SCHEDULED, auto_start=True, scheduled_for__lte=now
    ):
        if _transition(incident, Status.SCHEDULED, Status.IN_PROGRESS, STARTED_BODY):
            done["started"] += 1

    for incident in maintenance.filter(
        status__in=Incident.ACTIVE_MAINTENANCE_STATUSES,
        auto_complete=True,
        scheduled_until__lte=now,
    ):
        if _transition(incident, incident.status, Status.COMPLETED, COMPLETED_BODY):
            done["completed"] += 1
    return done


def _transition(incident: Incident, expected: str, status: str, body: str) -> bool:
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if locked.status != expected:
            return False  # an operator (or another beat) got there first
        try:
            incident_services.post_update(
                locked,
                status=status,
                body=body,
                deliver_notifications=True,
                origin=SCHEDULE,
            )
        except Exception:
            logger.exception("could not move maintenance %s to %s", incident.pk, status)
            return False
    return True
