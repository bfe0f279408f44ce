"""The SMTP fast path: substituted bytes are byte for byte what Django sends.

Runs on every supported Django line (5.2 writes 8bit bodies; 6.x quoted-printable bodies
and RFC 2047-folded long headers), against the real SMTP backend and a real server."""

import re
import smtplib

import pytest

from incidents import services as incident_services
from statusportal.mail import open_connection
from subscriptions import delivery, mime, services
from subscriptions.models import NotificationEvent, Subscriber
from subscriptions.rendering import NotificationContext, date_header, notification_email
from tests.subscriptions.helpers import fanned_out_ids, manage_links, point_mail_at
from tests.subscriptions.smtp import SMTPServer

DATE = "Tue, 01 Sep 2026 12:00:00 -0000"
# Real tokens are 43 characters of [A-Za-z0-9_-]; "_" inside an RFC 2047 encoded word
# is written "=5F", so those tokens are the case to check where Django 6 encodes one.
TOKENS = {
    "letters": "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg",
    "dashes": "-abc-DEF-123-ghi-JKL-456-mno-PQR-789-stu-VW",
    "underscores": "_abc_DEF_123_ghi_JKL_456_mno_PQR_789_stu_VW",
}


_smtp, _batch, _links = point_mail_at, fanned_out_ids, manage_links


def _boundaryless(data: bytes) -> bytes:
    """The bytes without the random MIME boundary (the one thing two builds differ in)."""
    boundary = re.search(rb'boundary="([^"]+)"', data).group(1)
    return data.replace(boundary, b"BOUNDARY")


def _canonical(data: bytes) -> bytes:
    """Without the boundary and the Date line."""
    return re.sub(rb"\r\nDate: [^\r]*", b"\r\nDate: DATE", _boundaryless(data))


def _subscriber(address: str, token: str, rest) -> Subscriber:
    subscriber = services.add_subscriber(address, components=[rest], confirmed=True)
    Subscriber.objects.filter(pk=subscriber.pk).update(token=token)
    subscriber.refresh_from_db()
    return subscriber


@pytest.mark.parametrize("token", TOKENS.values(), ids=TOKENS.keys())
@pytest.mark.parametrize("later", [False, True], ids=["first", "later"])
def test_fast_path_bytes_are_what_the_smtp_backend_sends(
    open_incident, rest, settings, token, later
):
    """The same email sent twice to a real server, once by Django's SMTP backend from the
    ordinary EmailMultiAlternatives and once as substituted bytes: the server receives
    the same bytes, envelope included (but for the random MIME boundary)."""
    subscriber = _subscriber("Rita.Smith+status@Example.COM", token, rest)
    incident = open_incident(name="Login <fails> & more — «ünïcode»", body="We *see* errors.")
    update = incident.updates.get()
    if later:
        update = incident_services.post_update(incident, status="resolved", body="Fixed.")
    context = NotificationContext.for_event(NotificationEvent.objects.get(update=update))
    template = mime.RawTemplate.build(context)
    assert template is not None
    raw = template.email_for(subscriber, date=DATE)
    if raw is None:
        # Only a token Django would encode differently inside an encoded word.
        assert "_" in token and "token" in template.encoded
        return
    with SMTPServer() as smtp:
        _smtp(settings, smtp)
        backend = open_connection()
        backend.send_messages([notification_email(context, subscriber, date=DATE)])
        with smtplib.SMTP("127.0.0.1", smtp.port) as client:
            client.sendmail(raw.sender, [raw.recipient], raw.data)
        django_sent, fast = smtp.handler.received
    assert (fast.mail_from, fast.rcpt_tos) == (django_sent.mail_from, django_sent.rcpt_tos)
    assert _boundaryless(fast.raw) == _boundaryless(django_sent.raw)


def test_plain_recipients_take_the_fast_path_on_every_django_line(open_incident, rest):
    """So that the byte-for-byte test above cannot pass by never substituting."""
    subscriber = _subscriber("rita@example.com", TOKENS["dashes"], rest)
    event = NotificationEvent.objects.get(update=open_incident().updates.get())
    template = mime.RawTemplate.build(NotificationContext.for_event(event))
    assert template is not None and template.email_for(subscriber) is not None


