"""Delivery through faults, with real processes: PostgreSQL, Redis, Celery workers and
beat, an SMTP server (see docs/architecture.md, 'The outbox'; the README's "Delivery
guarantees" states what these prove).

Each test injects its fault while mail is flowing and then counts, per recipient, what
the SMTP server accepted: nobody missing, and duplicates only where the README allows.
Each test has a Redis of its own (``own_redis``), so tests on parallel xdist workers
never share a broker."""

import os
import signal
import threading
import time
from collections import Counter

import psycopg
import pytest
import redis
from django.db import connection
from django.test import Client

from components.models import Component
from incidents import services as incident_services
from subscriptions import enqueue, outbox
from subscriptions.models import Delivery, NotificationEvent, Subscriber, SweeperRun
from tests.integration.conftest import database_url, wait_for
from tests.subscriptions.smtp import Handler, SMTPServer

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DState = Delivery.State
METRICS_TOKEN = "fault-test-token"
# A short lease that the start-up check accepts: 2 x EMAIL_TIMEOUT + 10.
SHORT = {"EMAIL_TIMEOUT": 2, "SUBSCRIPTIONS_LEASE_SECONDS": 14}


def subscribers(prefix: str, n: int) -> set[str]:
    Subscriber.objects.bulk_create(
        [Subscriber(email=f"{prefix}{i}@example.com", state="active") for i in range(n)]
    )
    return {f"{prefix}{i}@example.com" for i in range(n)}


def post(rest, body: str = "Faults.") -> None:
    incident_services.open_incident(
        name="API errors",
        status="investigating",
        body=body,
        components={rest.code: Component.Status.MAJOR_OUTAGE},
    )


def received(smtp) -> Counter:
    with smtp.handler.lock:
        return Counter(r.lower() for r in smtp.handler.recipients)


def all_served(smtp, expected: set[str], timeout: float) -> Counter:
    """Wait until every expected recipient got mail and nothing is pending or sending,
    then a little longer, so that a late duplicate would be counted."""
    wait_for(
        lambda: (
            set(received(smtp)) >= expected
            and not Delivery.objects.filter(state__in=[DState.PENDING, DState.SENDING]).exists()
        ),
        timeout,
        0.5,
        f"{len(expected)} recipients served",
    )
    time.sleep(1.5)
    return received(smtp)


def duplicates(got: Counter) -> int:
    return sum(n - 1 for n in got.values())


class PausingHandler(Handler):
    """An SMTP server that calls ``on_rcpt(address)`` as each envelope arrives."""

    on_rcpt = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.on_rcpt is not None:
            self.on_rcpt(address.lower())
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


@pytest.fixture
def smtp_server():
    with SMTPServer(PausingHandler()) as server:
        server.handler.count_only = True
        yield server


def test_database_connections_terminated_mid_send_no_duplicate_none_lost(
    postgres, smtp_server, own_redis, start_worker, rest
):
    smtp = smtp_server
    smtp.handler.delay = 0.02
    expected = subscribers("t", 150)
    start_worker(own_redis.url, smtp, SUBSCRIPTIONS_BATCH_SIZE=25)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), current_database()")
        own_pid, database = cursor.fetchone()
    post(rest)
    wait_for(lambda: sum(received(smtp).values()) >= 10, 30, message="the first mails")

    terminated = []
    with psycopg.connect(database_url(), autocommit=True) as killer:
        # Every connection of the workers, again and again while mail flows.
        while sum(received(smtp).values()) < 140 and len(terminated) < 40:
            rows = killer.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid NOT IN (%s, pg_backend_pid())",
                [database, own_pid],
            ).fetchall()
            terminated += [r for r in rows if r[0]]
            time.sleep(0.15)
    assert terminated, "no worker connection was terminated"

    got = all_served(smtp, expected, 60)
    assert set(got) == expected
    assert duplicates(got) == 0, {a: n for a, n in got.items() if n > 1}
    assert Delivery.objects.filter(state=DState.SENT).count() == 150


def test_worker_killed_mid_send_everyone_served_within_90_s_with_defaults(
    postgres, smtp_server, own_redis, start_worker, start_beat, rest
):
    smtp = smtp_server
    smtp.handler.delay = 0.05
    expected = subscribers("k", 100)
    worker = start_worker(own_redis.url, smtp, SUBSCRIPTIONS_RETRY_BASE_SECONDS=60)
    start_beat(own_redis.url)  # the default sweep interval and lease
    post(rest)
    wait_for(lambda: sum(received(smtp).values()) >= 15, 30, message="the first mails")
    worker.kill()
    killed_at = time.monotonic()
    assert sum(received(smtp).values()) < 100, "every mail went out before the kill"
    assert Delivery.objects.filter(state=DState.SENDING).exists()

    smtp.handler.delay = 0
    start_worker(own_redis.url, smtp, SUBSCRIPTIONS_RETRY_BASE_SECONDS=60)
    got = all_served(smtp, expected, 90)
    assert time.monotonic() - killed_at < 90 + 2
    assert set(got) == expected
    # Only the message each killed pool process was transmitting may arrive twice.
    assert duplicates(got) <= 2, {a: n for a, n in got.items() if n > 1}


