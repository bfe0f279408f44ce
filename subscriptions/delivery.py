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
  leaves at most the one message it was transmitting in doubt. The mark's commit runs
  while the next message's envelope goes out; that message's fence (before its data)
  waits until the mark is durable, so it is never more than one;
* a temporary error puts the row back to ``pending`` with a growing delay; a permanent
  one (or the last attempt) marks it ``failed`` with the server's answer, and counts a
  hard bounce against the subscriber (``services.record_hard_bounce``).

One concern, kept in one module although it passes 400 lines: the life of a claimed row
until its outcome is recorded; the claim, the send loop and the outcome writes share the
lease and the fence, and are safe only read together.
"""

import functools
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection as db_connection
from django.db.models import F, QuerySet
from django.dispatch import receiver
from django.utils import timezone

from statusportal import revision
from subscriptions import enqueue, services
from subscriptions.channels.base import Channel, Connection, SendError
from subscriptions.channels.mail import EmailChannel
from subscriptions.channels.slack import SlackChannel
from subscriptions.channels.teams import TeamsChannel
from subscriptions.channels.webhook import WebhookChannel
from subscriptions.lease import Lease, LeaseLost, among
from subscriptions.models import Delivery, NotificationEvent, Subscriber

logger = logging.getLogger(__name__)

DState = Delivery.State

EMAIL = EmailChannel()
# Every channel, by the name deliveries record.
CHANNELS: dict[str, Channel] = {
    c.name: c for c in (EMAIL, WebhookChannel(), SlackChannel(), TeamsChannel())
}

__all__ = ["CHANNELS", "BatchResult", "among", "backoff", "claim", "retry_failed", "send_batch"]


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


def send_batch(ids: Iterable[int], *, channel: Channel | None = None) -> BatchResult:
    """Claim ``ids`` under a lease and send what was claimed, each row through its own
    channel (or ``channel`` for every row), over one connection per channel.

    Before each message the lease is confirmed (and renewed when running short); if the
    batch lost it, it stops without sending anything more. Each row's outcome is written
    as soon as it is known, in its own autocommit with synchronous commit (a database
    crash cannot forget it), conditional on the token, and retried over a new connection
    if the old one was lost: ``sent``; ``skipped`` if the subscriber is no longer active;
    back to ``pending`` with a backoff for a temporary error; ``failed`` with the answer
    for a permanent one. Rows still held when something unexpected stops the batch go
    back to ``pending``.

    A channel with ``concurrency`` above 1 (the HTTP channels) has that many messages in
    flight at once on other threads; this thread still confirms the lease before handing
    each one over and writes every outcome, so one endpoint that hangs delays no other.
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
    by_channel: dict[str, list[Delivery]] = {}
    for row in rows:
        by_channel.setdefault(row.channel, []).append(row)
    tally = Tally(result)
    # A sent mark may be in flight on the connection (Lease.mark_soon): whatever else
    # queries it meanwhile waits for that mark first.
    with db_connection.execute_wrapper(lease.before_query):
        _send_groups(lease, channel, by_channel, tally)
    for (name, delay), retry_ids in tally.retry_at.items():
        try:
            enqueue.enqueue_send(retry_ids, countdown=delay, channel=name)
        except Exception:
            logger.warning("could not enqueue a retry; the sweeper will pick it up")
    return result


def _send_groups(
    lease: Lease, channel: Channel | None, by_channel: dict[str, list[Delivery]], tally: "Tally"
) -> None:
    try:
        for name, group in by_channel.items():
            medium = channel or CHANNELS[name]
            if medium.concurrency > 1:
                _send_concurrently(lease, medium, group, tally)
            else:
                _send_in_turn(lease, medium, group, tally)
    finally:
        # Anything still claimed (an unexpected error or a time limit stopped the loop)
        # is handed back now instead of waiting for its lease to run out.
        lease.write(
            lambda: Delivery.objects.filter(
                among(lease.ids), claim=lease.token, state=DState.SENDING
            ).update(state=DState.PENDING, claim="", lease_until=None)
        )
        lease.write(services.clear_hard_bounces, tally.sent_subscribers)


@dataclass
class Tally:
    """A batch's outcomes so far: the counts, who was reached, what to retry when."""

    result: BatchResult
    sent_subscribers: list[int] = field(default_factory=list)
    retry_at: dict[tuple[str, int], list[int]] = field(default_factory=dict)

    def count(self, row: Delivery, outcome: "Outcome") -> None:
        if outcome is None:
            self.sent_subscribers.append(row.subscriber_id)
            self.result.sent += 1
        elif outcome == "lost":
            self.result.lost += 1
        elif isinstance(outcome, int):
            self.result.retry += 1
            self.retry_at.setdefault((row.channel, outcome), []).append(row.pk)
        else:
            self.result.failed += 1


# None: sent; "lost": the lease was lost before the message was committed; an int: back
# to pending, due in that many seconds; "failed".
Outcome = str | int | None


