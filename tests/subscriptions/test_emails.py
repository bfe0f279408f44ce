"""Content and headers of the notification emails."""

from datetime import timedelta

from django.utils import timezone

from incidents import services as incident_services
from incidents.models import Incident
from subscriptions import delivery, outbox, services
from subscriptions.models import Delivery, NotificationEvent
from subscriptions.rendering import NotificationContext, notification_email
from tests.subscriptions.helpers import fanned_out_ids, manage_links, point_mail_at
from tests.subscriptions.smtp import SMTPServer


def test_update_email_parts_and_headers(open_incident, rest_fan, settings):
    settings.STATUSPAGE_TIME_ZONE = "America/Sao_Paulo"
    incident = open_incident(name="Login <fails> & more", body="We *see* errors.")
    event = NotificationEvent.objects.get(update=incident.updates.get())
    message = notification_email(NotificationContext.for_event(event), rest_fan)
    assert message.subject == "[Acme] Login <fails> & more: Investigating"
    assert "We *see* errors." in message.body
    assert "REST API: Major outage" in message.body
    assert "GMT-03:00" in message.body
    html = message.alternatives[0][0]
    assert "<em>see</em>" in html and "Login &lt;fails&gt; &amp; more" in html
    assert f"https://status.example.com/incidents/{incident.code}/" in html
    assert f"https://status.example.com/subscriptions/{rest_fan.token}/unsubscribe/" in html
    headers = message.extra_headers
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith("<https://status.example.com/subscriptions/")
    assert "rita" not in headers["List-Unsubscribe"]
    assert headers["Message-ID"] == f"<incident.{incident.code}.{rest_fan.code}@status.example.com>"
    assert "In-Reply-To" not in headers
    raw = message.message().as_string()
    assert "List-Id:" in raw


def test_later_updates_thread_under_the_first(open_incident, rest_fan):
    incident = open_incident()
    update = incident_services.post_update(incident, status="resolved", body="Fixed.")
    event = NotificationEvent.objects.get(update=update)
    headers = notification_email(NotificationContext.for_event(event), rest_fan).extra_headers
    root = f"<incident.{incident.code}.{rest_fan.code}@status.example.com>"
    assert headers["In-Reply-To"] == root and headers["References"] == root
    assert headers["Message-ID"] != root


def test_postmortem_and_reminder_emails(open_incident, everything):
    incident = open_incident()
    incident_services.resolve(incident)
    incident_services.save_postmortem_draft(incident, body="Root cause: **DNS**.")
    incident_services.publish_postmortem(incident, notify=True)
    event = NotificationEvent.objects.get(kind="postmortem")
    message = notification_email(NotificationContext.for_event(event), everything)
    assert message.subject == "[Acme] API errors: Postmortem"
    assert "<strong>DNS</strong>" in message.alternatives[0][0]


def test_an_update_on_maintenance_without_an_end_still_renders(everything):
    # The maintenance change page lets an operator clear "scheduled until" (it is optional).
    start = timezone.now() + timedelta(minutes=30)
    maintenance = incident_services.open_incident(
        name="DB upgrade",
        kind="maintenance",
        status="scheduled",
        body="We upgrade the database.",
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=1),
    )
    Incident.objects.filter(pk=maintenance.pk).update(scheduled_until=None)
    maintenance.refresh_from_db()
    update = incident_services.post_update(maintenance, status="in_progress", body="Started.")
    event = NotificationEvent.objects.get(update=update)
    message = notification_email(NotificationContext.for_event(event), everything)
    assert "Started." in message.body
    assert "Scheduled" not in message.body and "None" not in message.body


def test_outbox_sends_what_the_builder_builds(open_incident, everything):
    from django.core import mail

    incident = open_incident()
    event = NotificationEvent.objects.get(update=incident.updates.get())
    batches = []
    outbox.fan_out(event.pk, enqueue=batches.append)
    delivery.send_batch(batches[0])
    assert mail.outbox[0].subject == "[Acme] API errors: Investigating"


# --- Shared parts rendered once per batch, per-subscriber values substituted -----------


_smtp, _batch, _links = point_mail_at, fanned_out_ids, manage_links


