"""The update service's rules on time (back-dating, backfilling, ordered history), on
scheduled maintenance and on bulk resolving (see docs/architecture.md, 'The update
service')."""

import itertools
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from components.models import Component, ComponentStatusChange
from components.uptime import daily_uptime
from incidents import services
from incidents.backfill import Step, backfill_incident
from incidents.models import Incident, IncidentUpdate
from subscriptions.scheduler import run_maintenance_schedule

S = Component.Status
pytestmark = pytest.mark.django_db


def ago(**kwargs):
    return timezone.now() - timedelta(**kwargs)


@pytest.fixture
def long_history(rest, graphql):
    """Components that have existed (operational) for a month, as in production."""
    ComponentStatusChange.objects.update(at=ago(days=30))


def history(component):
    """The component's history in the order it was written, as (old, new, at)."""
    return list(
        ComponentStatusChange.objects.filter(component=component)
        .order_by("pk")
        .values_list("old_status", "new_status", "at")
    )


def assert_ordered(component):
    rows = history(component)
    assert [r[2] for r in rows] == sorted(r[2] for r in rows)
    for before, after in itertools.pairwise(rows):
        assert after[0] == before[1]  # each change starts where the previous one ended


def uptime(component, days=5, now=None):
    """Per-day uptime percent of the last ``days`` days (as seen at ``now``), by date."""
    today = timezone.localdate()
    result = daily_uptime([component], today - timedelta(days=days - 1), today, now=now)
    return {d.day: d.percent for d in result[component.pk].days}


def state(incident, *components):
    incident.refresh_from_db()
    return (
        incident.status,
        incident.started_at,
        incident.monitoring_at,
        incident.resolved_at,
        IncidentUpdate.objects.count(),
        [history(c) for c in components],
        [Component.objects.get(pk=c.pk).status for c in components],
    )


# -- back-dating ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "words"),
    [
        (lambda opened, previous: opened - timedelta(minutes=10), "before the incident started"),
        (lambda opened, previous: previous - timedelta(minutes=1), "before the previous update"),
    ],
    ids=["before-start", "before-previous-update"],
)
def test_update_dated_before_the_start_or_previous_update_is_refused_and_changes_nothing(
    long_history, open_incident, rest, when, words
):
    opened = ago(hours=2)
    incident = open_incident(components={rest.code: S.MAJOR_OUTAGE}, display_at=opened)
    previous = ago(hours=1)
    services.post_update(incident, status="identified", body="Found.", display_at=previous)
    before = state(incident, rest)
    seen_at = timezone.now()
    uptime_before = uptime(rest, now=seen_at)
    with pytest.raises(ValidationError) as excinfo:
        services.post_update(
            incident,
            status="monitoring",
            body="Fix deployed.",
            components={rest.code: S.OPERATIONAL},
            display_at=when(opened, previous),
        )
    assert words in excinfo.value.message_dict["display_at"][0]
    assert state(incident, rest) == before
    assert uptime(rest, now=seen_at) == uptime_before


def test_back_dating_between_the_previous_update_and_now_is_allowed(long_history, open_incident):
    incident = open_incident(display_at=ago(hours=2))
    at = ago(minutes=30)
    update = services.post_update(incident, status="monitoring", body="Better.", display_at=at)
    incident.refresh_from_db()
    assert update.display_at == at == incident.monitoring_at
    assert incident.started_at < incident.monitoring_at


def test_timestamps_follow_the_updates_in_order(long_history, open_incident, rest):
    incident = open_incident(display_at=ago(hours=3))
    services.post_update(incident, status="monitoring", body="Fixed.", display_at=ago(hours=2))
    services.resolve(incident)
    incident.refresh_from_db()
    latest = incident.updates.first()  # the timeline's order: newest first
    assert latest.status == Incident.Status.RESOLVED
    assert incident.started_at < incident.monitoring_at < incident.resolved_at
    assert incident.resolved_at == latest.display_at
    assert_ordered(rest)


