"""Webhook, Slack and Teams delivery through faults, with real processes: PostgreSQL,
Redis, Celery workers and beat, HTTP receivers on loopback and an SMTP server (see
docs/architecture.md, 'The outbox'). As for email: nobody missing, nothing twice but
what the README allows, and a dead endpoint slows nobody else."""

import secrets
import time
from collections import Counter

import pytest

from incidents import services as incident_services
from subscriptions import enqueue, outbox
from subscriptions.models import Delivery, NotificationEvent, Subscriber
from tests.integration.conftest import wait_for
from tests.subscriptions.receiver import HANG, Receiver, Reply

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DState = Delivery.State
# The workers may post to loopback (the receivers); a POST gets 10 s, as by default.
HTTP = {"SUBSCRIPTIONS_WEBHOOK_ALLOW_PRIVATE": "true", "SUBSCRIPTIONS_HTTP_TIMEOUT": 10}
# A short lease the start-up check accepts (2 x EMAIL_TIMEOUT + 10); a POST then gets
# at most the lease's budget per message, 2 s.
SHORT = {"EMAIL_TIMEOUT": 2, "SUBSCRIPTIONS_LEASE_SECONDS": 14}


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


def endpoints(receiver, prefix: str, n: int, channel: str = "webhook") -> set[str]:
    """``n`` active subscribers of ``channel`` on the receiver; their paths."""
    Subscriber.objects.bulk_create(
        [
            Subscriber(
                channel=channel,
                endpoint=receiver.url(f"/{prefix}{i}"),
                email=f"ops-{prefix}{i}@example.com" if channel == "webhook" else "",
                secret=secrets.token_hex(32),
                state="active",
            )
            for i in range(n)
        ]
    )
    return {f"/{prefix}{i}" for i in range(n)}


def emails(prefix: str, n: int) -> set[str]:
    Subscriber.objects.bulk_create(
        [Subscriber(email=f"{prefix}{i}@example.com", state="active") for i in range(n)]
    )
    return {f"{prefix}{i}@example.com" for i in range(n)}


def post(rest, body: str = "Faults.") -> None:
    """An incident that moves no component status: one event (a status change would be
    a second one, the component update webhooks also get)."""
    incident_services.open_incident(name="API errors", status="investigating", body=body)


def served(receiver) -> Counter:
    """Requests answered 2xx, per path."""
    with receiver.lock:
        return Counter(r.path for r in receiver.requests if r.answered is not None)


def settled() -> bool:
    return not Delivery.objects.filter(state__in=[DState.PENDING, DState.SENDING]).exists()


def test_500_then_200_is_delivered_once(postgres, smtp, own_redis, start_worker, receiver, rest):
    endpoints(receiver, "h", 1)
    receiver.answer("/h0", 500, 200)
    start_worker(own_redis.url, smtp, **HTTP)  # retries after 1 s (the fixture's base)
    post(rest)
    wait_for(lambda: len(receiver.to("/h0")) == 2 and settled(), 60, 0.2, "the retry")
    time.sleep(1.5)  # a late duplicate would be counted
    first, second = receiver.to("/h0")
    assert len(receiver.to("/h0")) == 2
    assert first.headers["x-statusportal-delivery"] == second.headers["x-statusportal-delivery"]
    one, two = first.json(), second.json()
    assert one["meta"].pop("generated_at") and two["meta"].pop("generated_at")
    assert one == two  # the same event, rendered again for the retry
    (row,) = Delivery.objects.filter(channel="webhook")
    assert (row.state, row.attempts) == (DState.SENT, 2)


def test_a_hanging_endpoint_times_out_and_is_retried_while_every_other_channel_is_served(
    postgres, smtp, own_redis, start_worker, receiver, rest
):
    endpoints(receiver, "hang", 1)
    healthy = endpoints(receiver, "h", 30)
    endpoints(receiver, "s", 2, channel="slack")
    endpoints(receiver, "t", 2, channel="teams")
    addresses = emails("e", 10)
    receiver.answer("/hang0", HANG, 200)  # hangs once, then answers
    start_worker(
        own_redis.url,
        smtp,
        SUBSCRIPTIONS_BATCH_SIZE=10,
        SUBSCRIPTIONS_HTTP_CONCURRENCY=4,
        **HTTP,
    )
    post(rest)
    hung = Delivery.objects.filter(subscriber__endpoint=receiver.url("/hang0"))
    others = healthy | {"/s0", "/s1", "/t0", "/t1"}

    def everyone_else_served():
        with smtp.handler.lock:
            mailed = {r.to for r in smtp.handler.received}
        return set(served(receiver)) >= others and mailed >= addresses

    wait_for(everyone_else_served, 60, 0.1, "every other endpoint and address")
    # ... while the hanging request was still waiting for its answer: its row has not
    # come back from its first attempt yet.
    row = hung.get()
    assert receiver.to("/hang0")[0].answered is None
    assert (row.state, row.attempts) == (DState.SENDING, 0), row.last_error

    # Timed out after 10 s, retried (after the 1 s backoff), delivered.
    wait_for(lambda: hung.get().state == DState.SENT, 60, 0.2, "the retry of the hung one")
    row = hung.get()
    assert row.attempts == 2
    assert len(receiver.to("/hang0")) == 2
    assert set(served(receiver)) == others | {"/hang0"}
    assert all(n == 1 for n in served(receiver).values())