def test_two_recipients_of_one_event_get_their_own_links_and_ids(
    open_incident, rest_fan, everything, settings
):
    """Over a real SMTP server (the substituted-bytes path): each subscriber's email has
    their own To, manage and one-click unsubscribe links and Message-ID, nothing of the
    other's, and otherwise the same subject and bodies."""
    incident = open_incident(name="Login <fails> & more", body="We *see* errors.")
    event = NotificationEvent.objects.get(update=incident.updates.get())
    with SMTPServer() as smtp:
        _smtp(settings, smtp)
        assert delivery.send_batch(_batch(event)).sent == 2
        received = {r.to: r for r in smtp.handler.received}
    assert set(received) == {"rita@example.com", "eve@example.com"}
    normalised = {}
    for subscriber, other in ((rest_fan, everything), (everything, rest_fan)):
        got = received[subscriber.email]
        message = got.message
        manage, unsubscribe = _links(subscriber)
        text = got.part("text/plain").replace("\r\n", "\n")
        html = got.part("text/html")
        assert message["To"] == subscriber.email
        assert message["Subject"].strip() == "[Acme] Login <fails> & more: Investigating"
        assert f"Manage your subscription: {manage}\n" in text
        assert f"Unsubscribe: {unsubscribe}" in text
        assert f'<a href="{manage}">Manage your subscription</a>' in html
        assert f'<a href="{unsubscribe}">Unsubscribe</a>' in html
        assert "<em>see</em>" in html and "Login &lt;fails&gt; &amp; more" in html
        # (Django folds the long header onto a continuation line: a leading space.)
        assert message["List-Unsubscribe"].strip() == f"<{unsubscribe}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Id"] == "Acme status <status.status.example.com>"
        assert message["Message-ID"] == (
            f"<incident.{incident.code}.{subscriber.code}@status.example.com>"
        )
        assert message["Date"]
        for secret in (other.token, other.code, other.email):
            assert secret.encode() not in got.raw
        # Each says why it came and what its subscriber follows: the one other
        # difference between the two emails.
        wording = {
            rest_fan.email: ("because you follow REST API", "REST API"),
            everything.email: (
                "because you follow everything on Acme status",
                "everything on Acme status",
            ),
        }[subscriber.email]
        assert f"You get this email {wording[0]}.\nYou follow: {wording[1]}.\n" in text
        assert f"You get this email {wording[0]}.<br>" in html
        normalised[subscriber.email] = (
            message["Subject"],
            text.replace(subscriber.token, "TOKEN")
            .replace(wording[0], "REASON")
            .replace(f"You follow: {wording[1]}.", "SCOPE"),
            html.replace(subscriber.token, "TOKEN")
            .replace(wording[0], "REASON")
            .replace(f"You follow: {wording[1]}.", "SCOPE"),
        )
    assert normalised["rita@example.com"] == normalised["eve@example.com"]


def test_later_update_threads_each_recipient_under_their_own_root(
    open_incident, rest_fan, everything, settings
):
    incident = open_incident()
    update = incident_services.post_update(incident, status="identified", body="Found it.")
    event = NotificationEvent.objects.get(update=update)
    with SMTPServer() as smtp:
        _smtp(settings, smtp)
        delivery.send_batch(_batch(event))
        received = {r.to: r.message for r in smtp.handler.received}
    ids = set()
    for subscriber in (rest_fan, everything):
        message = received[subscriber.email]
        root = f"<incident.{incident.code}.{subscriber.code}@status.example.com>"
        assert message["In-Reply-To"] == root and message["References"] == root
        assert message["Message-ID"] == (
            f"<update.{event.code}.{subscriber.code}@status.example.com>"
        )
        ids.add(message["Message-ID"])
    assert len(ids) == 2


def test_a_later_batch_of_the_same_event_carries_a_correction_made_meanwhile(
    open_incident, rest, settings
):
    # A process renders an event once for all its batches, while nothing public changed.
    for i in range(3):
        services.add_subscriber(f"b{i}@example.com", confirmed=True)
    incident = open_incident(body="Erors on the API.")
    update = incident.updates.get()
    ids = fanned_out_ids(NotificationEvent.objects.get(update=update))
    with SMTPServer() as smtp:
        point_mail_at(settings, smtp)
        assert delivery.send_batch(ids[:1]).sent == 1
        assert delivery.send_batch(ids[1:2]).sent == 1  # (the rendering kept)
        incident_services.correct_body(update, "Errors on the API.")
        assert delivery.send_batch(ids[2:]).sent == 1
        texts = [r.part("text/plain") for r in smtp.handler.received]
    assert ["Erors on the API." in text for text in texts] == [True, True, False]
    assert "Errors on the API." in texts[2]


def test_a_scope_changed_between_two_attempts_is_in_the_next_email(
    open_incident, rest, graphql, settings
):
    rita = services.add_subscriber("rita@example.com", components=[rest], confirmed=True)
    gina = services.add_subscriber("gina@example.com", components=[rest], confirmed=True)
    ids = fanned_out_ids(NotificationEvent.objects.get(update=open_incident().updates.get()))
    with SMTPServer() as smtp:
        smtp.handler.answers["gina@example.com"] = ["451 try again later"]
        point_mail_at(settings, smtp)
        result = delivery.send_batch(ids)
        assert result.sent == 1 and result.retry == 1
        # Between Gina's two attempts she follows GraphQL too (the rendering is kept).
        services.set_scope(gina, [rest, graphql])
        Delivery.objects.filter(pk__in=ids).update(next_attempt_at=timezone.now())
        assert delivery.send_batch(ids).sent == 1
        texts = {r.to: r.part("text/plain") for r in smtp.handler.received}
    assert "You follow: REST API.\n" in texts[rita.email].replace("\r\n", "\n")
    assert "You follow: REST API and GraphQL.\n" in texts[gina.email].replace("\r\n", "\n")
