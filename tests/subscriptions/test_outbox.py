"""Fan-out, claiming, sending with per-message error handling, and the sweeper.

The SMTP error paths run against a real SMTP server (aiosmtpd) answering chosen
recipients with 4xx/5xx codes; the rest use the locmem backend."""

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from incidents import services as incident_services
from statusportal.mail import use_mail_server
from subscriptions import delivery, outbox, services
from subscriptions.channels import mail as email_channel
from subscriptions.models import Delivery, NotificationEvent, Subscriber
from tests.subscriptions.smtp import Handler, SMTPServer

# A mail server on a port where nobody listens (free_port() fills in the port).
SMTP = {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1"}

DState = Delivery.State


class Queue(list):
    """Stands in for the broker: collects the batches a step enqueues."""

    def __call__(self, ids):
        self.append(list(ids))


def post(incident, **kwargs):
    kwargs.setdefault("status", "identified")
    kwargs.setdefault("body", "We found the **cause**.")
    update = incident_services.post_update(incident, **kwargs)
    return NotificationEvent.objects.get(update=update)


def deliver(event) -> delivery.BatchResult:
    """Fan out and run every send batch inline."""
    queue = Queue()
    outbox.fan_out(event.pk, enqueue=queue)
    total = delivery.BatchResult()
    for batch in queue:
        result = delivery.send_batch(batch)
        for name in vars(total):
            setattr(total, name, getattr(total, name) + getattr(result, name))
    return total


def test_fan_out_creates_one_row_per_recipient_in_batches(open_incident, settings, db):
    settings.SUBSCRIPTIONS_BATCH_SIZE = 3
    for i in range(7):
        services.add_subscriber(f"s{i}@example.com", confirmed=True)
    services.add_subscriber("pending@example.com", send_confirmation=False)
    event = post(open_incident())
    queue = Queue()
    assert outbox.fan_out(event.pk, enqueue=queue) == 7
    assert [len(b) for b in queue] == [3, 3, 1]
    assert Delivery.objects.filter(event=event, state=DState.PENDING).count() == 7
    event.refresh_from_db()
    assert event.fanned_out_at is not None


def test_fan_out_twice_adds_nothing(open_incident, everything):
    event = post(open_incident())
    outbox.fan_out(event.pk, enqueue=Queue())
    NotificationEvent.objects.filter(pk=event.pk).update(fanned_out_at=None, fanout_cursor=0)
    outbox.fan_out(event.pk, enqueue=Queue())
    assert Delivery.objects.filter(event=event).count() == 1


def test_fan_out_resumes_from_its_cursor(open_incident, db, monkeypatch):
    subs = [services.add_subscriber(f"r{i}@example.com", confirmed=True) for i in range(5)]
    event = post(open_incident())
    NotificationEvent.objects.filter(pk=event.pk).update(fanout_cursor=subs[2].pk)
    outbox.fan_out(event.pk, enqueue=Queue())
    assert set(Delivery.objects.values_list("subscriber_id", flat=True)) == {s.pk for s in subs[3:]}


def test_each_eligible_subscriber_gets_exactly_one_email(
    open_incident, everything, rest_fan, website_fan, unconfirmed, gone
):
    result = deliver(post(open_incident()))
    assert result.sent == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["eve@example.com", "rita@example.com"]
    assert Delivery.objects.filter(state=DState.SENT).count() == 2


def test_claiming_makes_a_second_send_of_the_same_batch_a_no_op(open_incident, everything):
    event = post(open_incident())
    queue = Queue()
    outbox.fan_out(event.pk, enqueue=queue)
    assert delivery.send_batch(queue[0]).sent == 1
    assert delivery.send_batch(queue[0]).sent == 0
    assert len(mail.outbox) == 1


def test_claim_takes_only_pending_due_rows(open_incident, everything, rest_fan):
    event = post(open_incident())
    outbox.fan_out(event.pk, enqueue=Queue())
    rows = list(Delivery.objects.order_by("pk"))
    Delivery.objects.filter(pk=rows[1].pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    first = delivery.claim([r.pk for r in rows])
    second = delivery.claim([r.pk for r in rows])
    assert Delivery.objects.filter(claim=first).count() == 1
    assert Delivery.objects.filter(claim=second).count() == 0


def test_a_batch_sends_only_its_own_rows_not_those_between_its_ids(open_incident, db):
    """Batches are read by id range as well as by id (for the index): rows whose ids lie
    between a batch's ids belong to other batches and must stay untouched."""
    for i in range(5):
        services.add_subscriber(f"s{i}@example.com", confirmed=True)
    event = post(open_incident())
    outbox.fan_out(event.pk, enqueue=Queue())
    ids = list(Delivery.objects.order_by("pk").values_list("pk", flat=True))
    result = delivery.send_batch([ids[0], ids[4]])
    assert result.sent == 2
    sent = set(Delivery.objects.filter(state=DState.SENT).values_list("pk", flat=True))
    assert sent == {ids[0], ids[4]}
    assert Delivery.objects.filter(pk__in=ids[1:4], state=DState.PENDING, claim="").count() == 3
    assert sorted(m.to[0] for m in mail.outbox) == ["s0@example.com", "s4@example.com"]


def test_row_of_someone_who_unsubscribed_meanwhile_is_skipped(open_incident, everything):
    event = post(open_incident())
    queue = Queue()
    outbox.fan_out(event.pk, enqueue=queue)
    services.unsubscribe(everything)
    result = delivery.send_batch(queue[0])
    assert result.skipped == 1 and mail.outbox == []
    assert Delivery.objects.get().state == DState.SKIPPED


@pytest.mark.parametrize(
    ("exc", "permanent"),
    [
        (smtplib.SMTPRecipientsRefused({"a@x": (550, b"no such user")}), True),
        (smtplib.SMTPRecipientsRefused({"a@x": (451, b"greylisted")}), False),
        (smtplib.SMTPDataError(554, b"spam"), True),
        (smtplib.SMTPSenderRefused(421, b"busy", "s@x"), False),
        (smtplib.SMTPServerDisconnected("gone"), False),
        (ConnectionRefusedError(111, "refused"), False),
    ],
)
def test_classify_smtp_errors(exc, permanent):
    error = email_channel.classify(exc)
    assert error.permanent is permanent
    assert error.reason


def test_backoff_grows_and_is_bounded(settings):
    settings.SUBSCRIPTIONS_RETRY_BASE_SECONDS = 60
    assert [delivery.backoff(n).total_seconds() for n in (1, 2, 3)] == [60, 120, 240]
    assert delivery.backoff(50) == timedelta(hours=6)


def test_real_smtp_per_message_errors(open_incident, settings, db):
    """One batch, one connection: 550 fails with the reason, 451 waits for a retry, the
    others are delivered in the same batch."""
    handler = Handler(
        always={"bad@example.com": "550 5.1.1 No such user"},
        answers={"grey@example.com": ["451 4.7.1 Greylisted, try later"]},
    )
    for address in ("a@example.com", "bad@example.com", "grey@example.com", "z@example.com"):
        services.add_subscriber(address, confirmed=True)
    with SMTPServer(handler) as smtp:
        use_mail_server(settings, smtp.settings())
        event = post(open_incident())
        result = deliver(event)
        assert (result.sent, result.failed, result.retry) == (2, 1, 1)
        assert sorted(r.to for r in handler.received) == ["a@example.com", "z@example.com"]
        bad = Delivery.objects.get(subscriber__email="bad@example.com")
        assert bad.state == DState.FAILED and "550" in bad.last_error
        assert "No such user" in bad.last_error
        grey = Delivery.objects.get(subscriber__email="grey@example.com")
        assert grey.state == DState.PENDING and grey.attempts == 1
        assert "451" in grey.last_error and grey.next_attempt_at > timezone.now()
        # Later (the retry task or the sweeper), the greylisted mail goes through.
        Delivery.objects.filter(pk=grey.pk).update(next_attempt_at=timezone.now())
        assert delivery.send_batch([grey.pk]).sent == 1
        assert [r.to for r in handler.to("grey@example.com")] == ["grey@example.com"]


def test_repeated_hard_bounces_quarantine(open_incident, settings, db):
    settings.SUBSCRIPTIONS_QUARANTINE_AFTER = 2
    handler = Handler(always={"bad@example.com": "550 5.1.1 No such user"})
    bad = services.add_subscriber("bad@example.com", confirmed=True)
    with SMTPServer(handler) as smtp:
        use_mail_server(settings, smtp.settings())
        incident = open_incident()
        deliver(NotificationEvent.objects.get(update=incident.updates.get()))
        assert Subscriber.objects.get(pk=bad.pk).state == Subscriber.State.ACTIVE
        deliver(post(incident))
    bad.refresh_from_db()
    assert bad.state == Subscriber.State.QUARANTINED and bad.hard_bounces == 2


def test_mail_server_down_leaves_rows_pending(open_incident, settings, everything, rest_fan):
    from tests.services import free_port

    use_mail_server(settings, {**SMTP, "EMAIL_PORT": free_port()})
    result = deliver(post(open_incident()))
    assert result.retry == 2 and result.sent == 0
    assert set(Delivery.objects.values_list("state", flat=True)) == {DState.PENDING}


def test_temporary_errors_give_up_after_max_attempts(open_incident, settings, everything):
    from tests.services import free_port

    use_mail_server(settings, {**SMTP, "EMAIL_PORT": free_port()})
    settings.SUBSCRIPTIONS_MAX_ATTEMPTS = 2
    event = post(open_incident())
    deliver(event)
    row = Delivery.objects.get()
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    delivery.send_batch([row.pk])
    row.refresh_from_db()
    assert row.state == DState.FAILED and row.last_error.startswith("gave up after 2")


# --- Sweeper ---------------------------------------------------------------------------


def test_sweeper_reenqueues_unfanned_events_and_stale_rows(open_incident, everything, settings):
    settings.SUBSCRIPTIONS_STALE_SECONDS = 60
    event = post(open_incident(deliver_notifications=False))
    fan_outs, sends = [], Queue()
    now = timezone.now()

    # A fresh event is left to its own fan-out task.
    assert outbox.sweep(now=now, enqueue_fan_out=fan_outs.append, enqueue=sends).events == 0
    later = now + timedelta(seconds=61)
    outbox.sweep(now=later, enqueue_fan_out=fan_outs.append, enqueue=sends)
    assert fan_outs == [event.pk]

    outbox.fan_out(event.pk, enqueue=Queue())  # its send tasks were "lost"
    result = outbox.sweep(
        now=later + timedelta(seconds=61), enqueue_fan_out=fan_outs.append, enqueue=sends
    )
    assert result.requeued == 1 and len(sends) == 1
    # The sweep pushed the due time: the next sweep right after does not enqueue it again.
    assert outbox.sweep(now=later + timedelta(seconds=62), enqueue=Queue()).requeued == 0


def test_sweeper_releases_rows_stuck_sending(open_incident, everything, settings):
    settings.SUBSCRIPTIONS_LEASE_SECONDS = 600
    event = post(open_incident())
    outbox.fan_out(event.pk, enqueue=Queue())
    delivery.claim(Delivery.objects.values_list("pk", flat=True))  # the worker then died
    sends = Queue()
    assert outbox.sweep(enqueue=sends).released == 0
    Delivery.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    result = outbox.sweep(enqueue=sends)
    assert result.released == 1 and result.requeued == 1
    assert delivery.send_batch(sends[0]).sent == 1
    assert len(mail.outbox) == 1