def test_smtp_slower_than_the_lease_no_duplicate(
    postgres, smtp_server, own_redis, start_worker, start_beat, rest
):
    smtp = smtp_server
    smtp.handler.delay = 0.5  # a 30-message batch takes ~15 s against a 14 s lease
    expected = subscribers("s", 60)
    start_worker(own_redis.url, smtp, SUBSCRIPTIONS_BATCH_SIZE=30, **SHORT)
    start_beat(own_redis.url, SUBSCRIPTIONS_SWEEP_INTERVAL=1, **SHORT)  # an eager sweeper
    post(rest)
    got = all_served(smtp, expected, 90)
    assert set(got) == expected
    assert duplicates(got) == 0, {a: n for a, n in got.items() if n > 1}


def test_worker_frozen_past_its_lease_then_resumed_no_duplicate(
    postgres, smtp_server, own_redis, start_worker, start_beat, rest
):
    smtp = smtp_server
    expected = subscribers("f", 40)
    frozen = start_worker(own_redis.url, smtp, concurrency=1, SUBSCRIPTIONS_BATCH_SIZE=20, **SHORT)
    paused = threading.Event()

    def freeze(address):
        # The frozen worker is mid-message: the server has its envelope, not its data.
        if address == "f3@example.com" and not paused.is_set():
            paused.set()
            os.killpg(frozen.process.pid, signal.SIGSTOP)

    smtp.handler.on_rcpt = freeze
    post(rest)
    wait_for(paused.is_set, 30, message="the worker to be frozen")
    stopped_at = time.monotonic()
    try:
        start_worker(own_redis.url, smtp, concurrency=1, **SHORT)
        start_beat(own_redis.url, SUBSCRIPTIONS_SWEEP_INTERVAL=1, **SHORT)
        # The other worker sends everything, the frozen batch's rows once its lease ran out.
        wait_for(
            lambda: (
                set(received(smtp)) >= expected
                and not Delivery.objects.filter(state__in=[DState.PENDING, DState.SENDING]).exists()
            ),
            60,
            0.5,
            "the rows of the frozen batch to be sent by the other worker",
        )
        assert time.monotonic() - stopped_at > 14
    finally:
        os.killpg(frozen.process.pid, signal.SIGCONT)
    time.sleep(5)  # the resumed worker finds its lease gone and sends nothing
    got = received(smtp)
    assert set(got) == expected
    assert duplicates(got) == 0, {a: n for a, n in got.items() if n > 1}


def test_beat_stopped_the_lag_shows_and_mail_resumes_when_it_returns(
    postgres, smtp_server, own_redis, start_worker, start_beat, rest, settings
):
    smtp = smtp_server
    settings.METRICS_TOKEN = METRICS_TOKEN
    settings.SUBSCRIPTIONS_LAG_ALERT_SECONDS = 3
    quick = {"SUBSCRIPTIONS_STALE_SECONDS": 2, "SUBSCRIPTIONS_SWEEP_INTERVAL": 1}
    expected = subscribers("b", 20)
    start_worker(own_redis.url, smtp, **quick)
    beat = start_beat(own_redis.url, **quick)
    wait_for(lambda: outbox_runs() > 0, 30, message="a first sweep")
    beat.stop()
    own_redis.stop()
    post(rest)  # the fan-out task is lost with the broker
    own_redis.start()
    time.sleep(5)

    client = Client()
    ready = client.get("/readyz")
    assert ready.status_code == 503, ready.content
    assert "outbox: " in ready.content.decode()
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}").content.decode()
    age = float(text.split("\nstatusportal_outbox_oldest_pending_age_seconds ")[1].split()[0])
    assert age >= 4
    last = float(text.split("\nstatusportal_sweeper_last_run_timestamp_seconds ")[1].split()[0])
    assert time.time() - last >= 4
    assert received(smtp) == Counter()

    start_beat(own_redis.url, **quick)
    got = all_served(smtp, expected, 30)
    assert got == Counter(dict.fromkeys(expected, 1))
    assert client.get("/readyz").status_code == 200


def outbox_runs() -> int:
    run = SweeperRun.objects.filter(pk=1).first()
    return run.runs if run else 0


def test_posting_reuses_one_broker_connection(postgres, own_redis, rest):
    server = redis.Redis.from_url(own_redis.url)
    incident = incident_services.open_incident(
        name="API errors", status="investigating", body="First.", deliver_notifications=False
    )
    assert enqueue.enqueue_fan_out(0)
    clients = len(server.client_list())
    for i in range(10):
        incident_services.post_update(incident, status="identified", body=f"Update {i}.")
    assert NotificationEvent.objects.filter(incident=incident).count() == 10
    assert len(server.client_list()) == clients
    assert server.llen("celery") == 11  # every fan-out was published


def test_two_beats_sweep_without_harm(postgres, smtp_server, own_redis, start_worker, rest):
    smtp = smtp_server
    expected = subscribers("d", 30)
    incident = incident_services.open_incident(
        name="API errors", status="investigating", body="Twice.", deliver_notifications=False
    )
    update = incident_services.post_update(incident, status="identified", body="Twice.")
    outbox.fan_out(NotificationEvent.objects.get(update=update).pk, enqueue=lambda ids: None)
    Delivery.objects.update(next_attempt_at=Delivery.objects.first().created_at.replace(year=2000))
    # Two sweeps at once, as two beats would run them: each row is enqueued once.
    batches: list[list[int]] = []

    def beat():
        try:
            outbox.sweep(enqueue=batches.append)
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [pk for batch in batches for pk in batch]
    assert len(ids) == len(set(ids)) == 30
    for batch in batches:
        enqueue.enqueue_send(batch)
    start_worker(own_redis.url, smtp)
    got = all_served(smtp, expected, 30)
    assert got == Counter(dict.fromkeys(expected, 1))