@pytest.mark.parametrize("address", ["rita@example.com", "Rita.Smith+status@Example.COM"])
@pytest.mark.parametrize("later", [False, True])
def test_substituted_bytes_are_what_django_builds(open_incident, rest, address, later):
    """The substituted message is byte for byte the one Django's SMTP backend would
    build from the ordinary EmailMultiAlternatives (but for boundary and Date)."""
    subscriber = services.add_subscriber(address, components=[rest], confirmed=True)
    incident = open_incident(name="Login <fails> & more", body="We *see* errors.")
    update = incident.updates.get()
    if later:
        update = incident_services.post_update(incident, status="resolved", body="Fixed.")
    context = NotificationContext.for_event(NotificationEvent.objects.get(update=update))
    date = date_header()
    raw = mime.RawTemplate.build(context).email_for(subscriber, date=date)
    if raw is None:
        assert "_" in subscriber.token  # see test_fast_path_bytes_are_what_the_smtp_backend_sends
        return
    assert raw.recipient == subscriber.email and raw.sender == "status@localhost"
    expected = mime.smtp_bytes(notification_email(context, subscriber, date=date))
    assert _canonical(raw.data) == _canonical(expected)
    # A second context (another batch) has other placeholders, the same result.
    again = mime.RawTemplate.build(NotificationContext.for_event(context.event))
    assert _canonical(again.email_for(subscriber, date=date).data) == _canonical(raw.data)


def test_unusual_address_gets_the_ordinary_build(open_incident, settings, db):
    """An internationalised domain needs IDNA encoding, a very long address a folded To
    header: no substitution, Django builds and sends those messages itself, links still
    the subscriber's own."""
    odd = services.add_subscriber("jose@exämple.com", confirmed=True)
    long = services.add_subscriber("a" * 70 + "@example.com", confirmed=True)
    plain = services.add_subscriber("ann@example.com", confirmed=True)
    Subscriber.objects.filter(pk=plain.pk).update(token=TOKENS["letters"])
    plain.refresh_from_db()
    event = NotificationEvent.objects.get(update=open_incident().updates.get())
    template = mime.RawTemplate.build(NotificationContext.for_event(event))
    assert template.email_for(odd) is None
    assert template.email_for(long) is None
    assert template.email_for(plain) is not None
    with SMTPServer() as smtp:
        _smtp(settings, smtp)
        assert delivery.send_batch(_batch(event)).sent == 3
        received = {r.to: r for r in smtp.handler.received}
    assert received[long.email].message["To"] == long.email
    got = received["jose@xn--exmple-cua.com"]
    manage, unsubscribe = _links(odd)
    assert got.message["List-Unsubscribe"].strip() == f"<{unsubscribe}>"
    assert f"Manage your subscription: {manage}" in got.part("text/plain")
    assert plain.token.encode() not in got.raw


def test_very_long_lines_are_encoded_per_recipient(open_incident, rest_fan, everything, settings):
    """A paragraph longer than SMTP's 998-character line limit makes Django encode the
    parts (quoted-printable); substituting into encoded bytes would break them, so each
    recipient's message is built whole, and arrives intact."""
    paragraph = "The database failed over. " * 60
    event = NotificationEvent.objects.get(update=open_incident(body=paragraph).updates.get())
    assert mime.RawTemplate.build(NotificationContext.for_event(event)) is None
    with SMTPServer() as smtp:
        _smtp(settings, smtp)
        assert delivery.send_batch(_batch(event)).sent == 2
        received = {r.to: r for r in smtp.handler.received}
    for subscriber in (rest_fan, everything):
        got = received[subscriber.email]
        assert paragraph.strip() in got.part("text/plain")
        assert f'<a href="{_links(subscriber)[1]}">Unsubscribe</a>' in got.part("text/html")
        assert all(len(line) <= 998 for line in got.raw.split(b"\r\n"))
