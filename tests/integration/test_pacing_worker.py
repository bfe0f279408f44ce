"""Sending at the provider's pace with real Celery workers: the rate and the "slow down"
back-off are shared through Redis by every pool process and by the web side, and the
delivery guarantees hold (see docs/architecture.md, 'Sending at the provider's pace')."""

import time
from collections import Counter

import pytest
from django_redis import get_redis_connection

from components.models import Component
from incidents import services as incident_services
from subscriptions import pacing
from subscriptions.models import Delivery, Subscriber
from tests.integration.conftest import wait_for
from tests.subscriptions.smtp import SMTPServer, TimedHandler

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DState = Delivery.State


def test_two_pool_processes_keep_one_rate_and_one_back_off_without_loss_or_duplicates(
    postgres, settings, shared_broker, start_worker, rest
):
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    handler = TimedHandler(
        answers={
            "t3@example.com": ["421 4.7.0 Too many messages, slow down"],
            "t17@example.com": ["454 4.7.0 Throttling failure: Maximum sending rate exceeded"],
        }
    )
    addresses = {f"t{i}@example.com" for i in range(30)}
    Subscriber.objects.bulk_create([Subscriber(email=a, state="active") for a in addresses])
    with SMTPServer(handler) as smtp:
        start_worker(
            shared_broker,
            smtp,
            CACHE_URL=settings.CACHES["default"]["LOCATION"],
            SUBSCRIPTIONS_MAX_SEND_RATE=20,
            SUBSCRIPTIONS_SLOW_DOWN_SECONDS=2,
            SUBSCRIPTIONS_BATCH_SIZE=5,  # several batches, on both pool processes
        )
        posted = time.monotonic()
        incident_services.open_incident(
            name="API errors",
            status="investigating",
            body="Errors.",
            components={rest.code: Component.Status.MAJOR_OUTAGE},
        )
        # The worker's hold is in the Redis this process reads too.
        wait_for(
            lambda: get_redis_connection("default").get(pacing.HOLD_KEY) is not None,
            30,
            0.02,
            "the shared hold",
        )
        wait_for(
            lambda: (
                handler.count >= 30
                and not Delivery.objects.filter(state__in=[DState.PENDING, DState.SENDING]).exists()
            ),
            60,
            message="30 emails",
        )
        time.sleep(0.5)
    got = Counter(r.to for r in handler.received)
    assert set(got) == addresses and set(got.values()) == {1}
    assert set(Delivery.objects.values_list("state", flat=True)) == {DState.SENT}
    retried = Delivery.objects.filter(attempts=2).values_list("subscriber__email", flat=True)
    assert set(retried) == {"t3@example.com", "t17@example.com"}
    # Nothing started anywhere while a hold was on: 2 s of silence after each refusal
    # (a message already past its turn may still finish).
    refusals = [t for what, t in handler.times if what.startswith("refused")]
    for refused_at in refusals:
        during = [
            t
            for what, t in handler.times
            if refused_at + 0.2 < t < refused_at + 2.0 and not what.startswith("refused")
        ]
        assert during == [], (refused_at, handler.times)
    # And one rate for both processes: 30 messages at 20/s take over a second.
    assert max(t for _, t in handler.times) - posted >= (30 - 3) / 20