def test_history_stays_ordered_when_another_path_changed_the_component_later(
    long_history, open_incident, rest
):
    # Another incident moved REST 10 minutes ago; this one, opened an hour ago, changes
    # it with an update back-dated to 20 minutes ago: the row is not written before the
    # other one.
    other = open_incident(name="Other", components={rest.code: S.PARTIAL_OUTAGE})
    ComponentStatusChange.objects.filter(new_status=S.PARTIAL_OUTAGE).update(at=ago(minutes=10))
    incident = open_incident(components={}, display_at=ago(hours=1))
    services.post_update(
        incident,
        status="identified",
        body="Worse.",
        components={rest.code: S.MAJOR_OUTAGE},
        display_at=ago(minutes=20),
    )
    assert_ordered(rest)
    assert Component.objects.get(pk=rest.pk).status == S.MAJOR_OUTAGE
    assert other.pk != incident.pk


def test_api_refuses_an_update_dated_before_the_incident_started(
    long_history, open_incident, support_user
):
    incident = open_incident(display_at=ago(hours=1))
    client = APIClient()
    client.force_authenticate(support_user)
    response = client.post(
        f"/api/v1/incidents/{incident.code}/updates/",
        {"status": "identified", "body": "Late.", "display_at": ago(hours=2).isoformat()},
        format="json",
    )
    assert response.status_code == 400
    assert "before the incident started" in response.json()["display_at"][0]
    assert incident.updates.count() == 1


# -- backfilling ---------------------------------------------------------------------------


def test_backfill_writes_a_past_incident_and_its_history_in_order(long_history, rest, graphql):
    start = ago(days=3)
    incident = backfill_incident(
        name="Last week's outage",
        steps=[
            Step("investigating", "Errors.", start, {rest.code: S.MAJOR_OUTAGE}),
            Step(
                "monitoring",
                "Fixed.",
                start + timedelta(hours=1),
                {rest.code: S.DEGRADED_PERFORMANCE},
            ),
            Step("resolved", "Resolved.", start + timedelta(hours=2)),
        ],
    )
    assert (incident.status, incident.started_at) == ("resolved", start)
    assert incident.monitoring_at == start + timedelta(hours=1)
    assert incident.resolved_at == start + timedelta(hours=2)
    assert incident.impact == Incident.Impact.CRITICAL
    assert not incident.updates.filter(deliver_notifications=True).exists()
    assert [u.status for u in incident.updates.order_by("display_at")] == [
        "investigating",
        "monitoring",
        "resolved",
    ]
    rows = ComponentStatusChange.objects.filter(component=rest).order_by("at", "pk")
    assert [(r.old_status, r.new_status, r.at) for r in rows][1:] == [
        (S.OPERATIONAL, S.MAJOR_OUTAGE, start),
        (S.MAJOR_OUTAGE, S.DEGRADED_PERFORMANCE, start + timedelta(hours=1)),
        (S.DEGRADED_PERFORMANCE, S.OPERATIONAL, start + timedelta(hours=2)),
    ]
    assert all(r.cause.incident_update.incident == incident for r in rows[1:])
    assert Component.objects.get(pk=rest.pk).status == S.OPERATIONAL  # now: unchanged
    day = timezone.localtime(start).date()
    assert uptime(rest)[day] < 100


@pytest.mark.parametrize(
    ("steps", "field"),
    [
        ([], "updates"),
        ([Step("investigating", "Open.", ago(days=1))], "status"),  # never resolved
        (
            [Step("investigating", "A.", ago(days=1)), Step("resolved", "B.", ago(days=2))],
            "display_at",
        ),
        (
            [Step("investigating", "A.", ago(days=1)), Step("resolved", "B.", ago(minutes=-60))],
            "display_at",
        ),
        ([Step("investigating", "  ", ago(days=2)), Step("resolved", "B.", ago(days=1))], "body"),
        ([Step("scheduled", "A.", ago(days=2)), Step("resolved", "B.", ago(days=1))], "status"),
    ],
    ids=["empty", "not-closed", "out-of-order", "future", "no-body", "wrong-kind"],
)
def test_bad_backfill_is_refused_and_writes_nothing(long_history, rest, steps, field):
    before = ComponentStatusChange.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        backfill_incident(name="Past", steps=steps)
    assert field in excinfo.value.message_dict
    assert not Incident.objects.exists()
    assert ComponentStatusChange.objects.count() == before


