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
from django.conf import settings
from kombu.connection import ConnectionPool

logger = logging.getLogger(__name__)

FAN_OUT = "subscriptions.tasks.fan_out"
SEND_BATCH = "subscriptions.tasks.send_batch"
SWEEP = "subscriptions.tasks.sweep"

# Send batches of the HTTP channels (webhook, Slack, Teams) go to a queue of their own, so
# that endpoints that hang never hold up email, nor email backlogs them (a worker of the
# Procfile consumes it; docs/architecture.md, 'The outbox').
HTTP_QUEUE = "outbox-http"

# Connections the posting path publishes over, kept open between posts (per process and
# broker URL: a forked process or a changed broker gets a pool of its own).
PUBLISH_POOL_LIMIT = 4
_pools: dict[tuple[int, str], ConnectionPool] = {}
_pools_lock = threading.Lock()


def chunked(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def batches_by_channel(
    rows: Iterable[tuple[int, str]], size: int | None = None
) -> Iterator[tuple[str, list[int]]]:
    """(channel, ids) send batches of ``rows`` of (id, channel): one channel per batch,
    ids in order, at most ``size`` (SUBSCRIPTIONS_BATCH_SIZE) each."""
    by_channel: dict[str, list[int]] = {}
    for pk, channel in rows:
        by_channel.setdefault(channel, []).append(pk)
    for channel, ids in by_channel.items():
        for batch in chunked(sorted(ids), size or settings.SUBSCRIPTIONS_BATCH_SIZE):
            yield channel, batch


def queue_for(channel: str) -> str | None:
    """The queue of a channel's send batches (None: Celery's default queue)."""
    return None if channel == "email" else HTTP_QUEUE


def enqueue_send(
    ids: Iterable[int], countdown: float | None = None, *, channel: str = "email"
) -> None:
    """Enqueue the sending of these deliveries of ``channel`` (raises if the broker is
    unreachable)."""
    queue = queue_for(channel)
    options = {"queue": queue} if queue else {}
    # celery-types wants a float; Celery takes None (no delay), its default.
    current_app.signature(SEND_BATCH, args=(list(ids),)).apply_async(countdown=countdown, **options)  # type: ignore[arg-type]


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
