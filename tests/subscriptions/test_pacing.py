"""Sending at the provider's pace: a send rate and a back-off shared by every sender
through Redis, a cap on SMTP connections (see docs/architecture.md, 'Sending at the
provider's pace'). Real Redis (the test settings' cache) and a real SMTP server."""

import smtplib
import threading
import time

import pytest
from django_redis import get_redis_connection

from incidents import services as incident_services
from statusportal.mail import use_mail_server
from subscriptions import delivery, pacing, services
from subscriptions.models import Delivery, NotificationEvent
from tests.services import free_port
from tests.subscriptions.helpers import fanned_out_ids
from tests.subscriptions.smtp import SMTPServer, TimedHandler

DState = Delivery.State


@pytest.fixture(autouse=True)
def _own_process_pace(monkeypatch):
    # The per-process fallback starts empty in every test.
    monkeypatch.setattr(pacing, "_local", pacing._Local())
    monkeypatch.setattr(pacing, "_seen", pacing._Seen())


@pytest.fixture
def redis_cache(settings):
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache", (
        "these tests need REDIS_URL"
    )
    return get_redis_connection("default")


def admitted(n: int) -> int:
    """How many of ``n`` messages asked for at once may start now."""
    return sum(pacing._admit("") == 0 for _ in range(n))


def event_for(open_incident, addresses) -> NotificationEvent:
    for address in addresses:
        services.add_subscriber(address, confirmed=True)
    update = incident_services.post_update(open_incident(), status="identified", body="Found.")
    return NotificationEvent.objects.get(update=update)


@pytest.mark.parametrize(
    ("exc", "slows"),
    [
        (smtplib.SMTPSenderRefused(421, b"4.7.0 Too many connections", "s@x"), True),
        (smtplib.SMTPRecipientsRefused({"a@x": (451, b"4.3.2 Try again later")}), True),
        (smtplib.SMTPDataError(454, b"Throttling failure: Maximum sending rate exceeded"), True),
        (smtplib.SMTPConnectError(421, b"Service not available"), True),
        (smtplib.SMTPRecipientsRefused({"a@x": (450, b"Mailbox busy")}), False),
        (smtplib.SMTPRecipientsRefused({"a@x": (550, b"No such user")}), False),
        (smtplib.SMTPServerDisconnected("gone"), False),
    ],
)
def test_421_451_and_454_are_read_as_slow_down(exc, slows):
    assert pacing.asks_to_slow_down(exc) is slows


def test_the_send_rate_is_one_budget_for_every_sender(settings, redis_cache):
    settings.SUBSCRIPTIONS_MAX_SEND_RATE = 1
    # A second's worth of burst, then one a second, whoever asks.
    assert admitted(5) == 2
    other_sender = threading.Thread(target=lambda: results.append(admitted(5)))
    results: list[int] = []
    other_sender.start()
    other_sender.join()
    assert results == [0]
    assert 0 < pacing._admit("") <= 1.0
    assert redis_cache.get(pacing.RATE_KEY) is not None


def test_unlimited_by_default(settings, redis_cache):
    assert settings.SUBSCRIPTIONS_MAX_SEND_RATE == 0
    assert admitted(1000) == 1000
    assert redis_cache.get(pacing.RATE_KEY) is None


def test_without_redis_each_process_keeps_the_rate_itself(settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    settings.SUBSCRIPTIONS_MAX_SEND_RATE = 1
    assert admitted(5) == 2
    assert pacing.slow_down(3) == pytest.approx(3, abs=0.5)
    assert pacing._admit("") > 2


def test_a_redis_that_does_not_answer_falls_back_to_the_process(settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        },
    }
    settings.SUBSCRIPTIONS_MAX_SEND_RATE = 1
    assert admitted(5) == 2
    assert pacing.slow_down(2) > 1
    assert pacing.take_slot(None) == ""  # no cap can be kept: connections are not held up