def test_backfill_refuses_to_rewrite_a_component_history_that_changed_meanwhile(
    long_history, open_incident, rest
):
    open_incident(components={rest.code: S.PARTIAL_OUTAGE}, display_at=ago(days=2))
    ComponentStatusChange.objects.filter(new_status=S.PARTIAL_OUTAGE).update(at=ago(days=2))
    with pytest.raises(ValidationError) as excinfo:
        backfill_incident(
            name="Overlapping",
            steps=[
                Step("investigating", "A.", ago(days=3), {rest.code: S.MAJOR_OUTAGE}),
                Step("resolved", "B.", ago(days=1)),
            ],
        )
    assert "changed during this period" in excinfo.value.message_dict["components"][0]
    assert Incident.objects.count() == 1


# -- maintenance ---------------------------------------------------------------------------


def test_statuses_chosen_for_tomorrows_maintenance_wait_for_its_start(
    open_maintenance, rest, graphql
):
    maintenance = open_maintenance(
        components={rest.code: S.UNDER_MAINTENANCE, graphql.code: S.DEGRADED_PERFORMANCE},
        auto_start=True,
    )
    for component in (rest, graphql):
        assert Component.objects.get(pk=component.pk).status == S.OPERATIONAL
        assert history(component)[-1][1] == S.OPERATIONAL
    assert set(maintenance.components.all()) == {rest, graphql}
    assert run_maintenance_schedule(now=timezone.now())["started"] == 0
    assert Component.objects.get(pk=graphql.pk).status == S.OPERATIONAL

    done = run_maintenance_schedule(now=maintenance.scheduled_for + timedelta(minutes=1))
    assert done["started"] == 1
    assert Component.objects.get(pk=rest.pk).status == S.UNDER_MAINTENANCE
    assert Component.objects.get(pk=graphql.pk).status == S.DEGRADED_PERFORMANCE
    services.resolve(maintenance)
    assert Component.objects.get(pk=graphql.pk).status == S.OPERATIONAL


def test_maintenance_started_by_hand_applies_the_chosen_statuses(open_maintenance, rest, graphql):
    maintenance = open_maintenance(components={rest.code: None, graphql.code: S.PARTIAL_OUTAGE})
    assert Component.objects.get(pk=graphql.pk).status == S.OPERATIONAL
    update = services.post_update(maintenance, status="in_progress", body="Started early.")
    assert Component.objects.get(pk=rest.pk).status == S.UNDER_MAINTENANCE
    assert Component.objects.get(pk=graphql.pk).status == S.PARTIAL_OUTAGE
    assert {e["code"]: e["new_status"] for e in update.affected_components} == {
        rest.code: S.UNDER_MAINTENANCE,
        graphql.code: S.PARTIAL_OUTAGE,
    }


# -- bulk resolve --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notify", "expected"),
    [
        (services.Notify.NOTIFIED_BEFORE, {"loud": True, "quiet": False}),
        (services.Notify.ALL, {"loud": True, "quiet": True}),
        (services.Notify.NONE, {"loud": False, "quiet": False}),
    ],
)
def test_bulk_resolve_notifies_as_chosen(open_incident, notify, expected):
    loud = open_incident(name="loud")
    quiet = open_incident(name="quiet", deliver_notifications=False)
    count = services.resolve_many(
        Incident.objects.filter(pk__in=[loud.pk, quiet.pk]), notify=notify, body="All fixed."
    )
    assert count == 2
    closing = {
        u.incident.name: u.deliver_notifications
        for u in IncidentUpdate.objects.filter(status="resolved").select_related("incident")
    }
    assert closing == expected
    assert set(IncidentUpdate.objects.filter(status="resolved").values_list("body", flat=True)) == {
        "All fixed."
    }


def test_bulk_resolve_with_an_unknown_notify_choice_resolves_nothing(open_incident):
    incident = open_incident()
    with pytest.raises(ValidationError):
        services.resolve_many([incident], notify="everyone-twice")
    incident.refresh_from_db()
    assert incident.status == "investigating"