def _ready(lease: Lease, row: Delivery, tally: Tally) -> bool:
    """Confirm the lease on ``row`` and that its subscriber still wants it; False (and
    the row accounted for) when it is not to be sent."""
    try:
        lease.confirm(row.pk)
    except LeaseLost:
        tally.result.lost += 1
        return False
    if row.subscriber.state != Subscriber.State.ACTIVE:
        lease.write(_finish, row, DState.SKIPPED, "subscriber is no longer active")
        tally.result.skipped += 1
        return False
    return True


def _send_in_turn(lease: Lease, channel: Channel, rows: list[Delivery], tally: Tally) -> None:
    """One message after the other over one connection (email: one SMTP session)."""
    prepared: dict[int, Any] = {}
    connection = channel.connect()
    try:
        for row in rows:
            if not _ready(lease, row, tally):
                continue
            if row.event_id not in prepared:
                # Once per event and batch (not joined into every row: the update's
                # body and the incident would be read and built a hundred times).
                prepared[row.event_id] = lease.write(_prepare, channel, row.event_id)
            outcome = _send_one(lease, connection, channel, prepared[row.event_id], row)
            if outcome is None:
                # Committed while the next message goes out; its fence waits for it.
                lease.mark_soon(*_sent_mark(row))
                tally.count(row, None)
            else:
                tally.count(row, _settle(lease, channel, row, outcome))
    finally:
        connection.close()


def _send_concurrently(lease: Lease, channel: Channel, rows: list[Delivery], tally: Tally) -> None:
    """Up to ``channel.concurrency`` messages in flight on a thread pool. This thread
    confirms the lease before each hand-over and writes each outcome as it arrives; the
    sending thread's fence checks the lease without touching the database."""
    prepared: dict[int, Any] = {}
    connection = channel.connect()
    in_flight: dict[Future[BaseException | None], Delivery] = {}

    def settle(done: Iterable[Future[BaseException | None]]) -> None:
        delivered: list[Delivery] = []
        for future in done:
            row = in_flight.pop(future)
            error = future.result()
            if error is None:
                delivered.append(row)
            else:
                tally.count(row, _settle(lease, channel, row, error))
        if delivered:
            # The messages that arrived since the last look, marked in one commit: no
            # more in doubt than the messages in flight were a moment ago.
            lease.write(_finish_sent, [row.pk for row in delivered], lease.token)
            for row in delivered:
                tally.count(row, None)

    try:
        with ThreadPoolExecutor(channel.concurrency, thread_name_prefix="send") as pool:
            try:
                for row in rows:
                    if len(in_flight) >= channel.concurrency:
                        settle(wait(in_flight, return_when=FIRST_COMPLETED).done)
                    if not _ready(lease, row, tally):
                        continue
                    if row.event_id not in prepared:
                        prepared[row.event_id] = lease.write(_prepare, channel, row.event_id)
                    future = pool.submit(_attempt, lease, connection, prepared[row.event_id], row)
                    in_flight[future] = row
                settle(wait(in_flight).done)
            finally:
                # (Something unexpected stopped the loop: the messages in flight finish
                # within their timeout, their outcomes are still written.)
                if in_flight:
                    settle(wait(in_flight).done)
    finally:
        connection.close()


def _attempt(
    lease: Lease, connection: Connection, prepared: Any, row: Delivery
) -> BaseException | None:
    """Send one row's message on a pool thread; the error, or None when delivered."""
    try:
        connection.send(prepared, row.subscriber, fence=lambda: lease.check(row.pk))
    except Exception as exc:
        return exc
    return None


def _settle(lease: Lease, channel: Channel, row: Delivery, error: BaseException | None) -> Outcome:
    """Write the outcome of one attempt."""
    if error is None:
        lease.write(_finish, row, DState.SENT)
        return None
    if isinstance(error, LeaseLost):
        return "lost"
    if not isinstance(error, Exception):
        raise error
    state, delay = lease.write(_record_error, row, channel.classify(error))
    return delay if state == DState.PENDING else "failed"


@dataclass
class _Kept:
    revision: int
    until: float
    prepared: Any


# What a channel prepared for an event, kept for the process's next batches of the same
# event (a fan-out sends hundreds): (channel class, event) -> _Kept.
_kept: dict[tuple[type[Channel], int], _Kept] = {}
KEEP_PREPARED_SECONDS = 10.0
_KEEP_EVENTS = 8


def _prepare(channel: Channel, event_id: int) -> Any:
    """What ``channel`` renders once for the event, reused by this process's following
    batches while nothing public changed (the content revision, ``statusportal.
    revision``, is the same) and for at most KEEP_PREPARED_SECONDS: rendering and
    flattening an email costs about 15 ms of CPU, as much as sending thirty (a batch
    is a hundred)."""
    number = revision.current().number
    key = (type(channel), event_id)
    kept = _kept.get(key)
    if kept is not None and kept.revision == number and time.monotonic() < kept.until:
        again = channel.reuse(kept.prepared)
        if again is not None:
            return again
    event = NotificationEvent.objects.select_related("incident", "update", "postmortem").get(
        pk=event_id
    )
    prepared = channel.prepare(event)
    _kept.pop(key, None)
    while len(_kept) >= _KEEP_EVENTS:
        del _kept[next(iter(_kept))]
    _kept[key] = _Kept(number, time.monotonic() + KEEP_PREPARED_SECONDS, prepared)
    return prepared


