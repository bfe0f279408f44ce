"""Enqueue the outbox's Celery tasks by name, so that no module imports ``tasks.py``.

``subscriptions.tasks`` registers the tasks under these names (Celery imports it through
the app's autodiscovery); a signature by name still runs inline when
``CELERY_TASK_ALWAYS_EAGER`` is on, since the task is registered by then.
"""

import logging
from collections.abc import Iterable, Iterator

from celery import current_app

logger = logging.getLogger(__name__)

FAN_OUT = "subscriptions.tasks.fan_out"
SEND_BATCH = "subscriptions.tasks.send_batch"
SWEEP = "subscriptions.tasks.sweep"


def chunked(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def enqueue_send(ids: Iterable[int], countdown: float | None = None) -> None:
    """Enqueue the sending of these deliveries (raises if the broker is unreachable)."""
    current_app.signature(SEND_BATCH, args=(list(ids),)).apply_async(countdown=countdown)


def enqueue_sweep() -> None:
    """Ask for a sweep now (routed to the sweeper's queue); never raises."""
    try:
        current_app.signature(SWEEP).apply_async()
    except Exception as exc:
        logger.warning("could not enqueue a sweep: %s", exc)


def enqueue_fan_out(event_id: int) -> bool:
    """Enqueue the fan-out of an event, giving up quickly if the broker is unreachable.

    Called from ``transaction.on_commit`` in the web request that posted an update: the
    post has already succeeded and must not fail or hang now. The event row is committed,
    so the sweeper re-enqueues it once the broker is back. Returns whether it was queued.
    """
    try:
        # A fresh connection with the short connect/socket timeouts of the settings, no
        # reconnection attempts (max_retries=0; kombu's default retries for seconds) and
        # no publish retry: a dead broker costs milliseconds, a hung one ~3 seconds.
        with current_app.connection_for_write(transport_options={"max_retries": 0}) as connection:
            current_app.signature(FAN_OUT, args=(event_id,)).apply_async(
                connection=connection, retry=False
            )
    except Exception as exc:
        logger.warning(
            "broker unavailable, event %s will be sent by the sweeper: %s", event_id, exc
        )
        return False
    return True