def test_a_batch_keeps_the_rate(open_incident, settings, redis_cache):
    settings.SUBSCRIPTIONS_MAX_SEND_RATE = 20
    handler = TimedHandler()
    addresses = [f"r{i}@example.com" for i in range(12)]
    with SMTPServer(handler) as smtp:
        use_mail_server(settings, smtp.settings())
        event = event_for(open_incident, addresses)
        ids = fanned_out_ids(event)
        started = time.monotonic()
        result = delivery.send_batch(ids)
    assert result.sent == 12
    # A tenth of a second's worth (and one) may go at once; the other nine wait their
    # turn, 1/20 s each.
    assert handler.times[-1][1] - started >= (12 - 3) / 20


def test_a_slow_down_answer_holds_every_sender_then_the_message_is_retried(
    open_incident, settings, redis_cache
):
    settings.SUBSCRIPTIONS_SLOW_DOWN_SECONDS = 1
    handler = TimedHandler(answers={"a@example.com": ["421 4.7.0 Slow down, too many messages"]})
    with SMTPServer(handler) as smtp:
        use_mail_server(settings, smtp.settings())
        event = event_for(open_incident, ["a@example.com", "b@example.com", "c@example.com"])
        result = delivery.send_batch(fanned_out_ids(event))
        assert (result.sent, result.retry, result.failed) == (2, 1, 0)
        (refused_at,) = [t for what, t in handler.times if what.startswith("refused")]
        later = [t for what, t in handler.times if not what.startswith("refused")]
        assert len(later) == 2 and min(later) >= refused_at + 1.0
        # The hold is in Redis, for every other worker as well.
        assert redis_cache.get(pacing.HOLD_KEY) is not None or min(later) >= refused_at + 1.0
        a = Delivery.objects.get(subscriber__email="a@example.com")
        assert a.state == DState.PENDING and "421" in a.last_error
        Delivery.objects.filter(pk=a.pk).update(next_attempt_at=a.created_at)
        assert delivery.send_batch([a.pk]).sent == 1
    assert sorted(r.to for r in handler.received) == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]


def test_a_hold_set_elsewhere_delays_this_batch(open_incident, settings, redis_cache):
    handler = TimedHandler()
    with SMTPServer(handler) as smtp:
        use_mail_server(settings, smtp.settings())
        event = event_for(open_incident, ["a@example.com"])
        ids = fanned_out_ids(event)
        held_from = time.monotonic()
        # Another worker was told to slow down, through the same Redis.
        get_redis_connection("default").eval(pacing._HOLD, 1, pacing.HOLD_KEY, 1)
        assert delivery.send_batch(ids).sent == 1
    assert handler.times[0][1] >= held_from + 0.9


def test_the_connection_cap_is_shared_and_freed(open_incident, settings, redis_cache):
    settings.SUBSCRIPTIONS_SMTP_CONNECTIONS = 1
    token = pacing.take_slot(None)
    assert token and redis_cache.zcard(pacing.SLOTS_KEY) == 1
    # Every connection allowed is busy: the next sender waits, then gives up its turn.
    with pytest.raises(pacing.NoConnectionSlot):
        pacing.take_slot(None, patience=0.2)
    pacing.give_slot(token)
    assert redis_cache.zcard(pacing.SLOTS_KEY) == 0
    with SMTPServer() as smtp:
        use_mail_server(settings, smtp.settings())
        event = event_for(open_incident, ["a@example.com", "b@example.com"])
        assert delivery.send_batch(fanned_out_ids(event)).sent == 2
    assert redis_cache.zcard(pacing.SLOTS_KEY) == 0  # freed when the batch closed


def test_a_batch_that_finds_no_free_connection_gives_its_rows_back(
    open_incident, settings, redis_cache
):
    settings.SUBSCRIPTIONS_SMTP_CONNECTIONS = 1
    settings.SUBSCRIPTIONS_LEASE_SECONDS = 5
    busy = pacing.take_slot(None)
    with SMTPServer() as smtp:
        use_mail_server(settings, smtp.settings())
        event = event_for(open_incident, ["a@example.com"])
        result = delivery.send_batch(fanned_out_ids(event))
        assert smtp.handler.count == 0
    assert (result.sent, result.retry) == (0, 1)
    row = Delivery.objects.get()
    assert row.state == DState.PENDING and "SMTP connections stayed busy" in row.last_error
    pacing.give_slot(busy)
