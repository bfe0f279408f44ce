"""Enqueue the outbox's Celery tasks by name, so that no module imports ``tasks.py``.

``subscriptions.tasks`` registers the tasks under these names (Celery imports it through
the app's autodiscovery); a signature by name still runs inline when
``CELERY_TASK_ALWAYS_EAGER`` is on, since the task is registered by then.
"""

import logging
import os
import threading
from collections.abc import Iterable, Iterator

from celery import current_app
from kombu.connection import ConnectionPool

logger = logging.getLogger(__name__)

FAN_OUT = "subscriptions.tasks.fan_out"
SEND_BATCH = "subscriptions.tasks.send_batch"
SWEEP = "subscriptions.tasks.sweep"

# Connections the posting path publishes over, kept open between posts (per process and
# broker URL: a forked process or a changed broker gets a pool of its own).
PUBLISH_POOL_LIMIT = 4
_pools: dict[tuple[int, str], ConnectionPool] = {}
_pools_lock = threading.Lock()


def chunked(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def enqueue_send(ids: Iterable[int], countdown: float | None = None) -> None:
    """Enqueue the sending of these deliveries (raises if the broker is unreachable)."""
    # celery-types wants a float; Celery takes None (no delay), its default.
    current_app.signature(SEND_BATCH, args=(list(ids),)).apply_async(countdown=countdown)  # type: ignore[arg-type]


def enqueue_fan_out(event_id: int) -> bool:
    """Enqueue the fan-out of an event, giving up quickly if the broker is unreachable.

    Called from ``transaction.on_commit`` in the web request that posted an update: the
    post has already succeeded and must not fail or hang now. The event row is committed,
    so the sweeper re-enqueues it once the broker is back. Returns whether it was queued.
    """
    try:
        # A pooled connection with the short connect/socket timeouts of the settings, no
        # reconnection attempts (max_retries=0; kombu's default retries for seconds) and
        # no publish retry: a dead broker costs milliseconds, a hung one ~3 seconds.
        with publish_pool().acquire(block=True, timeout=3) as connection:
            try:
                current_app.signature(FAN_OUT, args=(event_id,)).apply_async(
                    connection=connection, retry=False
                )
            except Exception:
                connection.collect()  # maybe broken: reconnect on its next use
                raise
    except Exception as exc:
        logger.warning(
            "broker unavailable, event %s will be sent by the sweeper: %s", event_id, exc
        )
        return False
    return True


def publish_pool() -> ConnectionPool:
    """This process's pool of broker connections for the posting path."""
    key = (os.getpid(), str(current_app.conf.broker_url))
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                connection = current_app.connection_for_write(transport_options={"max_retries": 0})
                pool = _pools[key] = connection.Pool(limit=PUBLISH_POOL_LIMIT)
    return pool
