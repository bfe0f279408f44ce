"""Delivery: claim outbox rows, send them through a channel, record each outcome, retry
temporary failures with backoff (see docs/architecture.md, 'The outbox').

Written once for every channel (``subscriptions.channels``): the channel renders and
sends, this module decides what happens to the row.

* a send task first *claims* its rows (``pending`` → ``sending`` in one UPDATE with
  ``WHERE state = 'pending'``) under a token and a short lease (``subscriptions.lease``)
  and sends only what it still holds, so a duplicate task finds nothing to do and a
  frozen one, once its lease ran out, sends nothing more;
* each row is marked ``sent`` right after the receiving server accepted it (retried over
  a new connection if the database connection was lost), so a worker killed mid-batch
  leaves at most the one message it was transmitting in doubt;
* a temporary error puts the row back to ``pending`` with a growing delay; a permanent
  one (or the last attempt) marks it ``failed`` with the server's answer, and counts a
  hard bounce against the subscriber (``services.record_hard_bounce``).
"""

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db import connection as db_connection
from django.db.models import QuerySet
from django.utils import timezone

from subscriptions import enqueue, services
from subscriptions.channels.base import Channel, Connection, SendError
from subscriptions.channels.mail import EmailChannel
from subscriptions.lease import Lease, LeaseLost, among
from subscriptions.models import Delivery, NotificationEvent, Subscriber

logger = logging.getLogger(__name__)

DState = Delivery.State

# The only channel until deliveries record theirs.
EMAIL = EmailChannel()

__all__ = ["BatchResult", "among", "backoff", "claim", "retry_failed", "send_batch"]


def claim(ids: Iterable[int], *, now: datetime | None = None) -> str:
    """Atomically move the due, pending rows among ``ids`` to ``sending`` under a new
    claim token and lease, and return the token. Rows another task claimed (or already
    sent) are untouched, so two tasks for the same rows never both send."""
    return Lease(list(ids)).claim(now=now).token


def backoff(attempts: int) -> timedelta:
    """Delay before attempt ``attempts + 1``: base * 2^(attempts-1), at most 6 hours."""
    base = settings.SUBSCRIPTIONS_RETRY_BASE_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 6 * 3600))


@dataclass
class BatchResult:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    skipped: int = 0
    lost: int = 0  # rows whose lease ran out before they were sent (another task has them)


def send_batch(ids: Iterable[int], *, channel: Channel = EMAIL) -> BatchResult:
    """Claim ``ids`` under a lease and send what was claimed over one connection of
    ``channel``.

    Before each message the lease is confirmed (and renewed when running short); if the
    batch lost it, it stops without sending anything more. Each row's outcome is written
    as soon as it is known, in its own autocommit with synchronous commit (a database
    crash cannot forget it), conditional on the token, and retried over a new connection
    if the old one was lost: ``sent``; ``skipped`` if the subscriber is no longer active;
    back to ``pending`` with a backoff for a temporary error; ``failed`` with the answer
    for a permanent one. Rows still held when something unexpected stops the batch go
    back to ``pending``.
    """
    result = BatchResult()
    lease = Lease(list(ids)).claim()
    # By id as well as by token: the batch's own rows, never a walk over every row in
    # flight.
    rows = lease.write(
        lambda: list(
            Delivery.objects.filter(among(lease.ids), claim=lease.token, state=DState.SENDING)
            .select_related("subscriber")
            .order_by("pk")
        )
    )
    lease.held = {row.pk for row in rows}
    if not rows:
        return result
    prepared: dict[int, Any] = {}
    connection = channel.connect()
    sent_subscribers: list[int] = []
    retry_at: dict[int, list[int]] = {}
    try:
        for row in rows:
            try:
                lease.confirm(row.pk)
            except LeaseLost:
                result.lost += 1
                continue
            if row.subscriber.state != Subscriber.State.ACTIVE:
                lease.write(_finish, row, DState.SKIPPED, "subscriber is no longer active")
                result.skipped += 1
                continue
            if row.event_id not in prepared:
                # Once per event and batch (not joined into every row: the update's
                # body and the incident would be read and built a hundred times).
                prepared[row.event_id] = lease.write(_prepare, channel, row.event_id)
            outcome = _send_one(lease, connection, channel, prepared[row.event_id], row)
            if outcome is None:
                lease.write(_finish, row, DState.SENT)
                sent_subscribers.append(row.subscriber_id)
                result.sent += 1
            elif outcome == "lost":
                result.lost += 1
            elif outcome == DState.PENDING:
                result.retry += 1
                delay = int(backoff(row.attempts + 1).total_seconds())
                retry_at.setdefault(delay, []).append(row.pk)
            else:
                result.failed += 1
    finally:
        connection.close()
        # Anything still claimed (an unexpected error or a time limit stopped the loop)
        # is handed back now instead of waiting for its lease to run out.
        lease.write(
            lambda: Delivery.objects.filter(
                among(lease.ids), claim=lease.token, state=DState.SENDING
            ).update(state=DState.PENDING, claim="", lease_until=None)
        )
        lease.write(services.clear_hard_bounces, sent_subscribers)
    for delay, retry_ids in retry_at.items():
        try:
            enqueue.enqueue_send(retry_ids, countdown=delay)
        except Exception:
            logger.warning("could not enqueue a retry; the sweeper will pick it up")
    return result


