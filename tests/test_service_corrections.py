"""Service operations the manage API needed: moving an update on the timeline, deleting an
incident, taking a postmortem back or deleting it, setting a group's members, and the
origin of a backfilled incident's history."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from components.models import ChangeSource, Component, ComponentStatusChange, Origin
from components.ordering import set_members
from incidents import services
from incidents.backfill import Step, backfill_incident
from incidents.models import Incident, IncidentUpdate, Postmortem, StatusChangeCause
from statusportal.errors import ConflictError
from subscriptions.models import NotificationEvent

pytestmark = pytest.mark.django_db


def test_moving_the_first_update_moves_the_start_and_notifies_nobody(open_incident):
    incident = open_incident(display_at=timezone.now() - timedelta(hours=2))
    update = incident.updates.get()
    events = NotificationEvent.objects.count()
    earlier = timezone.now() - timedelta(hours=5)
    assert services.correct_display_at(update, earlier) is True
    incident.refresh_from_db()
    assert incident.started_at == earlier
    assert NotificationEvent.objects.count() == events
    assert services.correct_display_at(update, earlier) is False


def test_moving_the_closing_update_moves_resolved_and_monitoring(open_incident):
    incident = open_incident(display_at=timezone.now() - timedelta(hours=3))
    monitoring = services.post_update(
        incident,
        status="monitoring",
        body="Fix out.",
        display_at=timezone.now() - timedelta(hours=2),
    )
    resolved = services.post_update(incident, status="resolved", body="Over.")
    services.correct_display_at(monitoring, timezone.now() - timedelta(minutes=150))
    services.correct_display_at(resolved, timezone.now() - timedelta(hours=1))
    incident.refresh_from_db()
    assert incident.monitoring_at == IncidentUpdate.objects.get(pk=monitoring.pk).display_at
    assert incident.resolved_at == IncidentUpdate.objects.get(pk=resolved.pk).display_at


@pytest.mark.parametrize(
    "when",
    [
        lambda now: now + timedelta(hours=1),  # the future
        lambda now: now - timedelta(hours=4),  # before the previous update
        lambda now: (now - timedelta(minutes=10)).replace(tzinfo=None),  # no zone
        lambda now: now.replace(year=1900),  # out of the sane range
    ],
)
def test_an_update_keeps_its_place_on_the_timeline(open_incident, when):
    now = timezone.now()
    incident = open_incident(display_at=now - timedelta(hours=3))
    second = services.post_update(
        incident, status="identified", body="Found.", display_at=now - timedelta(hours=2)
    )
    services.post_update(
        incident, status="monitoring", body="Fixed.", display_at=now - timedelta(hours=1)
    )
    with pytest.raises(ValidationError) as refused:
        services.correct_display_at(second, when(now))
    assert "display_at" in refused.value.message_dict
    assert IncidentUpdate.objects.get(pk=second.pk).display_at == now - timedelta(hours=2)


def test_moving_an_update_past_the_next_one_is_refused(open_incident):
    now = timezone.now()
    incident = open_incident(display_at=now - timedelta(hours=3))
    first = incident.updates.get()
    services.post_update(
        incident, status="identified", body="Found.", display_at=now - timedelta(hours=2)
    )
    with pytest.raises(ValidationError) as refused:
        services.correct_display_at(first, now - timedelta(hours=1))
    assert "after the next update" in refused.value.message_dict["display_at"][0]


def test_deleting_an_incident_keeps_component_history_and_statuses(open_incident, rest):
    incident = open_incident()
    changes = ComponentStatusChange.objects.filter(component=rest).count()
    services.delete_incident(incident)
    assert not Incident.objects.exists()
    assert not IncidentUpdate.objects.exists()
    assert not StatusChangeCause.objects.exists()
    assert ComponentStatusChange.objects.filter(component=rest).count() == changes
    rest.refresh_from_db()
    assert rest.status == "major_outage"


def test_reverting_and_deleting_a_postmortem(open_incident):
    incident = open_incident(status="resolved")
    with pytest.raises(ValidationError):
        services.revert_postmortem(incident)
    services.save_postmortem_draft(incident, body="Root cause.")
    with pytest.raises(ConflictError):
        services.revert_postmortem(incident)
    services.publish_postmortem(incident)
    postmortem = services.revert_postmortem(incident)
    assert postmortem.published_at is None
    assert Postmortem.objects.get().body == "Root cause."
    assert services.delete_postmortem(incident) is True
    assert services.delete_postmortem(incident) is False


def test_setting_a_groups_members(api_group, rest, graphql, website):
    set_members(api_group, [website, graphql])
    rest.refresh_from_db()
    website.refresh_from_db()
    graphql.refresh_from_db()
    assert (website.group, website.position) == (api_group, 0)
    assert (graphql.group, graphql.position) == (api_group, 1)
    assert rest.group is None
    assert rest.position > api_group.position  # last on the page


def test_a_backfilled_incident_records_its_origin(rest):
    past = timezone.now() - timedelta(days=3)
    Component.objects.filter(pk=rest.pk).update(created_at=past - timedelta(days=1))
    ComponentStatusChange.objects.filter(component=rest).update(at=past - timedelta(days=1))
    origin = Origin(ChangeSource.IMPORT, actor="statuspage import")
    backfill_incident(
        name="Past outage",
        steps=[
            Step(
                status="investigating",
                body="Down.",
                display_at=past,
                components={rest.code: "major_outage"},
            ),
            Step(status="resolved", body="Up.", display_at=past + timedelta(hours=1)),
        ],
        origin=origin,
    )
    rows = ComponentStatusChange.objects.filter(component=rest, at__gte=past)
    assert {(r.source, r.actor) for r in rows} == {(ChangeSource.IMPORT, "statuspage import")}