def test_an_endpoint_answering_410_is_quarantined_and_its_contact_emailed(
    postgres, smtp, own_redis, start_worker, receiver, rest
):
    endpoints(receiver, "gone", 1)
    receiver.answer("/gone0", Reply(410))
    start_worker(own_redis.url, smtp, SUBSCRIPTIONS_QUARANTINE_AFTER=2, **HTTP)
    incident = incident_services.open_incident(
        name="API errors", status="investigating", body="First."
    )
    wait_for(lambda: len(receiver.to("/gone0")) == 1 and settled(), 30, 0.2, "a first 410")
    incident_services.post_update(incident, status="identified", body="Second.")
    subscriber = Subscriber.objects.get(endpoint=receiver.url("/gone0"))
    wait_for(
        lambda: Subscriber.objects.get(pk=subscriber.pk).state == Subscriber.State.QUARANTINED,
        30,
        0.2,
        "the quarantine",
    )
    wait_for(lambda: smtp.handler.to("ops-gone0@example.com"), 30, 0.2, "the contact's email")
    (mail,) = smtp.handler.to("ops-gone0@example.com")
    text = mail.part("text/plain")
    assert receiver.url("/gone0") in text and "410" in text
    assert "paused" in mail.message["Subject"]
    # Quarantined: the next event sends it nothing.
    incident_services.post_update(incident, status="monitoring", body="Third.")
    wait_for(settled, 30, 0.2, "the third event")
    assert len(receiver.to("/gone0")) == 2


def test_worker_killed_mid_batch_loses_no_webhook(
    postgres, smtp, own_redis, start_worker, start_beat, receiver, rest
):
    expected = endpoints(receiver, "k", 60)
    for path in expected:
        receiver.answer(path, Reply(200, delay=0.2))
    worker = start_worker(
        own_redis.url,
        smtp,
        SUBSCRIPTIONS_BATCH_SIZE=20,
        SUBSCRIPTIONS_HTTP_CONCURRENCY=2,
        **SHORT,
        **HTTP,
    )
    post(rest)
    wait_for(lambda: sum(served(receiver).values()) >= 10, 30, 0.05, "the first requests")
    worker.kill()
    assert sum(served(receiver).values()) < 60, "every request went out before the kill"
    assert Delivery.objects.filter(state=DState.SENDING).exists()

    for path in expected:
        receiver.answer(path, 200)
    start_worker(own_redis.url, smtp, **SHORT, **HTTP)
    start_beat(own_redis.url, SUBSCRIPTIONS_SWEEP_INTERVAL=1, **SHORT)
    wait_for(lambda: set(served(receiver)) >= expected and settled(), 90, 0.5, "all endpoints")
    time.sleep(1.5)
    got = served(receiver)
    assert set(got) == expected
    # Only requests in flight when the pool processes died (2 processes x 2 threads) may
    # arrive twice.
    assert sum(n - 1 for n in got.values()) <= 4, {p: n for p, n in got.items() if n > 1}
    assert Delivery.objects.filter(state=DState.SENT).count() == 60


def test_a_duplicated_send_task_posts_nothing_twice(
    postgres, smtp, own_redis, start_worker, receiver, rest
):
    expected = endpoints(receiver, "d", 30)
    incident = incident_services.open_incident(
        name="API errors", status="investigating", body="Quiet.", deliver_notifications=False
    )
    update = incident_services.post_update(incident, status="identified", body="Twice.")
    batches: list[tuple[list[int], str]] = []
    outbox.fan_out(
        NotificationEvent.objects.get(update=update).pk,
        enqueue=lambda ids, channel="email": batches.append((ids, channel)),
    )
    assert {channel for _, channel in batches} == {"webhook"}
    for ids, channel in batches + batches:  # every send task twice
        enqueue.enqueue_send(ids, channel=channel)
    start_worker(own_redis.url, smtp, SUBSCRIPTIONS_HTTP_CONCURRENCY=4, **HTTP)
    wait_for(lambda: set(served(receiver)) >= expected and settled(), 60, 0.2, "all endpoints")
    time.sleep(1.5)
    assert served(receiver) == Counter(dict.fromkeys(expected, 1))