def _prepare(channel: Channel, event_id: int) -> Any:
    event = NotificationEvent.objects.select_related("incident", "update", "postmortem").get(
        pk=event_id
    )
    return channel.prepare(event)


def _send_one(
    lease: Lease, connection: Connection, channel: Channel, prepared: Any, row: Delivery
) -> str | None:
    """Send one row's message; None when the server accepted it, "lost" when the lease
    was lost just before the message was committed (nothing was sent), else the row's
    new state after the error was recorded."""
    try:
        connection.send(prepared, row.subscriber, fence=lambda: lease.confirm(row.pk))
    except LeaseLost:
        connection.close()  # the server drops a message whose data never ended
        return "lost"
    except Exception as exc:
        error = channel.classify(exc)
        if error.broken:
            connection.close()
        return lease.write(_record_error, row, error)
    return None


def _finish(row: Delivery, state: str, error: str = "") -> None:
    """Record the row's outcome (``sent`` or ``skipped``) in its own autocommit, if
    this claim still holds it.

    Plain SQL, one statement per row: building and compiling the same UPDATE through
    the ORM cost about 0.4 ms of CPU per email, half of a worker's time per email
    once messages were pre-rendered (bench/RESULTS.md)."""
    sent = state == DState.SENT
    now = db_connection.ops.adapt_datetimefield_value(timezone.now()) if sent else None
    with db_connection.cursor() as cursor:
        cursor.execute(_finish_sql(), [state, 1 if sent else 0, now, error, row.pk, row.claim])


@functools.cache
def _finish_sql() -> str:
    quote = db_connection.ops.quote_name
    column = {f.name: quote(cast(str, f.column)) for f in Delivery._meta.concrete_fields}
    return (
        f"UPDATE {quote(Delivery._meta.db_table)} SET {column['state']} = %s, "
        f"{column['attempts']} = {column['attempts']} + %s, {column['sent_at']} = %s, "
        f"{column['last_error']} = %s, {column['claim']} = '', {column['lease_until']} = NULL "
        f"WHERE {column['id']} = %s AND {column['claim']} = %s"
    )


def _record_error(row: Delivery, error: SendError) -> str:
    """Write a failed attempt (if this claim still holds the row); returns the row's new
    state."""
    attempts = row.attempts + 1
    if error.permanent or attempts >= settings.SUBSCRIPTIONS_MAX_ATTEMPTS:
        reason = error.reason if error.permanent else f"gave up after {attempts}: {error.reason}"
        Delivery.objects.filter(pk=row.pk, claim=row.claim).update(
            state=DState.FAILED, attempts=attempts, last_error=reason, claim="", lease_until=None
        )
        if error.permanent:
            services.record_hard_bounce(row.subscriber)
        logger.warning("delivery %s failed: %s", row.pk, reason)
        return DState.FAILED
    Delivery.objects.filter(pk=row.pk, claim=row.claim).update(
        state=DState.PENDING,
        attempts=attempts,
        last_error=error.reason,
        next_attempt_at=timezone.now() + backoff(attempts),
        claim="",
        lease_until=None,
    )
    return DState.PENDING


def retry_failed(deliveries: QuerySet[Delivery]) -> int:
    """An operator retries failed deliveries (the address was fixed, the server is back):
    they become pending with fresh attempts and are enqueued; if the broker is down the
    sweeper picks them up. Returns how many."""
    ids = list(deliveries.filter(state=DState.FAILED).values_list("pk", flat=True))
    Delivery.objects.filter(pk__in=ids, state=DState.FAILED).update(
        state=DState.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    for batch in enqueue.chunked(ids, settings.SUBSCRIPTIONS_BATCH_SIZE):
        try:
            enqueue.enqueue_send(batch)
        except Exception:
            logger.warning("could not enqueue retried deliveries; the sweeper will")
            break
    return len(ids)
