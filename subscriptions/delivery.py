"""Delivery: claim outbox rows, send them through a channel, record each outcome, retry
temporary failures with backoff (see docs/architecture.md, 'The outbox').

Written once for every channel (``subscriptions.channels``): the channel renders and
sends, this module decides what happens to the row.

* a send task first *claims* its rows (``pending`` → ``sending`` in one UPDATE with
  ``WHERE state = 'pending'``) and sends only what it claimed, so a duplicate task finds
  nothing to do;
* each row is marked ``sent`` right after the receiving server accepted it, so a worker
  killed mid-batch leaves at most the one message it was transmitting in doubt;
* a temporary error puts the row back to ``pending`` with a growing delay; a permanent
  one (or the last attempt) marks it ``failed`` with the server's answer, and counts a
  hard bounce against the subscriber (``services.record_hard_bounce``).
"""

import contextlib
import functools
import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db import connection as db_connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from subscriptions import enqueue, services
from subscriptions.channels.base import Channel, SendError
from subscriptions.channels.mail import EmailChannel
from subscriptions.models import Delivery, NotificationEvent, Subscriber

logger = logging.getLogger(__name__)

DState = Delivery.State

# The only channel until deliveries record theirs.
EMAIL = EmailChannel()


def claim(ids: Iterable[int], *, now: datetime | None = None) -> str:
    """Atomically move the due, pending rows among ``ids`` to ``sending`` under a new
    claim id, and return it. Rows another task claimed (or already sent) are untouched,
    so two tasks for the same rows never both send."""
    now = now or timezone.now()
    token = uuid.uuid4().hex
    Delivery.objects.filter(
        among(ids), state=DState.PENDING, next_attempt_at__lte=now + timedelta(seconds=1)
    ).update(state=DState.SENDING, claim=token, claimed_at=now)
    return token


def among(ids: Iterable[int]) -> Q:
    """Rows whose id is in ``ids``, written so that any index the planner picks for rows
    in flight is scanned over the batch's id range only.

    ``id IN (...)`` alone is not enough: with statistics from a quiet hour ("almost no
    pending rows") the planner reads the in-flight index by state and filters the ids,
    walking every pending row (bench/RESULTS.md). A range on the id is an index bound
    it always uses; a batch's ids are close together (fan-out pages are in id order)."""
    ids = list(ids)
    if not ids:
        return Q(pk__in=[])
    return Q(pk__in=ids, pk__gte=min(ids), pk__lte=max(ids))


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


@contextlib.contextmanager
def _commits_without_waiting_for_disk() -> Iterator[None]:
    """On PostgreSQL, let this session's commits return before the WAL reaches the disk.

    Each row's outcome is committed on its own, and waiting for the fsync (1.5-2.5 ms
    here) was about 40 % of a worker's time per email (bench/RESULTS.md). A worker that
    dies still leaves at most one message in doubt: its committed rows are in the
    database. Only a crash of the database server itself can lose the last fraction of
    a second of "sent" marks; those rows are then re-sent by the sweeper (a duplicate,
    never a lost email). Reset afterwards: the setting must not outlive the batch on a
    persistent connection."""
    if db_connection.vendor != "postgresql":
        yield
        return
    with db_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with contextlib.suppress(Exception), db_connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


@_commits_without_waiting_for_disk()
def send_batch(ids: Iterable[int], *, channel: Channel = EMAIL) -> BatchResult:
    """Claim ``ids`` and send what was claimed over one connection of ``channel``.

    Each row's outcome is written as soon as it is known (autocommit): ``sent``;
    ``skipped`` if the subscriber is no longer active; back to ``pending`` with a backoff
    for a temporary error; ``failed`` with the answer for a permanent one. Rows still
    held when something unexpected stops the batch go back to ``pending``.
    """
    result = BatchResult()
    ids = list(ids)
    token = claim(ids)
    # By id as well as by claim: the batch's own rows, never a walk over every row in
    # flight.
    rows = list(
        Delivery.objects.filter(among(ids), claim=token, state=DState.SENDING)
        .select_related("subscriber")
        .order_by("pk")
    )
    if not rows:
        return result
    prepared: dict[int, Any] = {}
    connection = channel.connect()
    sent_subscribers: list[int] = []
    retry_at: dict[int, list[int]] = {}
    try:
        for row in rows:
            if row.subscriber.state != Subscriber.State.ACTIVE:
                _finish(row, DState.SKIPPED, error="subscriber is no longer active")
                result.skipped += 1
                continue
            if row.event_id not in prepared:
                # Once per event and batch (not joined into every row: the update's
                # body and the incident would be read and built a hundred times).
                event = NotificationEvent.objects.select_related(
                    "incident", "update", "postmortem"
                ).get(pk=row.event_id)
                prepared[row.event_id] = channel.prepare(event)
            try:
                connection.send(prepared[row.event_id], row.subscriber)
            except Exception as exc:
                error = channel.classify(exc)
                if _record_error(row, error) == DState.PENDING:
                    result.retry += 1
                    delay = int(backoff(row.attempts + 1).total_seconds())
                    retry_at.setdefault(delay, []).append(row.pk)
                else:
                    result.failed += 1
                if error.broken:
                    connection.close()
                continue
            _finish(row, DState.SENT)
            sent_subscribers.append(row.subscriber_id)
            result.sent += 1
    finally:
        connection.close()
        # Anything still claimed (an unexpected error or a time limit stopped the loop)
        # is handed back now instead of waiting for the sweeper.
        Delivery.objects.filter(among(ids), claim=token, state=DState.SENDING).update(
            state=DState.PENDING, claim=""
        )
        services.clear_hard_bounces(sent_subscribers)
    for delay, retry_ids in retry_at.items():
        try:
            enqueue.enqueue_send(retry_ids, countdown=delay)
        except Exception:
            logger.warning("could not enqueue a retry; the sweeper will pick it up")
    return result


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
        f"{column['last_error']} = %s, {column['claim']} = '' "
        f"WHERE {column['id']} = %s AND {column['claim']} = %s"
    )


def _record_error(row: Delivery, error: SendError) -> str:
    """Write a failed attempt; returns the row's new state."""
    attempts = row.attempts + 1
    if error.permanent or attempts >= settings.SUBSCRIPTIONS_MAX_ATTEMPTS:
        reason = error.reason if error.permanent else f"gave up after {attempts}: {error.reason}"
        Delivery.objects.filter(pk=row.pk, claim=row.claim).update(
            state=DState.FAILED, attempts=attempts, last_error=reason, claim=""
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
