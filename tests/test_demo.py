"""``manage.py loaddemo``: a believable page, idempotent, rebuilt by --reset."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count
from django.urls import reverse

from components.models import Component, ComponentGroup, ComponentStatusChange, UptimeDay
from components.uptime import stale_rollups
from demo.catalogue import DEMO_PASSWORD, DEMO_USERNAME
from incidents.models import Incident, IncidentUpdate, Postmortem
from incidents.signals import update_posted
from subscriptions.models import Subscriber

SMALL = ["--incidents", "30", "--subscribers", "5"]


def loaddemo(*args) -> str:
    out = StringIO()
    call_command("loaddemo", *args, stdout=out)
    return out.getvalue()


def snapshot():
    return (
        ComponentGroup.objects.count(),
        Component.objects.count(),
        Incident.objects.count(),
        IncidentUpdate.objects.count(),
        ComponentStatusChange.objects.count(),
        Postmortem.objects.count(),
    )


@pytest.mark.django_db
def test_loaddemo_builds_a_believable_page_without_notifying(client):
    output = loaddemo(*SMALL)
    assert "incidents: 30/30" in output
    assert "demo / demo-operator" in output
    assert ComponentGroup.objects.count() == 6
    assert Component.objects.count() == 25
    assert not IncidentUpdate.objects.filter(deliver_notifications=True).exists()
    # Two to six updates per past incident; history spans about two years.
    counts = set(
        Incident.objects.exclude(Incident.open_filter())
        .annotate(n=Count("updates"))
        .values_list("n", flat=True)
    )
    assert counts and min(counts) >= 2 and max(counts) <= 6
    oldest = Incident.objects.order_by("started_at").first().started_at
    newest = Incident.objects.order_by("-started_at").first().started_at
    assert (newest - oldest).days > 600
    # Exactly one active incident and one upcoming maintenance.
    open_ = Incident.objects.filter(Incident.open_filter())
    assert list(open_.filter(kind="incident").values_list("status", flat=True)) == ["identified"]
    assert list(open_.filter(kind="maintenance").values_list("status", flat=True)) == ["scheduled"]
    assert Incident.objects.filter(kind="maintenance", status="completed").exists()
    assert Postmortem.objects.filter(published_at__isnull=False).exists()
    # Only the active incident's component is not operational.
    assert list(Component.objects.exclude(status="operational").values_list("name", flat=True)) == [
        "Webhooks"
    ]
    # The pages read the uptime roll-up the history wrote as it was built.
    assert UptimeDay.objects.exists() and not stale_rollups().exists()
    # The demo operator is Support staff, not a superuser, and can use the console.
    user = get_user_model().objects.get(username=DEMO_USERNAME)
    assert user.check_password(DEMO_PASSWORD)
    assert user.is_staff and not user.is_superuser
    client.force_login(user)
    assert client.get(reverse("admin:incidents_incident_changelist")).status_code == 200


@pytest.mark.django_db
def test_second_run_does_nothing_and_says_so():
    loaddemo(*SMALL)
    before = snapshot()
    received = []

    def receiver(**kwargs):
        received.append(kwargs)

    update_posted.connect(receiver, dispatch_uid="test-demo")
    try:
        output = loaddemo(*SMALL)
    finally:
        update_posted.disconnect(dispatch_uid="test-demo")
    assert "nothing to do" in output
    assert snapshot() == before
    assert received == []


@pytest.mark.django_db
def test_reset_rebuilds_the_same_page():
    loaddemo(*SMALL)
    first = snapshot()
    Incident.objects.filter(kind="incident").first().delete()
    Component.objects.create(name="Leftover")
    output = loaddemo("--reset", *SMALL)
    assert "reset:" in output
    assert snapshot() == first  # seeded: the same page again
    assert not Component.objects.filter(name="Leftover").exists()
    assert get_user_model().objects.filter(username=DEMO_USERNAME).count() == 1


@pytest.mark.django_db
def test_subscribers_are_active_and_were_not_emailed(
    mailoutbox, django_capture_on_commit_callbacks
):
    # Run what would happen after commit (enqueued notifications) too.
    with django_capture_on_commit_callbacks(execute=True):
        loaddemo("--incidents", "10", "--subscribers", "20")
    assert Subscriber.objects.count() == 20
    assert set(Subscriber.objects.values_list("state", flat=True)) == {"active"}
    assert all(s.email.rsplit("@")[1].startswith("example.") for s in Subscriber.objects.all())
    assert mailoutbox == []
