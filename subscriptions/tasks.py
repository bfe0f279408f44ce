"""Celery tasks: thin wrappers around the outbox, delivery and the maintenance scheduler.

No code calls this module: the app's ``ready()`` imports it only to register the tasks in
every process, and the code enqueues by task name (``subscriptions.enqueue``). Tasks take
primary keys; the rows hold the truth."""

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django import db

from subscriptions import delivery, enqueue, outbox, scheduler

logger = logging.getLogger(__name__)


@shared_task(name=enqueue.FAN_OUT)
def fan_out(event_id: int) -> int:
    return outbox.fan_out(event_id)


@shared_task(name=enqueue.SEND_BATCH)
def send_batch(delivery_ids: list[int]) -> dict[str, int]:
    return vars(delivery.send_batch(delivery_ids))


@shared_task(name=enqueue.SWEEP)
def sweep() -> dict[str, int]:
    return vars(outbox.sweep())


@shared_task(name="subscriptions.tasks.run_maintenance_schedule")
def run_maintenance_schedule() -> dict[str, int]:
    """Beat's maintenance timetable (CELERY_BEAT_SCHEDULE)."""
    return scheduler.run_maintenance_schedule()


@worker_ready.connect
def sweep_when_a_worker_starts(**kwargs: Any) -> None:
    """Every worker sweeps once as it starts: a restarted worker recovers what its
    predecessor left, even with no beat running. Run here, in the worker's main process,
    rather than as a task: a task in flight when the broker goes away trips a kombu bug
    that stops the worker; the connection is closed afterwards so no pool process forked
    later inherits it."""
    try:
        outbox.sweep()
    except Exception:
        logger.exception("the start-up sweep failed; beat's sweeper will run")
    finally:
        db.connections.close_all()
