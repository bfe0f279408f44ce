"""The notification pipeline end to end, with a real Celery worker, a real Redis broker,
a real SMTP server and PostgreSQL (see docs/architecture.md, 'The outbox')."""

import contextlib
import logging
import re
import time
from collections import Counter

import pytest
from django.test import Client

from components.models import Component
from incidents import services as incident_services
from statusportal.celery import app as celery_app
from subscriptions import enqueue, outbox
from subscriptions.models import Delivery, NotificationEvent, Subscriber
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DState = Delivery.State


def link(text: str, pattern: str) -> str:
    match = re.search(r"https://status\.example\.com(/\S*" + pattern + r"\S*?/)", text)
    assert match, f"no link matching {pattern!r} in:\n{text}"
    return match.group(1)


def sign_up(client: Client, smtp, email: str, **form) -> None:
    """Fill in /subscribe/, read the confirmation email, open the link, press Confirm."""
    response = client.post("/subscribe/", {"email": email, "scope": "all", **form})
    assert response.status_code == 200, response.content
    mail = wait_for(lambda: smtp.handler.to(email), 10, message=f"confirmation to {email}")[-1]
    assert mail.message["Subject"] == "[Acme] Confirm your subscription"
    confirm = link(mail.part("text/plain"), "/confirm")
    assert client.get(confirm).status_code == 200
    assert client.post(confirm).status_code == 200


def settled(smtp, expected: int, timeout: float = 30):
    """Wait until ``expected`` mails arrived and no delivery is pending or sending, then a
    little more, so that an extra (duplicate) mail would be seen."""
    wait_for(
        lambda: (
            smtp.handler.count >= expected
            and not Delivery.objects.filter(state__in=[DState.PENDING, DState.SENDING]).exists()
        ),
        timeout,
        message=f"{expected} emails",
    )
    time.sleep(0.5)


def update_mails(smtp) -> list:
    return [r for r in smtp.handler.received if "API errors" in r.message["Subject"]]


