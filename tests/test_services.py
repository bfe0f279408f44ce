"""The update service: what happens when an update is posted (see docs/architecture.md,
'The update service')."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from components.models import Component, ComponentStatusChange
from incidents import services
from incidents.models import Incident, IncidentUpdate, Postmortem
from incidents.signals import postmortem_published, update_posted

S = Component.Status
pytestmark = pytest.mark.django_db


def status_of(component):
    component.refresh_from_db()
    return component.status


def test_opening_an_incident_posts_its_first_update_and_applies_statuses(rest, graphql):
    incident = services.open_incident(
        name="API errors",
        status="investigating",
        body="Elevated error rates.",
        components={rest.code: S.MAJOR_OUTAGE, graphql: S.DEGRADED_PERFORMANCE},
    )
    assert incident.status == Incident.Status.INVESTIGATING
    assert set(incident.components.all()) == {rest, graphql}
    [update] = incident.updates.all()
    assert update.body == "Elevated error rates."
    assert incident.started_at == update.display_at
    assert status_of(rest) == S.MAJOR_OUTAGE
    assert status_of(graphql) == S.DEGRADED_PERFORMANCE
    change = rest.status_changes.latest()
    assert (change.old_status, change.new_status) == (S.OPERATIONAL, S.MAJOR_OUTAGE)
    assert change.cause.incident_update == update
    assert {e["code"]: e["new_status"] for e in update.affected_components} == {
        rest.code: "major_outage",
        graphql.code: "degraded_performance",
    }


@pytest.mark.parametrize(
    ("component_status", "impact"),
    [
        (S.DEGRADED_PERFORMANCE, "minor"),
        (S.PARTIAL_OUTAGE, "major"),
        (S.MAJOR_OUTAGE, "critical"),
        (S.OPERATIONAL, "none"),
    ],
)
def test_impact_follows_the_worst_status_reached(open_incident, rest, component_status, impact):
    incident = open_incident(components={rest.code: component_status})
    assert incident.impact == impact


def test_impact_does_not_fall_back_when_the_incident_resolves(open_incident, rest):
    incident = open_incident(components={rest.code: S.MAJOR_OUTAGE})
    services.post_update(
        incident,
        status="monitoring",
        body="Fix deployed.",
        components={rest.code: S.DEGRADED_PERFORMANCE},
    )
    services.resolve(incident)
    incident.refresh_from_db()
    assert incident.impact == Incident.Impact.CRITICAL


def test_impact_override_wins(open_incident, rest):
    incident = open_incident(components={rest.code: S.MAJOR_OUTAGE}, impact_override="minor")
    assert incident.impact == Incident.Impact.MINOR


def test_monitoring_and_resolved_timestamps(open_incident):
    incident = open_incident()
    services.post_update(incident, status="monitoring", body="Watching.")
    incident.refresh_from_db()
    first_monitoring = incident.monitoring_at
    assert first_monitoring is not None
    services.post_update(incident, status="monitoring", body="Still watching.")
    incident.refresh_from_db()
    assert incident.monitoring_at == first_monitoring
    update = services.resolve(incident)
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    assert incident.resolved_at == update.display_at


def test_reopening_a_resolved_incident_clears_resolved_at(open_incident):
    incident = open_incident()
    services.resolve(incident)
    services.post_update(incident, status="investigating", body="It is back.")
    incident.refresh_from_db()
    assert incident.resolved_at is None
    assert incident.status == Incident.Status.INVESTIGATING


def test_resolving_returns_components_to_operational(open_incident, rest, graphql):
    incident = open_incident(components={rest.code: S.MAJOR_OUTAGE, graphql.code: S.PARTIAL_OUTAGE})
    update = services.resolve(incident)
    assert status_of(rest) == S.OPERATIONAL
    assert status_of(graphql) == S.OPERATIONAL
    assert {e["code"] for e in update.affected_components} == {rest.code, graphql.code}
    assert rest.status_changes.latest().cause.incident_update == update


def test_resolving_keeps_the_worst_status_another_open_incident_claims(
    open_incident, rest, graphql
):
    first = open_incident(name="first", components={rest.code: S.MAJOR_OUTAGE})
    open_incident(name="second", components={rest.code: S.DEGRADED_PERFORMANCE})
    open_incident(
        name="third", components={rest.code: S.PARTIAL_OUTAGE, graphql.code: S.PARTIAL_OUTAGE}
    )
    services.resolve(first)
    # Still claimed by "second" (degraded) and "third" (partial): the worst wins.
    assert status_of(rest) == S.PARTIAL_OUTAGE


def test_resolving_keeps_components_under_active_maintenance(open_incident, rest):
    now = timezone.now()
    services.open_incident(
        name="DB upgrade",
        kind="maintenance",
        status="in_progress",
        body="Upgrading.",
        components={rest.code: None},
        scheduled_for=now - timedelta(minutes=5),
        scheduled_until=now + timedelta(hours=1),
    )
    assert status_of(rest) == S.UNDER_MAINTENANCE
    incident = open_incident(components={rest.code: S.MAJOR_OUTAGE})
    services.resolve(incident)
    assert status_of(rest) == S.UNDER_MAINTENANCE


def test_scheduled_maintenance_holds_nothing(open_incident, rest):
    now = timezone.now()
    services.open_incident(
        name="Later",
        kind="maintenance",
        status="scheduled",
        body="Planned.",
        components={rest.code: None},
        scheduled_for=now + timedelta(days=1),
        scheduled_until=now + timedelta(days=1, hours=1),
    )
    assert status_of(rest) == S.OPERATIONAL
    incident = open_incident(components={rest.code: S.MAJOR_OUTAGE})
    services.resolve(incident)
    assert status_of(rest) == S.OPERATIONAL


def test_maintenance_lifecycle(rest):
    now = timezone.now()
    maintenance = services.open_incident(
        name="DB upgrade",
        kind="maintenance",
        status="scheduled",
        body="We will upgrade the database.",
        components={rest.code: None},
        scheduled_for=now + timedelta(hours=1),
        scheduled_until=now + timedelta(hours=2),
        auto_start=True,
        remind_before=timedelta(minutes=30),
    )
    assert maintenance.impact == Incident.Impact.MAINTENANCE
    assert maintenance.started_at == maintenance.scheduled_for
    assert status_of(rest) == S.OPERATIONAL
    services.post_update(maintenance, status="in_progress", body="Started.")
    assert status_of(rest) == S.UNDER_MAINTENANCE
    services.resolve(maintenance)
    maintenance.refresh_from_db()
    assert maintenance.status == Incident.Status.COMPLETED
    assert status_of(rest) == S.OPERATIONAL


def test_back_dated_update_is_shown_and_recorded_at_its_display_time(open_incident, rest):
    ComponentStatusChange.objects.update(at=timezone.now() - timedelta(days=1))
    incident = open_incident(display_at=timezone.now() - timedelta(hours=1))
    earlier = timezone.now() - timedelta(minutes=42)
    update = services.post_update(
        incident,
        status="identified",
        body="Cause found.",
        components={rest.code: S.PARTIAL_OUTAGE},
        display_at=earlier,
    )
    assert update.display_at == earlier
    assert rest.status_changes.latest("pk").at == earlier


def test_update_posted_signal_is_sent_inside_the_transaction(
    open_incident, django_capture_on_commit_callbacks
):
    received = []

    def receiver(update, incident, **kwargs):
        from django.db import connection

        received.append((update.pk, incident.pk, connection.in_atomic_block))

    update_posted.connect(receiver)
    try:
        incident = open_incident()
    finally:
        update_posted.disconnect(receiver)
    assert received == [(incident.updates.get().pk, incident.pk, True)]


def snapshot(*components):
    return (
        Incident.objects.count(),
        IncidentUpdate.objects.count(),
        ComponentStatusChange.objects.count(),
        tuple(status_of(c) for c in components),
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"status": "scheduled"}, "status"),
        ({"status": "on_fire"}, "status"),
        ({"components": {"nosuchcode12": "major_outage"}}, "components"),
        ({"components": {"REST": "exploded"}}, "components"),
        ({"body": "   "}, "body"),
        ({"display_at": timezone.now() + timedelta(days=1)}, "display_at"),
    ],
)
def test_refused_updates_change_nothing(open_incident, rest, graphql, kwargs, field):
    incident = open_incident()
    if kwargs.get("components") == {"REST": "exploded"}:
        kwargs = {"components": {rest.code: "exploded", graphql.code: S.MAJOR_OUTAGE}}
    before = snapshot(rest, graphql)
    params = {
        "status": "identified",
        "body": "Found it.",
        "components": {graphql.code: S.MAJOR_OUTAGE},
    }
    params.update(kwargs)
    with pytest.raises(ValidationError) as excinfo:
        services.post_update(incident, **params)
    assert field in excinfo.value.message_dict
    assert snapshot(rest, graphql) == before
    incident.refresh_from_db()
    assert incident.status == Incident.Status.INVESTIGATING


def test_incident_status_on_maintenance_is_refused(rest):
    now = timezone.now()
    with pytest.raises(ValidationError) as excinfo:
        services.open_incident(
            name="Upgrade",
            kind="maintenance",
            status="investigating",
            body="x",
            scheduled_for=now,
            scheduled_until=now + timedelta(hours=1),
        )
    assert "maintenance" in excinfo.value.message_dict["status"][0]
    assert not Incident.objects.exists()


def test_update_on_completed_maintenance_is_a_conflict(rest):
    now = timezone.now()
    maintenance = services.open_incident(
        name="Upgrade",
        kind="maintenance",
        status="in_progress",
        body="Started.",
        components={rest.code: None},
        scheduled_for=now - timedelta(hours=1),
        scheduled_until=now + timedelta(hours=1),
    )
    assert maintenance.accepts_updates
    services.resolve(maintenance)
    maintenance.refresh_from_db()
    assert not maintenance.accepts_updates  # the rule the console uses to hide its form
    before = snapshot(rest)
    with pytest.raises(services.ConflictError):
        services.post_update(maintenance, status="in_progress", body="Again?")
    assert snapshot(rest) == before


def test_a_resolved_incident_still_accepts_updates(open_incident):
    incident = open_incident()
    services.resolve(incident)
    incident.refresh_from_db()
    assert incident.accepts_updates
    services.post_update(incident, status="investigating", body="It is back.")
    assert Incident.objects.get(pk=incident.pk).status == Incident.Status.INVESTIGATING


def test_correcting_a_body_changes_the_text_only_and_notifies_nobody(open_incident, rest):
    incident = open_incident(body="We are lookign into it.")
    update = incident.updates.get()
    received = []

    def receiver(**kwargs):
        received.append(kwargs)

    before = snapshot(rest)
    update_posted.connect(receiver)
    try:
        assert services.correct_body(update, "  We are *looking* into it. ") is True
        assert services.correct_body(update, "We are *looking* into it.") is False
        with pytest.raises(ValidationError) as excinfo:
            services.correct_body(update, "   ")
    finally:
        update_posted.disconnect(receiver)
    assert "body" in excinfo.value.message_dict
    update.refresh_from_db()
    assert update.body == "We are *looking* into it."
    assert update.body_html == "<p>We are <em>looking</em> into it.</p>"
    assert received == []
    assert snapshot(rest) == before
    assert Incident.objects.get(pk=incident.pk).status == Incident.Status.INVESTIGATING


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"kind": "maintenance"}, "status"),
        ({"impact_override": "apocalyptic"}, "impact_override"),
    ],
)
def test_refused_incidents_are_not_created(rest, kwargs, field):
    params = {"name": "Outage", "status": "investigating", "body": "x"}
    params.update(kwargs)
    with pytest.raises(ValidationError) as excinfo:
        services.open_incident(**params)
    assert field in excinfo.value.message_dict
    assert not Incident.objects.exists()


def test_maintenance_needs_a_window_that_ends_after_it_starts():
    now = timezone.now()
    with pytest.raises(ValidationError) as excinfo:
        services.open_incident(
            name="Upgrade",
            kind="maintenance",
            status="scheduled",
            body="x",
            scheduled_for=now,
            scheduled_until=now - timedelta(minutes=1),
        )
    assert "scheduled_until" in excinfo.value.message_dict
    assert not Incident.objects.exists()


def test_postmortem_draft_then_publish(open_incident):
    incident = open_incident()
    published = []

    def receiver(postmortem, notify, **kwargs):
        published.append((postmortem.pk, notify))

    with pytest.raises(ValidationError):
        services.publish_postmortem(incident)  # no draft yet
    draft = services.save_postmortem_draft(incident, body="## What happened\nA bad deploy.")
    assert draft.published_at is None
    with pytest.raises(services.ConflictError):
        services.publish_postmortem(incident)  # still unresolved
    services.resolve(incident)
    postmortem_published.connect(receiver)
    try:
        postmortem = services.publish_postmortem(incident, notify=True)
    finally:
        postmortem_published.disconnect(receiver)
    assert postmortem.published_at is not None
    assert published == [(postmortem.pk, True)]
    with pytest.raises(services.ConflictError):
        services.publish_postmortem(incident)
    assert Postmortem.objects.get().notify_subscribers is True


def test_resolve_many_counts_only_open_incidents(open_incident):
    a = open_incident(name="a")
    b = open_incident(name="b")
    services.resolve(b)
    assert services.resolve_many(Incident.objects.filter(pk__in=[a.pk, b.pk])) == 1


def test_changing_the_impact_override_recomputes_the_impact(open_incident, rest):
    incident = open_incident(components={rest.code: S.MAJOR_OUTAGE})
    incident.impact_override = "minor"
    services.save_details(incident, ["impact_override"])
    incident.refresh_from_db()
    assert incident.impact == Incident.Impact.MINOR
    incident.impact_override = ""
    services.save_details(incident, ["impact_override"])
    incident.refresh_from_db()
    assert incident.impact == Incident.Impact.CRITICAL
