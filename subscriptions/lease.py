"""A send batch's lease on its rows, and database writes that survive a lost connection
(see docs/architecture.md, 'The outbox').

* The claim gives the batch's rows a random token and ``lease_until`` = the database's
  clock + SUBSCRIPTIONS_LEASE_SECONDS. The sweeper takes back only rows whose lease ran
  out, so a live batch keeps its rows as long as it renews.
* The batch keeps its own deadline on the local monotonic clock, started *before* the
  statement that set the lease: it never believes it holds a row longer than the database
  does, whatever the clocks of the two machines say.
* Every write of an outcome is conditional on the token: a batch that lost its rows (it
  was frozen, or its lease ran out) changes nothing.
* A ``sent`` mark may be left *in flight* (:meth:`Lease.mark_soon`): sent to the
  database, its commit not yet waited for, while the next message goes out. At most one
  is, and anything else the batch does on the database, and the fence of the next
  message, first waits until it is durable (:meth:`Lease.settle`), redoing it over a new
  connection if the old one was lost.
"""

import logging
import select
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import psycopg
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.db import connection as db_connection
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from statusportal.leases import LEASE_MARGIN
from subscriptions.models import Delivery

logger = logging.getLogger(__name__)

DState = Delivery.State
T = TypeVar("T")


class LeaseLost(Exception):
    """The batch no longer holds the row it was about to send: stop, send nothing more."""


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


def lease_end(now: datetime | None = None) -> object:
    """``lease_until`` for a claim or renewal made now (by the database's clock)."""
    length = timedelta(seconds=settings.SUBSCRIPTIONS_LEASE_SECONDS)
    return (now + length) if now is not None else Now() + length


def retrying(write: Callable[[], T], until: float) -> T:
    """Run ``write``; when the database connection is lost, reconnect and run it again
    until the monotonic time ``until``. Only for writes that are safe to repeat (every
    outcome write is conditional on the claim token)."""
    pause = 0.1
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError) as exc:
            # Inside a transaction the work before the fault is gone: not ours to redo.
            if db_connection.in_atomic_block or time.monotonic() + pause >= until:
                raise
            logger.warning("database connection lost (%s); reconnecting", exc)
            try:
                db_connection.close()
            except Exception:
                logger.debug("closing the broken connection failed", exc_info=True)
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


class InFlight:
    """One write sent to PostgreSQL over the batch's connection, its result not read yet
    (libpq's asynchronous calls: the connection stays Django's, nothing else may use it
    until :meth:`wait` has read the result).

    ``redo`` writes the same thing synchronously, through Django: used when the write
    could not be sent or its connection was lost before it answered (the write is
    conditional on the claim token, so a repeat is harmless)."""

    def __init__(self, sql: bytes, params: list[bytes | None], redo: Callable[[], object]):
        self.redo = redo
        self.failed = True
        self.pgconn: Any = None
        if db_connection.vendor != "postgresql" or db_connection.needs_rollback:
            return
        try:
            db_connection.ensure_connection()
            pgconn = getattr(db_connection.connection, "pgconn", None)  # psycopg 3
            if pgconn is None:
                return
            pgconn.send_query_params(sql, params)
            pgconn.flush()  # a few hundred bytes: on the wire now, whatever happens next
        except Exception:
            logger.warning("could not send a write; it is written again", exc_info=True)
            return
        self.pgconn = pgconn
        self.failed = False

    def sent_on_current_connection(self) -> bool:
        raw = db_connection.connection
        return not self.failed and getattr(raw, "pgconn", None) is self.pgconn

    def wait(self) -> None:
        """Read the write's result: it is durable when this returns (an autocommit with
        synchronous commit). Raises OperationalError when the connection was lost meanwhile
        (the write may or may not have committed), DatabaseError when it failed."""
        pgconn, error = self.pgconn, ""
        try:
            fileno = pgconn.socket
            while pgconn.flush():
                _ready_for(fileno, select.POLLIN | select.POLLOUT)
                pgconn.consume_input()
            while True:
                while pgconn.is_busy():
                    _ready_for(fileno, select.POLLIN)
                    pgconn.consume_input()
                result = pgconn.get_result()
                if result is None:
                    break
                if result.status != psycopg.pq.ExecStatus.COMMAND_OK:
                    error = (result.error_message or b"").decode("utf-8", "replace")
        except (psycopg.Error, OSError, ValueError) as exc:
            # (Not any exception: a task's time limit, raised here, must stop the batch.)
            self.failed = True
            raise OperationalError(f"a write in flight was lost: {exc}") from exc
        if error:
            self.failed = True
            if pgconn.status != psycopg.pq.ConnStatus.OK:
                raise OperationalError(error)
            raise DatabaseError(error)


