"""The notification outbox: record events, fan them out to deliveries, sweep up what was
lost (see docs/architecture.md, 'The outbox').

Every step is driven by rows, so that any task may be lost, delivered twice or killed
half-way and the outcome is still "each recipient gets the notification once":

* an event is written in the transaction of the change it reports, and its fan-out is
  enqueued only after that commits;
* fan-out creates rows with an insert that ignores conflicts on the unique
  (event, subscriber) pair, so running it twice adds nothing, and saves a cursor so an
  interrupted run resumes;
* sending is ``subscriptions.delivery`` (claim, send, record, back off);
* the sweeper gives rows whose lease ran out (their worker died or froze) back to
  ``pending`` and re-enqueues whatever stayed pending too long (a lost task, a broker
  outage).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Now
from django.utils import timezone

from components.models import ComponentStatusChange
from incidents.models import Incident, IncidentUpdate, Postmortem
from subscriptions.audience import recipients
from subscriptions.enqueue import batches_by_channel, enqueue_fan_out, enqueue_send
from subscriptions.models import Delivery, NotificationEvent, Subscriber, SweeperRun

DState = Delivery.State

# Subscribers read per fan-out page (keyset pagination by primary key: memory stays flat).
FANOUT_PAGE = 500

# ``enqueue(ids)`` for an email batch, ``enqueue(ids, channel=name)`` for another
# channel's (``enqueue.enqueue_send`` routes it to that channel's queue).
Enqueue = Callable[..., None]


def _enqueue(enqueue: Enqueue, channel: str, ids: list[int]) -> None:
    if channel == Subscriber.Channel.EMAIL:
        enqueue(ids)
    else:
        enqueue(ids, channel=channel)


# --- Recording events (called inside the posting transaction) ------------------------


def record_update(update: IncidentUpdate) -> NotificationEvent | None:
    """Write the outbox event for an update posted with delivery on and enqueue its
    fan-out once the transaction commits. Nothing for notify-off updates."""
    if not update.deliver_notifications:
        return None
    event = NotificationEvent.objects.create(
        kind=NotificationEvent.Kind.UPDATE, incident_id=update.incident_id, update=update
    )
    _fan_out_after_commit(event)
    return event


def record_postmortem(postmortem: Postmortem, notify: bool) -> NotificationEvent | None:
    """Write the outbox event for a postmortem published with ``notify`` on."""
    if not notify:
        return None
    event = NotificationEvent.objects.create(
        kind=NotificationEvent.Kind.POSTMORTEM,
        incident_id=postmortem.incident_id,
        postmortem=postmortem,
    )
    Postmortem.objects.filter(pk=postmortem.pk).update(notified_at=timezone.now())
    _fan_out_after_commit(event)
    return event


def record_reminder(incident: Incident) -> NotificationEvent | None:
    """The maintenance reminder event, once per maintenance (unique constraint)."""
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if locked.reminded_at is not None:
            return None
        event = NotificationEvent.objects.create(
            kind=NotificationEvent.Kind.REMINDER, incident=locked
        )
        locked.reminded_at = timezone.now()
        locked.save(update_fields=["reminded_at"])
        _fan_out_after_commit(event)
    return event


def record_component_change(change: ComponentStatusChange) -> NotificationEvent | None:
    """A component's status changed (live): the event webhook subscribers hear about, as
    Statuspage's component update. Nothing is written while no webhook subscriber is
    active (the usual case: status changes are frequent, webhooks rare)."""
    webhooks = Subscriber.objects.filter(
        channel=Subscriber.Channel.WEBHOOK, state=Subscriber.State.ACTIVE
    )
    if not webhooks.exists():
        return None
    event = NotificationEvent.objects.create(
        kind=NotificationEvent.Kind.COMPONENT, status_change=change
    )
    _fan_out_after_commit(event)
    return event


def _fan_out_after_commit(event: NotificationEvent) -> None:
    transaction.on_commit(lambda: enqueue_fan_out(event.pk))


# --- Fan-out ---------------------------------------------------------------------------


def fan_out(event_id: int, enqueue: Enqueue = enqueue_send) -> int:
    """Create a pending Delivery for every recipient of the event and enqueue send tasks
    in batches. Returns how many recipients were visited.

    1. Read recipients' primary keys a page at a time, after the saved cursor (keyset
       pagination: no OFFSET, no growing memory).
    2. Insert the page's rows; conflicts (rows from an earlier run) are ignored.
    3. Enqueue the page's still-pending rows in batches of SUBSCRIPTIONS_BATCH_SIZE.
    4. Save the cursor, so an interrupted fan-out resumes where it stopped; finally mark
       the event fanned out.
    """
    event = (
        NotificationEvent.objects.select_related(
            "incident", "update", "postmortem", "status_change"
        )
        .filter(pk=event_id)
        .first()
    )
    if event is None or event.fanned_out_at is not None:
        return 0
    audience = recipients(event).order_by("pk")
    cursor = event.fanout_cursor
    visited = 0
    while True:
        page = list(audience.filter(pk__gt=cursor).values_list("pk", flat=True)[:FANOUT_PAGE])
        if not page:
            break
        _insert_rows(event, page)
        # The page's rows through the unique (event, subscriber) index, as one range;
        # the state is checked here rather than in SQL, so that no index on the state
        # can offer the planner a scan of every pending row (stale statistics make
        # that look cheap; it costs O(backlog) per page).
        rows = Delivery.objects.filter(
            event=event, subscriber_id__gte=page[0], subscriber_id__lte=page[-1]
        ).values_list("pk", "state", "channel")
        pending = [(pk, channel) for pk, state, channel in rows if state == DState.PENDING]
        for channel, batch in batches_by_channel(pending):
            _enqueue(enqueue, channel, batch)
        cursor = page[-1]
        NotificationEvent.objects.filter(pk=event.pk).update(fanout_cursor=cursor)
        visited += len(page)
    NotificationEvent.objects.filter(pk=event.pk).update(fanned_out_at=timezone.now())
    return visited


def _insert_rows(event: NotificationEvent, subscriber_ids: list[int]) -> None:
    """Insert a pending row per subscriber (with its channel), skipping pairs that
    already have one.

    What ``bulk_create(ignore_conflicts=True)`` does, in one INSERT ... SELECT: building
    and preparing 500 model instances per page cost ~40 us of CPU per recipient, about
    a tenth of the worker's time per email (bench/RESULTS.md). Every column without a
    value here has a NULL default."""
    quote = db_connection.ops.quote_name
    # (A concrete field's column is set: the casts only tell mypy so.)
    column = {f.name: quote(cast(str, f.column)) for f in Delivery._meta.concrete_fields}
    subscriber = Subscriber._meta
    subscriber_pk = quote(cast(str, subscriber.pk.column))
    now = db_connection.ops.adapt_datetimefield_value(timezone.now())
    sql = (
        f"INSERT INTO {quote(Delivery._meta.db_table)} ({column['event']}, "
        f"{column['subscriber']}, {column['channel']}, {column['state']}, "
        f"{column['attempts']}, {column['last_error']}, {column['claim']}, "
        f"{column['next_attempt_at']}, {column['created_at']}) "
        f"SELECT %s, {subscriber_pk}, {quote(cast(str, subscriber.get_field('channel').column))}, "
        f"%s, 0, '', '', %s, %s "
        f"FROM {quote(subscriber.db_table)} "
        f"WHERE {subscriber_pk} IN ({', '.join(['%s'] * len(subscriber_ids))}) "
        # Delivery ids in subscriber order: a batch's ids stay close together (the id
        # range of ``among``) and follow the audience's order.
        f"ORDER BY {subscriber_pk} "
        # (SQLite needs the WHERE to read ON CONFLICT as the upsert clause.)
        "ON CONFLICT DO NOTHING"
    )
    with db_connection.cursor() as cursor:
        cursor.execute(sql, [event.pk, DState.PENDING, now, now, *subscriber_ids])


# --- Sweeper ---------------------------------------------------------------------------


@dataclass
class SweepResult:
    events: int = 0
    released: int = 0
    requeued: int = 0


def sweep(
    *,
    now: datetime | None = None,
    enqueue_fan_out: Callable[[int], object] = enqueue_fan_out,
    enqueue: Enqueue = enqueue_send,
) -> SweepResult:
    """Recover whatever a lost task, a broker outage or a dead worker left behind.

    Safe to run any number of times at once (two beats by mistake, a worker's start-up
    sweep): every step takes its rows with a conditional UPDATE, so each row is handed
    to one sweep only.

    1. Events whose fan-out never finished and are older than SUBSCRIPTIONS_STALE_SECONDS:
       enqueue the fan-out again (it resumes from its cursor; running twice adds nothing).
    2. Rows ``sending`` whose lease ran out (their worker died or froze): back to
       ``pending``, due now, and enqueued in this same sweep.
    3. Rows ``pending`` and due for longer than SUBSCRIPTIONS_STALE_SECONDS: push their
       due time to now (only rows still that old: a concurrent sweep finds them taken)
       and enqueue them in batches, so the next sweep waits again.
    """
    db_now = now or Now()
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.SUBSCRIPTIONS_STALE_SECONDS)
    result = SweepResult()

    for event_id in NotificationEvent.objects.filter(
        fanned_out_at__isnull=True, created_at__lte=stale
    ).values_list("pk", flat=True):
        enqueue_fan_out(event_id)
        result.events += 1

    # By the database's clock, the one the lease was written with.
    result.released = Delivery.objects.filter(state=DState.SENDING, lease_until__lt=db_now).update(
        state=DState.PENDING, claim="", lease_until=None, next_attempt_at=stale
    )

    cursor = 0
    while True:
        page = list(
            Delivery.objects.filter(state=DState.PENDING, next_attempt_at__lte=stale, pk__gt=cursor)
            .order_by("pk")
            .values_list("pk", "channel")[:FANOUT_PAGE]
        )
        if not page:
            break
        for channel, batch in batches_by_channel(page):
            taken = _take(batch, stale, now)
            if taken:
                _enqueue(enqueue, channel, taken)
                result.requeued += len(taken)
        cursor = page[-1][0]
    record_sweep(now)
    return result


def _take(ids: list[int], stale: datetime, now: datetime) -> list[int]:
    """Push the due time of those of ``ids`` still pending and stale, and return them:
    of two sweeps at once, only one gets each row."""
    with transaction.atomic():
        taken = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids, state=DState.PENDING, next_attempt_at__lte=stale)
            .values_list("pk", flat=True)
        )
        Delivery.objects.filter(pk__in=taken).update(next_attempt_at=now)
    return sorted(taken)


def record_sweep(now: datetime) -> None:
    """Remember when the sweeper last ran (the admin and /metrics show it)."""
    if not SweeperRun.objects.filter(pk=1).update(finished_at=now, runs=F("runs") + 1):
        SweeperRun.objects.get_or_create(pk=1, defaults={"finished_at": now, "runs": 1})
