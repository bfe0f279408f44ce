"""What the notification emails say and how they look in a mail client: the reminder
repeats the maintenance's description and components, body headings never outgrow the
title, and the subject needs no encoding when its words are ASCII."""

import re
from datetime import timedelta

from django.utils import timezone

from components.models import Component
from incidents import services as incident_services
from incidents.models import Incident
from subscriptions import delivery
from subscriptions.models import NotificationEvent
from subscriptions.outbox import record_reminder
from subscriptions.rendering import NotificationContext, notification_email
from tests.subscriptions.helpers import fanned_out_ids, point_mail_at
from tests.subscriptions.smtp import SMTPServer

# A heading tag and the font size its inline style sets.
HEADING = re.compile(r'<h([1-6])(?: style="[^"]*font-size:(\d+)px[^"]*")?>')


def maintenance_on(
    components: dict, body: str = "We upgrade the **database** cluster."
) -> Incident:
    start = timezone.now() + timedelta(minutes=50)
    return incident_services.open_incident(
        name="Database upgrade",
        kind=Incident.Kind.MAINTENANCE,
        status="scheduled",
        body=body,
        components=components,
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=2),
        remind_before=timedelta(hours=1),
    )


def test_the_reminder_repeats_the_description_and_the_components_in_page_order(
    everything, api_group, rest, graphql, website
):
    # Page order: the Website (position 0) before the API group (1), and inside the group
    # REST API before GraphQL: neither alphabetical nor the order given below.
    maintenance = maintenance_on({graphql.code: None, website.code: None, rest.code: None})
    incident_services.post_update(
        maintenance, status="scheduled", body="Moved by an hour; writes pause for a minute."
    )
    event = record_reminder(maintenance)
    message = notification_email(NotificationContext.for_event(event), everything)
    html = message.alternatives[0][0]
    # The latest word on the maintenance, in both parts.
    assert "Moved by an hour; writes pause for a minute." in message.body
    assert "Moved by an hour; writes pause for a minute." in html
    assert "Affects: Website, API (REST API, GraphQL)" in message.body
    assert "<strong>Affects:</strong> Website, API (REST API, GraphQL)" in html
    assert message.subject.startswith("[Acme] Database upgrade: Starts ")


def test_a_reminder_of_maintenance_without_components_names_none(everything):
    maintenance = maintenance_on({})
    message = notification_email(
        NotificationContext.for_event(record_reminder(maintenance)), everything
    )
    assert "We upgrade the **database** cluster." in message.body  # Markdown source
    assert "<strong>database</strong>" in message.alternatives[0][0]
    assert "Affects" not in message.body


def headings(html: str) -> list[tuple[int, int | None]]:
    return [(int(level), int(px) if px else None) for level, px in HEADING.findall(html)]


def test_postmortem_and_update_headings_are_smaller_than_the_email_title(open_incident, everything):
    body = "# What happened\n\nDNS.\n\n## Timeline\n\n### 10:00\n\n###### Footnote\n\nEnd."
    incident = open_incident(body=body)
    incident_services.resolve(incident)
    incident_services.save_postmortem_draft(incident, body=body)
    incident_services.publish_postmortem(incident, notify=True)
    for event in (
        NotificationEvent.objects.get(update=incident.updates.order_by("pk").first()),
        NotificationEvent.objects.get(kind="postmortem"),
    ):
        html = notification_email(NotificationContext.for_event(event), everything).alternatives[0][
            0
        ]
        found = headings(html)
        # One <h1>, the email's title at 20px; the body's four headings below it, each
        # one level down and in a smaller font.
        assert found[0] == (1, 20), found
        body_headings = found[1:]
        assert [level for level, _ in body_headings] == [2, 3, 4, 6], found
        assert all(px is not None and px < 20 for _, px in body_headings), found
        assert "<h2" in html and "What happened</h2>" in html


def raw_subject(raw: bytes) -> bytes:
    """The Subject header as it travelled: with any continuation lines (folding)."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    match = re.search(rb"^Subject:.*?(?=\r\n(?![ \t]))", head, re.MULTILINE | re.DOTALL)
    assert match, head
    return match.group(0)


def test_subjects_of_ascii_names_travel_unencoded_and_unfolded(open_incident, everything, settings):
    """Read in the raw message the SMTP server received: the project's own separators
    add no non-ASCII character, so the subject is neither RFC 2047-encoded nor folded."""
    incident = open_incident(name="Checkout errors in the EU region")
    update = incident_services.post_update(incident, status="identified", body="A bad deploy.")
    maintenance = maintenance_on({})
    reminder = record_reminder(maintenance)
    with SMTPServer() as smtp:
        point_mail_at(settings, smtp)
        for event in (NotificationEvent.objects.get(update=update), reminder):
            assert delivery.send_batch(fanned_out_ids(event)).sent == 1
        received = smtp.handler.received
    subjects = [raw_subject(r.raw) for r in received]
    assert subjects[0] == b"Subject: [Acme] Checkout errors in the EU region: Identified"
    assert subjects[1].startswith(b"Subject: [Acme] Database upgrade: Starts ")
    for subject in subjects:
        assert b"=?" not in subject and b"\r\n" not in subject, subject


def test_a_non_ascii_name_may_be_encoded_and_reads_back_whole(open_incident, everything, settings):
    incident = open_incident(name="Zahlungen — São Paulo")
    event = NotificationEvent.objects.get(update=incident.updates.get())
    with SMTPServer() as smtp:
        point_mail_at(settings, smtp)
        assert delivery.send_batch(fanned_out_ids(event)).sent == 1
        message = smtp.handler.received[0].message
    # (Django 5.2 starts an encoded header on a continuation line: a leading space.)
    assert message["Subject"].strip() == "[Acme] Zahlungen — São Paulo: Investigating"


def test_status_labels_are_ascii(db):
    # The subject's last words are a status label: ASCII, so they add no encoding.
    assert all(label.isascii() for label in Incident.Status.labels)
    assert all(label.isascii() for label in Component.Status.labels)
