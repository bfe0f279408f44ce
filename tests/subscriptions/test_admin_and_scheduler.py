"""The operator console for subscribers and deliveries, and the maintenance scheduler."""

import csv
import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from incidents import services as incident_services
from incidents.models import Incident
from subscriptions import outbox, scheduler
from subscriptions.models import Delivery, NotificationEvent, Subscriber


@pytest.fixture
def admin_client_(admin_client):
    # Ada is a superuser: all subscriber actions are hers.
    return admin_client


def test_retry_failed_action_makes_rows_pending(admin_client_, open_incident, everything):
    event = NotificationEvent.objects.get(update=open_incident().updates.get())
    outbox.fan_out(event.pk, enqueue=lambda ids: None)
    Delivery.objects.update(state="failed", last_error="550 no")
    response = admin_client_.post(
        "/admin/subscriptions/delivery/",
        {
            "action": "retry",
            "_selected_action": list(Delivery.objects.values_list("pk", flat=True)),
        },
    )
    assert response.status_code == 302
    assert Delivery.objects.get().state == "pending"


def test_delivery_list_filters_by_state_and_error(admin_client_, open_incident, everything):
    event = NotificationEvent.objects.get(update=open_incident().updates.get())
    outbox.fan_out(event.pk, enqueue=lambda ids: None)
    Delivery.objects.update(state="failed", last_error="550 5.1.1 unknown user")
    page = admin_client_.get("/admin/subscriptions/delivery/?state__exact=failed&error=5xx")
    assert page.status_code == 200 and b"eve@example.com" in page.content
    page = admin_client_.get(f"/admin/subscriptions/delivery/?event__id__exact={event.pk}")
    assert page.status_code == 200 and b"eve@example.com" in page.content
    page = admin_client_.get("/admin/subscriptions/delivery/?error=4xx")
    assert b"eve@example.com" not in page.content


def test_subscriber_actions_and_filters(admin_client_, everything, rest_fan, rest, unconfirmed):
    url = "/admin/subscriptions/subscriber/"
    page = admin_client_.get(url, {"q": "rita"})
    assert b"rita@example.com" in page.content and b"eve@example.com" not in page.content
    page = admin_client_.get(url, {"component": rest.code})
    assert b"rita@example.com" in page.content and b"eve@example.com" in page.content
    admin_client_.post(url, {"action": "quarantine", "_selected_action": [rest_fan.pk]})
    assert Subscriber.objects.get(pk=rest_fan.pk).state == "quarantined"
    admin_client_.post(url, {"action": "reactivate", "_selected_action": [rest_fan.pk]})
    assert Subscriber.objects.get(pk=rest_fan.pk).state == "active"
    mail.outbox = []
    admin_client_.post(url, {"action": "resend_confirmation", "_selected_action": [unconfirmed.pk]})
    assert [m.to for m in mail.outbox] == [["uma@example.com"]]


def test_csv_export_and_import_round_trip(admin_client_, everything, rest_fan, rest):
    url = "/admin/subscriptions/subscriber/"
    response = admin_client_.post(
        url, {"action": "export_csv", "_selected_action": [everything.pk, rest_fan.pk]}
    )
    text = response.content.decode()
    assert text.splitlines()[0] == "email,state,components,created_at,confirmed_at"
    assert f"rita@example.com,active,{rest.code}," in text
    Subscriber.objects.all().delete()
    upload = SimpleUploadedFile("s.csv", b"email,components\nnew@example.com,REST API\nbad,\n")
    response = admin_client_.post(url + "import/", {"file": upload}, follow=True)
    assert b"Imported 1 subscriber" in response.content
    assert b"Line 3" in response.content
    imported = Subscriber.objects.get(email="new@example.com")
    assert imported.state == "active" and list(imported.components.all()) == [rest]
    assert mail.outbox == []  # imported people confirmed elsewhere; nobody is mailed


def test_support_staff_cannot_see_subscribers(client, support_user):
    client.force_login(support_user)
    assert client.get("/admin/subscriptions/subscriber/").status_code == 403


def _maintenance(**kwargs):
    start = timezone.now() + timedelta(minutes=30)
    return incident_services.open_incident(
        name="DB upgrade",
        kind="maintenance",
        status="scheduled",
        body="We upgrade the database.",
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=1),
        **kwargs,
    )


def test_reminder_once_before_start(everything):
    m = _maintenance(remind_before=timedelta(hours=1))
    assert scheduler.run_maintenance_schedule()["reminded"] == 1
    assert scheduler.run_maintenance_schedule()["reminded"] == 0
    event = NotificationEvent.objects.get(kind="reminder")
    assert event.incident == m


def test_no_reminder_too_early(everything):
    _maintenance(remind_before=timedelta(minutes=10))
    assert scheduler.run_maintenance_schedule()["reminded"] == 0


def test_auto_start_and_complete_through_the_update_service(everything, rest):
    m = _maintenance(auto_start=True, auto_complete=True, components={rest.code: None})
    now = m.scheduled_for + timedelta(seconds=1)
    assert scheduler.run_maintenance_schedule(now)["started"] == 1
    m.refresh_from_db()
    rest.refresh_from_db()
    assert m.status == Incident.Status.IN_PROGRESS and rest.status == "under_maintenance"
    assert scheduler.run_maintenance_schedule(now)["started"] == 0
    assert scheduler.run_maintenance_schedule(m.scheduled_until)["completed"] == 1
    m.refresh_from_db()
    rest.refresh_from_db()
    assert m.status == Incident.Status.COMPLETED and rest.status == "operational"
    # Each transition notified subscribers like an operator's update would.
    assert NotificationEvent.objects.filter(incident=m, kind="update").count() == 3


def test_csv_export_never_writes_a_formula(admin_client_, db):
    hostile = Subscriber.objects.create(email='=HYPERLINK("http://x")@example.com', state="active")
    plain = Subscriber.objects.create(email="sam@example.com", state="active")
    response = admin_client_.post(
        "/admin/subscriptions/subscriber/",
        {"action": "export_csv", "_selected_action": [hostile.pk, plain.pk]},
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    emails = {row[0] for row in rows[1:]}
    assert emails == {'\'=HYPERLINK("http://x")@example.com', "sam@example.com"}
