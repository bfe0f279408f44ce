"""Leases on send batches: a batch that lost its rows sends nothing more, a slow batch
keeps its rows by renewing, outcome writes survive a lost database connection, the
sweeper is safe to run twice, and contradictory timing settings stop start-up."""

import smtplib
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.db import OperationalError, connection
from django.utils import timezone

from statusportal.celery import app as celery_app
from statusportal.leases import check_delivery_timing
from statusportal.mail import open_connection, use_mail_server
from subscriptions import delivery, enqueue, outbox, services
from subscriptions.channels.mail import EmailChannel, EmailConnection, fenced_data, transmit
from subscriptions.lease import LeaseLost
from subscriptions.models import Delivery, Subscriber, SweeperRun
from tests.services import free_port
from tests.subscriptions.smtp import Handler, SMTPServer
from tests.subscriptions.test_outbox import Queue, post
from tests.test_settings import run_manage

DState = Delivery.State


class Clock:
    """time.monotonic for the lease, moved forward by the test (a slow batch, a pause)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.perf_counter() + self.offset


class HookedChannel(EmailChannel):
    """The email channel, calling ``hook(n)`` before the n-th message of the batch."""

    def __init__(self, hook) -> None:
        self.hook = hook
        self.count = 0

    def connect(self) -> EmailConnection:
        channel = self
        connection = super().connect()
        send = connection.send

        def hooked(prepared, subscriber, *, fence=None):
            channel.count += 1
            channel.hook(channel.count)
            send(prepared, subscriber, fence=fence)

        connection.send = hooked  # type: ignore[method-assign]
        return connection


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("subscriptions.lease.time.monotonic", clock)
    return clock


@pytest.fixture
def five(open_incident, db):
    for i in range(5):
        services.add_subscriber(f"l{i}@example.com", confirmed=True)
    event = post(open_incident())
    queue = Queue()
    outbox.fan_out(event.pk, enqueue=queue)
    return queue[0]


def test_a_batch_that_lost_its_lease_sends_nothing_more(five, clock, settings):
    settings.SUBSCRIPTIONS_LEASE_SECONDS = 30

    def frozen_past_the_lease(n):
        if n == 2:
            # The worker froze: its lease ran out and the sweeper gave the rows away.
            Delivery.objects.filter(state=DState.SENDING).update(
                lease_until=timezone.now() - timedelta(seconds=1)
            )
            assert outbox.sweep(enqueue=Queue()).released == 4
            clock.offset += 31

    result = delivery.send_batch(five, channel=HookedChannel(frozen_past_the_lease))
    # The message it was about to send when it froze is stopped at the fence.
    assert result.sent == 1 and result.lost == 4
    assert len(mail.outbox) == 1
    assert Delivery.objects.filter(state=DState.PENDING, claim="").count() == 4
    # Whoever gets the rows next sends each once.
    assert delivery.send_batch(five).sent == 4
    assert sorted(m.to[0] for m in mail.outbox) == [f"l{i}@example.com" for i in range(5)]


def test_a_slow_batch_renews_its_lease_and_keeps_its_rows(five, clock, settings):
    settings.SUBSCRIPTIONS_LEASE_SECONDS = 30
    seen = []

    def slow(n):
        clock.offset += 12  # each message takes 12 s: the batch outlives its first lease
        seen.append(list(Delivery.objects.filter(state=DState.SENDING).values_list("lease_until")))
        # The sweeper runs meanwhile and finds every lease alive.
        assert outbox.sweep(enqueue=Queue()).released == 0

    result = delivery.send_batch(five, channel=HookedChannel(slow))
    assert result.sent == 5 and result.lost == 0
    assert len(mail.outbox) == 5
    assert max(seen[-1])[0] > min(seen[0])[0], "the lease was never renewed"


def other_connection(*, autocommit: bool = False) -> psycopg.Connection:
    """A connection of another process (a locker, the sweeper, an administrator)."""
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=autocommit,
    )


def lock_row(locker: psycopg.Connection, pk: int) -> None:
    """Hold row ``pk`` (a long transaction elsewhere): a sent mark for it waits, in flight."""
    locker.execute("SELECT 1 FROM subscriptions_delivery WHERE id = %s FOR UPDATE", [pk])


def terminate(admin: psycopg.Connection, pid: int) -> None:
    """Kill the backend ``pid`` (as ``pg_terminate_backend`` does in an outage) and wait
    until it is gone."""
    admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 10
    while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
        assert time.monotonic() < deadline, "the backend did not go away"
        time.sleep(0.02)


def backend_pid() -> int:
    """The PostgreSQL process of the batch's connection, read without a query (a query
    would first wait for the mark in flight)."""
    return connection.connection.pgconn.backend_pid


@pytest.mark.django_db(transaction=True)
def test_the_sent_mark_is_written_again_after_a_lost_database_connection(five):
    first = min(five)
    pids = []
    with other_connection() as locker, other_connection(autocommit=True) as admin:

        def hook(n):
            if n == 1:
                # The first message's mark will wait behind this lock, in flight...
                lock_row(locker, first)
            elif n == 2:
                # ...when the connection it was sent on dies (the UPDATE is rolled back).
                pids.append(backend_pid())
                terminate(admin, pids[0])
                locker.rollback()

        assert delivery.send_batch(five, channel=HookedChannel(hook)).sent == 5
    assert backend_pid() != pids[0], "the batch did not reconnect"
    assert Delivery.objects.get(pk=first).state == DState.SENT
    assert Delivery.objects.filter(state=DState.SENT).count() == 5
    assert len(mail.outbox) == 5
    # Sent once, and not handed back to be sent again.
    assert delivery.send_batch(five).sent == 0 and len(mail.outbox) == 5


@pytest.mark.django_db(transaction=True)
def test_a_lease_lost_while_a_mark_is_in_flight_stops_the_next_message(five, clock, settings):
    settings.SUBSCRIPTIONS_LEASE_SECONDS = 30
    first = min(five)
    released = []
    with other_connection() as locker, other_connection(autocommit=True) as admin:

        def sweeper():
            released.append(outbox.sweep(enqueue=Queue()).released)
            connection.close()

        def hook(n):
            if n == 1:
                lock_row(locker, first)  # the first message's mark waits, in flight
            elif n == 2:
                # The worker froze with that mark in flight; the other rows' lease ran
                # out meanwhile and the sweeper (another process) took them back.
                admin.execute(
                    "UPDATE subscriptions_delivery SET lease_until = now() - interval '1 s' "
                    "WHERE state = 'sending' AND id <> %s",
                    [first],
                )
                thread = threading.Thread(target=sweeper)
                thread.start()
                thread.join()
                clock.offset += 31
                locker.rollback()

        result = delivery.send_batch(five, channel=HookedChannel(hook))
    assert released == [4]
    # The mark in flight is written; the next message is stopped at its fence.
    assert result.sent == 1 and result.lost == 4
    assert len(mail.outbox) == 1
    assert Delivery.objects.get(pk=first).state == DState.SENT
    assert Delivery.objects.filter(state=DState.PENDING, claim="").count() == 4
    assert delivery.send_batch(five).sent == 4
    assert sorted(m.to[0] for m in mail.outbox) == [f"l{i}@example.com" for i in range(5)]


class LookingHandler(Handler):
    """An SMTP server that counts, as the data of each message ends, the rows already
    marked ``sent`` (looking from a connection of its own)."""

    def __init__(self) -> None:
        super().__init__()
        self.marked: list[int] = []

    async def handle_DATA(self, server, session, envelope):
        with other_connection(autocommit=True) as look:
            row = look.execute(
                "SELECT count(*) FROM subscriptions_delivery WHERE state = 'sent'"
            ).fetchone()
        self.marked.append(row[0])
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.django_db(transaction=True)
def test_a_message_ends_only_once_the_previous_mark_is_durable(five, settings):
    first = min(five)
    with SMTPServer(LookingHandler()) as server, other_connection() as locker:
        use_mail_server(settings, server.settings())

        def hook(n):
            if n == 1:
                lock_row(locker, first)  # the first mark stays in flight for half a second
            elif n == 2:
                threading.Timer(0.5, locker.rollback).start()

        assert delivery.send_batch(five, channel=HookedChannel(hook)).sent == 5
        # Never more than one accepted message without its mark: the one just accepted.
        assert server.handler.marked == [0, 1, 2, 3, 4]


@pytest.mark.django_db(transaction=True)
def test_a_database_gone_for_good_leaves_only_the_message_in_flight_in_doubt(five, settings, clock):
    first = min(five)
    port = connection.settings_dict["PORT"]
    with SMTPServer() as server, other_connection() as locker:
        use_mail_server(settings, server.settings())
        with other_connection(autocommit=True) as admin:

            def hook(n):
                if n == 1:
                    lock_row(locker, first)
                elif n == 2:
                    # The first message was accepted, its mark is in flight: the database
                    # goes away and does not come back while the batch could wait.
                    connection.settings_dict["PORT"] = free_port()
                    terminate(admin, backend_pid())
                    locker.rollback()
                    clock.offset += 3600

            try:
                with pytest.raises(OperationalError):
                    delivery.send_batch(five, channel=HookedChannel(hook))
            finally:
                connection.settings_dict["PORT"] = port
                connection.close()
        # The second message's data never ended: the server delivered only the first.
        assert server.handler.count == 1
        # Once the lease runs out the sweeper hands every row back; the first message,
        # the one in doubt, is the only one sent twice.
        Delivery.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
        assert outbox.sweep(enqueue=Queue()).released == 5
        assert delivery.send_batch(five).sent == 5
        time.sleep(0.2)
        got = sorted(r.to for r in server.handler.received)
    assert got == sorted(["l0@example.com"] + [f"l{i}@example.com" for i in range(5)])


def test_an_outcome_write_of_a_token_that_lost_the_row_changes_nothing(five):
    token = delivery.claim(five)
    row = Delivery.objects.get(pk=five[0])
    Delivery.objects.filter(pk=row.pk).update(state=DState.PENDING, claim="other")
    delivery._finish(row, DState.SENT)
    row.refresh_from_db()
    assert row.state == DState.PENDING and row.claim == "other" and token != "other"


def test_the_fence_stops_the_message_before_its_data(db):
    with SMTPServer(Handler()) as server:
        smtp = smtplib.SMTP("127.0.0.1", server.port, timeout=5)
        raw = type("Raw", (), {"sender": "a@example.com", "recipient": "b@example.com"})()
        raw.data = b"Subject: hi\r\n\r\nbody\r\n"

        def lost():
            raise LeaseLost(1)

        with pytest.raises(LeaseLost):
            transmit(smtp, raw, lost)
        smtp.close()
        transmit_ok = smtplib.SMTP("127.0.0.1", server.port, timeout=5)
        transmit(transmit_ok, raw, lambda: None)
        transmit_ok.quit()
        time.sleep(0.2)
        assert server.handler.count == 1


def test_two_sweeps_at_once_enqueue_each_row_once(open_incident, everything, settings):
    settings.SUBSCRIPTIONS_STALE_SECONDS = 60
    event = post(open_incident())
    outbox.fan_out(event.pk, enqueue=Queue())  # the send task was lost
    later = timezone.now() + timedelta(seconds=61)
    first, second = Queue(), Queue()
    outbox.sweep(now=later, enqueue=first)
    outbox.sweep(now=later, enqueue=second)
    assert first == [[Delivery.objects.get().pk]] and second == []
    assert SweeperRun.objects.get().finished_at == later


@pytest.mark.parametrize(
    ("lease", "smtp_timeout", "time_limit", "visibility", "variable"),
    [
        (20, 10, 900, 3600, "SUBSCRIPTIONS_LEASE_SECONDS"),
        (60, 10, 30, 3600, "CELERY_TASK_TIME_LIMIT"),
        (30, 10, 900, 600, "CELERY_VISIBILITY_TIMEOUT"),
    ],
)
def test_contradictory_timing_is_refused(lease, smtp_timeout, time_limit, visibility, variable):
    with pytest.raises(ImproperlyConfigured, match=variable):
        check_delivery_timing(
            lease=lease,
            smtp_timeout=smtp_timeout,
            time_limit=time_limit,
            visibility_timeout=visibility,
        )
    check_delivery_timing(lease=30, smtp_timeout=10, time_limit=900, visibility_timeout=3600)


def test_a_lease_shorter_than_the_smtp_timeout_allows_stops_start_up(tmp_path):
    result = run_manage(
        "check",
        EMAIL_URL="smtp://127.0.0.1:2525",
        EMAIL_TIMEOUT="30",
        SUBSCRIPTIONS_LEASE_SECONDS="30",
        STATUSPORTAL_VAR_DIR=str(tmp_path),
    )
    assert result.returncode != 0
    assert "SUBSCRIPTIONS_LEASE_SECONDS (30) must be at least twice EMAIL_TIMEOUT (30)" in (
        result.stderr
    )


def test_unsubscribed_meanwhile_is_skipped_not_lost(five):
    Subscriber.objects.filter(email="l0@example.com").update(state="unsubscribed")
    result = delivery.send_batch(five)
    assert result.sent == 4 and result.skipped == 1 and result.lost == 0


def test_the_fence_also_stops_a_message_the_django_backend_sends_itself(settings, db):
    with SMTPServer(Handler()) as server:
        use_mail_server(settings, server.settings())
        backend = open_connection()
        backend.open()

        def lost():
            raise LeaseLost(1)

        message = EmailMessage("hi", "body", "a@example.com", ["b@example.com"])
        with pytest.raises(LeaseLost), fenced_data(backend.connection, lost):
            backend.send_messages([message])
        backend.close()
        time.sleep(0.2)
        assert server.handler.count == 0
        backend = open_connection()
        with fenced_data(None, lambda: None):
            assert backend.send_messages([message]) == 1
        time.sleep(0.2)
        assert server.handler.count == 1


def test_the_sweeper_has_a_queue_of_its_own_that_every_worker_consumes():
    # Recovery is never stuck behind a backlog of send batches: the sweep task is routed
    # to its own queue, and every worker of the Procfile (email and HTTP) listens to it.
    route = celery_app.amqp.router.route
    assert route({}, enqueue.SWEEP)["queue"].name == "outbox-sweep"
    assert route({}, enqueue.SEND_BATCH)["queue"].name != "outbox-sweep"
    procfile = (Path(__file__).resolve().parents[2] / "Procfile").read_text().splitlines()
    workers = [line for line in procfile if " worker " in line]
    assert len(workers) == 2
    for line in workers:
        queues = line.split("--queues ")[1].split()[0].split(",")
        assert "outbox-sweep" in queues, line
