"""Celery tasks: thin wrappers around the outbox, delivery and the maintenance scheduler.

Nothing imports this module: Celery finds it through the app's autodiscovery, and the
code enqueues by task name (``subscriptions.enqueue``). Tasks take primary keys; the rows
hold the truth."""

from typing import Any

from celery import shared_task
from celery.signals import worker_ready

from subscriptions import delivery, enqueue, outbox, scheduler


@shared_task(name=enqueue.FAN_OUT)
def fan_out(event_id: int) -> int:
    return outbox.fan_out(event_id)


@shared_task(name=enqueue.SEND_BATCH)
def send_batch(delivery_ids: list[int]) -> dict[str, int]:
    return vars(delivery.send_batch(delivery_ids))


@shared_task(name=enqueue.SWEEP)
def sweep() -> dict[str, int]:
    return vars(outbox.sweep())


@worker_ready.connect
def sweep_when_a_worker_starts(**kwargs: Any) -> None:
    """Every worker that starts asks for a sweep (its own queue, CELERY_TASK_ROUTES):
    a restarted worker recovers what its predecessor left, even with no beat running."""
    enqueue.enqueue_sweep()


@shared_task(name="subscriptions.tasks.run_maintenance_schedule")
def run_maintenance_schedule() -> dict[str, int]:
    return scheduler.run_maintenance_schedule()