def _ready_for(fileno: int, events: int) -> None:
    """Block until the socket ``fileno`` is ready (or closed)."""
    poll = select.poll()
    poll.register(fileno, events)
    poll.poll()


class Lease:
    """The rows one send batch holds, and until when it may trust that it does."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        self.token = uuid.uuid4().hex
        self.seconds = settings.SUBSCRIPTIONS_LEASE_SECONDS
        # Time one message may take (the start-up check makes it >= the SMTP timeout).
        self.budget = (self.seconds - LEASE_MARGIN) / 2
        self.deadline = 0.0
        self.held: set[int] = set()
        self.in_flight: InFlight | None = None
        self._settling = False

    def claim(self, *, now: datetime | None = None) -> "Lease":
        """Move the due, pending rows among ``ids`` to ``sending`` under this lease."""
        now_py = now or timezone.now()
        started = time.monotonic()

        def write() -> None:
            Delivery.objects.filter(
                among(self.ids),
                state=DState.PENDING,
                next_attempt_at__lte=now_py + timedelta(seconds=1),
            ).update(
                state=DState.SENDING,
                claim=self.token,
                claimed_at=now_py,
                lease_until=lease_end(now),
            )

        retrying(write, started + LEASE_MARGIN)
        self.deadline = started + self.seconds
        return self

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def renew(self) -> None:
        """Extend the lease of the rows this batch still holds, and learn which they are.
        A row the sweeper took back (its lease ran out) is no longer among them."""
        started = time.monotonic()

        def write() -> set[int]:
            self._settle_once()
            mine = Delivery.objects.filter(among(self.ids), claim=self.token, state=DState.SENDING)
            mine.update(lease_until=lease_end())
            return set(mine.values_list("pk", flat=True))

        self.held = retrying(write, started + self.budget)
        self.deadline = started + self.seconds

    def confirm(self, pk: int) -> None:
        """Before a message: make sure the lease on row ``pk`` will outlast it (renewing
        when less than one message's budget is left); raise LeaseLost if it is gone."""
        if self.remaining() < self.budget:
            self.renew()
        if pk not in self.held:
            raise LeaseLost(pk)

    def fence(self, pk: int) -> None:
        """The fence of a message sent from the batch's own thread, at the last moment
        before the message is committed: the previous message's ``sent`` mark is durable
        (so at most one accepted message is ever unmarked), and the lease on row ``pk``
        holds (:meth:`confirm`)."""
        self.settle()
        self.confirm(pk)

    def check(self, pk: int) -> None:
        """The fence of a message sent from another thread (``Channel.concurrency``):
        no database access, the batch's own thread confirmed and renewed the lease just
        before handing the message over; raise LeaseLost if it is gone or ran out."""
        if pk not in self.held or self.remaining() <= 0:
            raise LeaseLost(pk)

    def write(self, statement: Callable[..., T], *args: Any) -> T:
        """Run an outcome write, reconnecting after a lost connection while the lease
        holds (the write is conditional on the token, so repeating it is harmless)."""

        def write() -> T:
            self._settle_once()
            return statement(*args)

        return retrying(write, self._write_until())

    def mark_soon(self, sql: bytes, params: list[bytes | None], redo: Callable[[], object]) -> None:
        """Start an outcome write without waiting for its commit (``sql`` with ``$n``
        parameters, each given as text); the next write, the next fence or
        :meth:`settle` waits for it. ``redo`` is the same write through Django."""
        self.settle()
        self.in_flight = InFlight(sql, params, redo)

    def settle(self) -> None:
        """Wait until the write in flight, if any, is durable, writing it again over a
        new connection if the old one was lost (while the lease allows, as :meth:`write`)."""
        if self.in_flight is not None:
            retrying(self._settle_once, self._write_until())

    def before_query(self, execute: Callable[..., T], *args: Any) -> T:
        """A Django ``execute_wrapper``: any query on the connection (a subscriber's scope
        read while rendering, a test's look at the rows) first settles the write in flight."""
        self.settle()
        return execute(*args)

    def _settle_once(self) -> None:
        mark = self.in_flight
        if mark is None or self._settling:
            return
        self._settling = True  # (redo's own query passes through before_query)
        try:
            if mark.sent_on_current_connection():
                mark.wait()
            else:
                mark.redo()
            self.in_flight = None
        finally:
            self._settling = False

    def _write_until(self) -> float:
        # Past the deadline as well: until the sweeper takes the row back, the token
        # still matches and the write is right; after, it changes nothing.
        return max(self.deadline + self.seconds, time.monotonic() + 1)