def test_subscribe_confirm_post_exactly_one_email_each(
    postgres, mail_to_smtp, shared_broker, start_worker, rest, website
):
    smtp = mail_to_smtp
    start_worker(shared_broker, smtp)
    client = Client()
    sign_up(client, smtp, "all@example.com")
    sign_up(client, smtp, "rest@example.com", scope="chosen", components=[rest.code])
    sign_up(client, smtp, "web@example.com", scope="chosen", components=[website.code])
    sign_up(client, smtp, "leaver@example.com")
    client.post("/subscribe/", {"email": "never@example.com", "scope": "all"})
    assert Subscriber.objects.get(email="never@example.com").state == "unconfirmed"
    smtp.handler.received.clear()
    smtp.handler.count = 0

    incident = incident_services.open_incident(
        name="API errors",
        status="investigating",
        body="Requests to the **REST API** fail.",
        components={rest.code: Component.Status.MAJOR_OUTAGE},
    )
    settled(smtp, 3)
    got = Counter(r.to for r in update_mails(smtp))
    assert got == {"all@example.com": 1, "rest@example.com": 1, "leaver@example.com": 1}

    mail = smtp.handler.to("rest@example.com")[0]
    message = mail.message
    assert message["Subject"] == "[Acme] API errors: Investigating"
    text, html = mail.part("text/plain"), mail.part("text/html")
    assert "Requests to the **REST API** fail." in text  # Markdown source, readable
    assert "<strong>REST API</strong>" in html
    assert "REST API: Major outage" in text
    assert f"https://status.example.com/incidents/{incident.code}/" in text
    subscriber = Subscriber.objects.get(email="rest@example.com")
    assert f"/subscriptions/{subscriber.token}/" in text
    assert "rest@example.com" not in message["List-Unsubscribe"]
    assert message["List-Unsubscribe"].strip() == (
        f"<https://status.example.com/subscriptions/{subscriber.token}/unsubscribe/>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "status.example.com" in message["List-Id"]
    root = message["Message-ID"]
    assert root.startswith(f"<incident.{incident.code}.")

    # One-click unsubscribe as a mail provider does it: a bare POST, no cookie, no CSRF.
    leaver = smtp.handler.to("leaver@example.com")[0].message["List-Unsubscribe"].strip(" <>")
    provider = Client(enforce_csrf_checks=True)
    response = provider.post(
        leaver.removeprefix("https://status.example.com"),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert Subscriber.objects.get(email="leaver@example.com").state == "unsubscribed"

    smtp.handler.received.clear()
    smtp.handler.count = 0
    incident_services.post_update(incident, status="identified", body="A bad deploy.")
    settled(smtp, 2)
    got = Counter(r.to for r in update_mails(smtp))
    assert got == {"all@example.com": 1, "rest@example.com": 1}
    follow_up = smtp.handler.to("rest@example.com")[0].message
    assert follow_up["Subject"] == "[Acme] API errors: Identified"
    assert follow_up["In-Reply-To"] == root and follow_up["References"] == root
    assert follow_up["Message-ID"] != root


def test_broker_down_while_posting_then_every_email_exactly_once(
    postgres, mail_to_smtp, own_redis, start_worker, rest, settings, caplog
):
    smtp = mail_to_smtp
    for i in range(5):
        Subscriber.objects.create(email=f"s{i}@example.com", state="active")
    start_worker(own_redis.url, smtp)
    own_redis.stop()

    with caplog.at_level(logging.WARNING, logger="subscriptions.enqueue"):
        incident = incident_services.open_incident(
            name="API errors",
            status="investigating",
            body="Posted while the broker is down.",
            components={rest.code: Component.Status.MAJOR_OUTAGE},
        )
    # The post succeeded; the enqueue tried once, gave up (no reconnect loop) and left
    # the event to the sweeper. How fast that is lives in `make bench`, not here.
    gave_up = [r for r in caplog.records if "will be sent by the sweeper" in r.getMessage()]
    assert len(gave_up) == 1
    page = Client().get(f"/incidents/{incident.code}/")
    assert page.status_code == 200
    assert b"Posted while the broker is down." in page.content
    assert NotificationEvent.objects.filter(incident=incident, fanned_out_at=None).count() == 1

    own_redis.start()  # empty: whatever was queued before is gone
    settings.SUBSCRIPTIONS_STALE_SECONDS = 1

    def swept():
        outbox.sweep()
        return smtp.handler.count >= 5

    wait_for(swept, 60, 1.5, "the sweeper to recover the mail")
    settled(smtp, 5)
    assert Counter(r.to for r in update_mails(smtp)) == {f"s{i}@example.com": 1 for i in range(5)}


def test_same_send_task_delivered_twice_sends_once(
    postgres, mail_to_smtp, shared_broker, start_worker, rest, settings
):
    smtp = mail_to_smtp
    settings.SUBSCRIPTIONS_BATCH_SIZE = 10
    for i in range(30):
        Subscriber.objects.create(email=f"d{i}@example.com", state="active")
    incident = incident_services.open_incident(
        name="API errors", status="investigating", body="Twice.", deliver_notifications=False
    )
    update = incident_services.post_update(incident, status="identified", body="Twice.")
    event = NotificationEvent.objects.get(update=update)
    batches = []
    outbox.fan_out(event.pk, enqueue=batches.append)
    assert len(batches) == 3
    # Each task message published twice under the same id, as a broker redelivery does,
    # before the worker even starts: the copies run side by side in the 2-process pool.
    for batch in batches:
        for _ in range(2):
            celery_app.send_task(enqueue.SEND_BATCH, (batch,), task_id=f"send-{batch[0]}")
    start_worker(shared_broker, smtp)
    settled(smtp, 30)
    assert Counter(r.to for r in update_mails(smtp)) == {f"d{i}@example.com": 1 for i in range(30)}


def test_worker_killed_mid_batch_everyone_still_gets_it(
    postgres, mail_to_smtp, own_redis, start_worker, rest, settings
):
    smtp = mail_to_smtp
    smtp.handler.delay = 0.05  # slow server: the kill lands in the middle of a batch
    for i in range(60):
        Subscriber.objects.create(email=f"k{i}@example.com", state="active")
    worker = start_worker(
        own_redis.url,
        smtp,
        SUBSCRIPTIONS_BATCH_SIZE=30,
        EMAIL_TIMEOUT=2,
        SUBSCRIPTIONS_LEASE_SECONDS=14,
    )
    incident_services.open_incident(
        name="API errors",
        status="investigating",
        body="Kill.",
        components={rest.code: Component.Status.MAJOR_OUTAGE},
    )
    wait_for(lambda: smtp.handler.count >= 10, 30, message="the first mails")
    worker.kill()
    before = smtp.handler.count
    assert before < 60, "the batch finished before the kill; make the server slower"
    stuck = Delivery.objects.filter(state=DState.SENDING).count()
    assert stuck > 0

    smtp.handler.delay = 0
    start_worker(own_redis.url, smtp)
    settings.SUBSCRIPTIONS_STALE_SECONDS = 1

    def swept():
        outbox.sweep()
        return not Delivery.objects.exclude(state=DState.SENT).exists()

    wait_for(swept, 60, 1.5, "the sweeper to finish the killed batch")
    time.sleep(0.5)
    got = Counter(r.to for r in update_mails(smtp))
    assert set(got) == {f"k{i}@example.com" for i in range(60)}
    duplicates = sum(n - 1 for n in got.values())
    # Only a message in flight at the kill may arrive twice: one per pool process.
    assert duplicates <= 2, got


def test_smtp_451_is_retried_and_550_fails_with_reason(
    postgres, mail_to_smtp, shared_broker, start_worker, rest
):
    smtp = mail_to_smtp
    smtp.handler.answers["grey@example.com"] = ["451 4.7.1 Greylisted, come back later"]
    smtp.handler.always["gone@example.com"] = "550 5.1.1 User unknown"
    for address in ("a@example.com", "grey@example.com", "gone@example.com", "z@example.com"):
        Subscriber.objects.create(email=address, state="active")
    start_worker(shared_broker, smtp)
    incident_services.open_incident(
        name="API errors",
        status="investigating",
        body="Errors.",
        components={rest.code: Component.Status.MAJOR_OUTAGE},
    )
    settled(smtp, 3, timeout=30)
    got = Counter(r.to for r in update_mails(smtp))
    assert got == {"a@example.com": 1, "z@example.com": 1, "grey@example.com": 1}
    grey = Delivery.objects.get(subscriber__email="grey@example.com")
    assert grey.state == DState.SENT and grey.attempts == 2
    gone = Delivery.objects.get(subscriber__email="gone@example.com")
    assert gone.state == DState.FAILED
    assert gone.last_error == "550 5.1.1 User unknown"


def test_ten_thousand_subscribers_with_flat_worker_memory(
    postgres, mail_to_smtp, shared_broker, start_worker, rest
):
    import threading

    import psutil

    smtp = mail_to_smtp
    smtp.handler.count_only = True
    total = 10_000
    Subscriber.objects.bulk_create(
        [Subscriber(email=f"m{i}@example.com", state="active") for i in range(total)],
        batch_size=2000,
    )
    worker = start_worker(shared_broker, smtp)
    samples: list[tuple[int, int]] = []  # (mails received so far, worker RSS in bytes)
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            rss = 0
            for pid in worker.pids():
                with contextlib.suppress(psutil.NoSuchProcess):
                    rss += psutil.Process(pid).memory_info().rss
            samples.append((smtp.handler.count, rss))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    incident_services.open_incident(
        name="API errors",
        status="investigating",
        body="Everyone.",
        components={rest.code: Component.Status.MAJOR_OUTAGE},
    )
    wait_for(lambda: smtp.handler.count >= total, 240, 0.5, f"{total} emails")
    elapsed = time.monotonic() - started
    stop.set()
    sampler.join()
    time.sleep(0.5)
    assert smtp.handler.count == total
    assert len(set(smtp.handler.recipients)) == total
    assert Delivery.objects.filter(state=DState.SENT).count() == total

    early = max(rss for count, rss in samples if 1000 <= count <= 2500)
    late = max(rss for count, rss in samples if count >= 8000)
    mib = 1024 * 1024
    print(
        f"\n10k delivery: {elapsed:.1f}s; worker RSS (main + 2 children) "
        f"{early / mib:.1f} MiB after ~2k mails, {late / mib:.1f} MiB at 8k-10k"
    )
    assert late - early < 25 * mib, (early, late)