@receiver(setting_changed)
def _forget_prepared(**kwargs: Any) -> None:
    _kept.clear()


def _send_one(
    lease: Lease, connection: Connection, channel: Channel, prepared: Any, row: Delivery
) -> Exception | None:
    """Send one row's message; None when the server accepted it, else the error (a
    LeaseLost when the lease was lost just before the message was committed: nothing
    was sent).

    The fence waits for the previous message's sent mark and confirms the lease; if it
    fails, for any reason, the connection is closed: the server drops a message whose
    data never ended, and the session is not left in the middle of one."""
    fenced: list[BaseException] = []

    def fence() -> None:
        try:
            lease.fence(row.pk)
        except BaseException as exc:
            fenced.append(exc)
            raise

    try:
        connection.send(prepared, row.subscriber, fence=fence)
    except Exception as exc:
        if fenced or channel.classify(exc).broken:
            connection.close()
        return exc
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


def _sent_mark(row: Delivery) -> tuple[bytes, list[bytes | None], Callable[[], None]]:
    """``_finish(row, SENT)`` as SQL with its parameters as text, for a write left in
    flight (``Lease.mark_soon``), and the same write through Django to redo it."""
    now = timezone.now().isoformat().encode()
    params: list[bytes | None] = [
        DState.SENT.encode(),
        b"1",
        now,
        b"",
        str(row.pk).encode(),
        row.claim.encode(),
    ]
    return _finish_sql_numbered(), params, functools.partial(_finish, row, DState.SENT)


def _finish_sent(ids: list[int], token: str) -> None:
    """Mark the rows ``ids`` this claim still holds ``sent``, in one autocommit."""
    Delivery.objects.filter(among(ids), claim=token).update(
        state=DState.SENT,
        attempts=F("attempts") + 1,
        sent_at=timezone.now(),
        last_error="",
        claim="",
        lease_until=None,
    )


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


@functools.cache
def _finish_sql_numbered() -> bytes:
    """``_finish_sql`` with libpq's ``$1 … $n`` placeholders."""
    pieces = _finish_sql().split("%s")
    numbered = pieces[0] + "".join(f"${n}{piece}" for n, piece in enumerate(pieces[1:], 1))
    return numbered.encode()


def retry_delay(attempts: int, error: SendError) -> timedelta:
    """The backoff after ``attempts``, or later if the receiver asked (Retry-After)."""
    delay = backoff(attempts)
    if error.retry_after is not None:
        delay = max(delay, timedelta(seconds=min(error.retry_after, 6 * 3600)))
    return delay


def _record_error(row: Delivery, error: SendError) -> tuple[str, int]:
    """Write a failed attempt (if this claim still holds the row); returns the row's new
    state and, when it is pending again, in how many seconds it is due."""
    attempts = row.attempts + 1
    if error.permanent or attempts >= settings.SUBSCRIPTIONS_MAX_ATTEMPTS:
        reason = error.reason if error.permanent else f"gave up after {attempts}: {error.reason}"
        Delivery.objects.filter(pk=row.pk, claim=row.claim).update(
            state=DState.FAILED, attempts=attempts, last_error=reason, claim="", lease_until=None
        )
        if error.permanent:
            services.record_hard_bounce(row.subscriber, reason)
        logger.warning("delivery %s failed: %s", row.pk, reason)
        return DState.FAILED, 0
    delay = retry_delay(attempts, error)
    Delivery.objects.filter(pk=row.pk, claim=row.claim).update(
        state=DState.PENDING,
        attempts=attempts,
        last_error=error.reason,
        next_attempt_at=timezone.now() + delay,
        claim="",
        lease_until=None,
    )
    return DState.PENDING, int(delay.total_seconds())


def send_test(subscriber: Subscriber) -> str | None:
    """Send the channel's test message to ``subscriber`` now (the admin's "send test"):
    None when the endpoint accepted it, else why not. Nothing goes through the outbox."""
    channel = CHANNELS[subscriber.channel]
    prepared = channel.prepare_test()
    if prepared is None:
        return f"the {channel.name} channel has no test message"
    connection = channel.connect()
    try:
        connection.send(prepared, subscriber)
    except Exception as exc:
        return channel.classify(exc).reason
    finally:
        connection.close()
    return None


def retry_failed(deliveries: QuerySet[Delivery]) -> int:
    """An operator retries failed deliveries (the address was fixed, the server is back):
    they become pending with fresh attempts and are enqueued; if the broker is down the
    sweeper picks them up. Returns how many."""
    rows = list(deliveries.filter(state=DState.FAILED).values_list("pk", "channel"))
    ids = [pk for pk, _ in rows]
    Delivery.objects.filter(pk__in=ids, state=DState.FAILED).update(
        state=DState.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    try:
        for name, batch in enqueue.batches_by_channel(rows):
            enqueue.enqueue_send(batch, channel=name)
    except Exception:
        logger.warning("could not enqueue retried deliveries; the sweeper will")
    return len(ids)
