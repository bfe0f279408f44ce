"""The Alertmanager receiver on its own: what each webhook does to components, incidents
and the record of payloads, and what it refuses."""

from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from components.models import ChangeSource, Component, ComponentStatusChange
from incidents import services as incident_services
from incidents.models import Incident
from monitoring import tokens
from monitoring.models import Alert, ComponentAutomation, Integration, Payload
from subscriptions.models import NotificationEvent
from tests.monitoring.conftest import ALERTMANAGER_URL, T0, alert, bearer, webhook
from tests.services import missing

CS = Component.Status


def post(client, body):
    return client.post(ALERTMANAGER_URL, body, format="json")


def status_of(component) -> str:
    component.refresh_from_db()
    return component.status


def rows(component) -> int:
    return ComponentStatusChange.objects.filter(component=component).count()


def test_a_firing_alert_moves_its_component_and_says_where_it_came_from(alertmanager, rest):
    response = post(alertmanager, webhook(alert(rest)))
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "applied"
    assert status_of(rest) == CS.MAJOR_OUTAGE
    change = rest.status_changes.order_by("-pk").first()
    assert (change.source, change.actor, change.user) == (
        ChangeSource.ALERTMANAGER,
        "prod-am",
        None,
    )
    assert change.detail["alerts"][0]["fingerprint"] == "f1"
    assert change.detail["alerts"][0]["alertname"] == "HighErrorRate"
    payload = Payload.objects.get()
    assert change.detail["payload"] == payload.pk
    assert "REST API" in payload.summary and "Major outage" in payload.summary


def test_the_status_label_chooses_the_status(alertmanager, rest):
    post(alertmanager, webhook(alert(rest, asks="degraded_performance")))
    assert status_of(rest) == CS.DEGRADED_PERFORMANCE


def test_one_alert_for_two_components_moves_both(alertmanager, rest, website):
    response = post(alertmanager, webhook(alert(rest, website, asks="partial_outage")))
    assert response.status_code == 200
    assert (status_of(rest), status_of(website)) == (CS.PARTIAL_OUTAGE, CS.PARTIAL_OUTAGE)


def test_the_worst_firing_status_wins_until_it_resolves(alertmanager, rest):
    degraded = alert(rest, asks="degraded_performance", fingerprint="slow")
    down = alert(rest, asks="major_outage", fingerprint="down", name="Down")
    post(alertmanager, webhook(degraded, down))
    assert status_of(rest) == CS.MAJOR_OUTAGE
    post(alertmanager, webhook(degraded, alert(rest, fingerprint="down", status="resolved")))
    assert status_of(rest) == CS.DEGRADED_PERFORMANCE
    post(alertmanager, webhook(alert(rest, fingerprint="slow", status="resolved")))
    assert status_of(rest) == CS.OPERATIONAL


def test_alerts_of_two_groups_on_one_component_add_up(alertmanager, rest):
    post(alertmanager, webhook(alert(rest, fingerprint="a"), group="g1"))
    post(alertmanager, webhook(alert(rest, fingerprint="b", asks="partial_outage"), group="g2"))
    post(alertmanager, webhook(alert(rest, fingerprint="a", status="resolved"), group="g1"))
    assert status_of(rest) == CS.PARTIAL_OUTAGE


def test_a_component_returns_only_when_every_alert_on_it_resolved(alertmanager, rest, graphql):
    # Group gx (with its incident) still fires on REST API when gy resolves.
    asks_incident = {"statusportal_incident": "true", "summary": "Errors"}
    post(
        alertmanager,
        webhook(alert(rest, graphql, fingerprint="x", annotations=asks_incident), group="gx"),
    )
    post(alertmanager, webhook(alert(rest, fingerprint="y", asks="partial_outage"), group="gy"))
    post(alertmanager, webhook(alert(rest, fingerprint="y", status="resolved"), group="gy"))
    assert status_of(rest) == CS.MAJOR_OUTAGE
    post(
        alertmanager, webhook(alert(rest, graphql, fingerprint="x", status="resolved"), group="gx")
    )
    assert (status_of(rest), status_of(graphql)) == (CS.OPERATIONAL, CS.OPERATIONAL)


def test_repeats_change_nothing_and_send_nothing(alertmanager, am_integration, rest):
    am_integration.notify_subscribers = True
    am_integration.save()
    body = webhook(alert(rest, annotations={"statusportal_incident": "true"}))
    post(alertmanager, body)
    changes, events = rows(rest), NotificationEvent.objects.count()
    assert events == 1
    for _ in range(3):
        response = post(alertmanager, body)
        assert response.json()["outcome"] == "unchanged"
    assert rows(rest) == changes
    assert NotificationEvent.objects.count() == events
    assert Incident.objects.get().updates.count() == 1


def test_a_repeat_does_not_undo_an_operators_manual_change(alertmanager, rest, support_user):
    body = webhook(alert(rest))
    post(alertmanager, body)
    rest.set_status(CS.OPERATIONAL)
    post(alertmanager, body)
    assert status_of(rest) == CS.OPERATIONAL


def test_a_late_firing_for_a_resolved_alert_changes_nothing(alertmanager, rest):
    post(alertmanager, webhook(alert(rest)))
    post(alertmanager, webhook(alert(rest, status="resolved")))
    changes = rows(rest)
    response = post(alertmanager, webhook(alert(rest)))  # the same startsAt, delivered late
    assert response.status_code == 200
    assert status_of(rest) == CS.OPERATIONAL
    assert rows(rest) == changes
    assert "late delivery" in Payload.objects.first().summary


def test_resolved_before_firing_arrives_then_the_firing_is_ignored(alertmanager, rest):
    post(alertmanager, webhook(alert(rest, status="resolved")))
    post(alertmanager, webhook(alert(rest)))
    assert status_of(rest) == CS.OPERATIONAL
    assert Alert.objects.get().firing is False


def test_an_older_episode_is_ignored_and_a_newer_one_fires(alertmanager, rest):
    post(alertmanager, webhook(alert(rest, starts=T0)))
    post(alertmanager, webhook(alert(rest, starts=T0, status="resolved")))
    post(alertmanager, webhook(alert(rest, starts=T0 - timedelta(hours=1))))
    assert status_of(rest) == CS.OPERATIONAL
    post(alertmanager, webhook(alert(rest, starts=T0 + timedelta(hours=1))))
    assert status_of(rest) == CS.MAJOR_OUTAGE


def test_an_alert_without_a_component_label_is_skipped(alertmanager, rest):
    response = post(alertmanager, webhook(alert()))
    assert response.status_code == 200
    assert response.json()["outcome"] == "unchanged"
    assert "without a statusportal_component label" in response.json()["summary"]


# --- Precedence and the automation switch ------------------------------------------------


def test_a_component_under_maintenance_is_left_alone(alertmanager, rest, open_maintenance):
    open_maintenance(status="in_progress")
    assert status_of(rest) == CS.UNDER_MAINTENANCE
    response = post(alertmanager, webhook(alert(rest)))
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    assert status_of(rest) == CS.UNDER_MAINTENANCE
    assert "ignored, the component is under maintenance" in Payload.objects.get().summary


def test_a_component_held_by_an_operators_incident_is_left_alone(
    alertmanager, rest, open_incident, support_user
):
    open_incident(components={rest.code: CS.DEGRADED_PERFORMANCE}, author=support_user)
    response = post(alertmanager, webhook(alert(rest)))
    assert response.json()["outcome"] == "ignored"
    assert status_of(rest) == CS.DEGRADED_PERFORMANCE
    assert "opened by an operator" in response.json()["summary"]


def test_when_the_operators_incident_closes_a_firing_alert_takes_the_component_back(
    alertmanager, rest, open_incident, support_user
):
    incident = open_incident(components={rest.code: CS.DEGRADED_PERFORMANCE}, author=support_user)
    post(alertmanager, webhook(alert(rest)))
    incident_services.resolve(incident, author=support_user)
    assert status_of(rest) == CS.MAJOR_OUTAGE
    assert rest.status_changes.order_by("-pk").first().source == ChangeSource.ALERTMANAGER


def test_automation_switched_off_leaves_the_component_alone(alertmanager, rest, website):
    ComponentAutomation.objects.create(component=rest, enabled=False)
    response = post(alertmanager, webhook(alert(rest, website)))
    assert response.status_code == 200
    assert (status_of(rest), status_of(website)) == (CS.OPERATIONAL, CS.MAJOR_OUTAGE)
    assert "REST API" in response.json()["summary"]
    assert "ignored, automation is off for this component" in response.json()["summary"]


# --- Incidents per group -----------------------------------------------------------------


def test_an_incident_opens_updates_and_resolves_with_its_group(alertmanager, rest, graphql):
    asks = {
        "statusportal_incident": "true",
        "summary": "REST API errors",
        "description": "Error rate above 5%.",
    }
    first = alert(rest, fingerprint="a", annotations=asks)
    post(alertmanager, webhook(first))
    incident = Incident.objects.get()
    assert incident.name == "REST API errors"
    assert incident.updates.get().body == "Error rate above 5%."
    assert incident.status == Incident.Status.INVESTIGATING
    assert status_of(rest) == CS.MAJOR_OUTAGE
    assert rest.status_changes.order_by("-pk").first().cause.incident_update.incident == incident

    second = alert(graphql, fingerprint="b", name="Slow", asks="degraded_performance")
    post(alertmanager, webhook(first, second))
    assert incident.updates.count() == 2
    assert status_of(graphql) == CS.DEGRADED_PERFORMANCE

    post(
        alertmanager,
        webhook(
            alert(rest, fingerprint="a", status="resolved", annotations=asks),
            alert(graphql, fingerprint="b", status="resolved"),
        ),
    )
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    assert (status_of(rest), status_of(graphql)) == (CS.OPERATIONAL, CS.OPERATIONAL)
    assert incident.updates.first().author is None


def test_incidents_notify_only_when_the_integration_says_so(alertmanager, am_integration, rest):
    asks = {"statusportal_incident": "true"}
    post(alertmanager, webhook(alert(rest, annotations=asks)))
    assert Incident.objects.get().updates.get().deliver_notifications is False
    assert NotificationEvent.objects.count() == 0


def test_no_incident_is_opened_for_components_left_alone(alertmanager, rest, open_maintenance):
    open_maintenance(status="in_progress")
    post(alertmanager, webhook(alert(rest, annotations={"statusportal_incident": "true"})))
    assert Incident.objects.filter(kind=Incident.Kind.INCIDENT).count() == 0


# --- Refusals ----------------------------------------------------------------------------


def test_unknown_component_codes_are_refused_and_nothing_changes(alertmanager, rest):
    response = post(alertmanager, webhook(alert(rest, "nosuchcode00")))
    assert response.status_code == 400
    assert "nosuchcode00" in response.json()["alerts"][0]
    assert status_of(rest) == CS.OPERATIONAL
    assert not Alert.objects.exists()
    payload = Payload.objects.get()
    assert payload.outcome == Payload.Outcome.REJECTED and "nosuchcode00" in payload.summary


def test_an_unknown_status_is_refused(alertmanager, rest):
    response = post(alertmanager, webhook(alert(rest, asks="on_fire")))
    assert response.status_code == 400
    assert "major_outage" in response.json()["alerts"][0]
    assert status_of(rest) == CS.OPERATIONAL


def test_maintenance_is_not_a_status_monitoring_may_ask_for(alertmanager, rest):
    response = post(alertmanager, webhook(alert(rest, asks="under_maintenance")))
    assert response.status_code == 400


MALFORMED = {
    "not an object": ["alerts"],
    "no version": {k: v for k, v in webhook().items() if k != "version"},
    "another version": {**webhook(), "version": "3"},
    "alerts not a list": {**webhook(), "alerts": {"status": "firing"}},
    "a label that is not text": webhook({**alert("x"), "labels": {"a": {"b": 1}}}),
    "NUL in a label name": webhook({**alert("x"), "labels": {"a\x00": "b"}}),
    "a time without offset": webhook({**alert("x"), "startsAt": "2026-12-01T10:00:00"}),
    "a time from another age": webhook({**alert("x"), "startsAt": "0001-01-01T00:00:00Z"}),
    "no fingerprint": webhook({k: v for k, v in alert("x").items() if k != "fingerprint"}),
    "an unknown alert status": webhook({**alert("x"), "status": "pending"}),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_webhooks_are_a_400_with_reasons_and_change_nothing(alertmanager, rest, body):
    response = post(alertmanager, body)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()
    assert not Alert.objects.exists()
    assert status_of(rest) == CS.OPERATIONAL
    assert Payload.objects.get().outcome == Payload.Outcome.REJECTED


def test_a_body_that_is_not_json_is_a_400(alertmanager):
    response = alertmanager.post(ALERTMANAGER_URL, "{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json()


def test_only_the_latest_payloads_are_kept(alertmanager, rest, settings):
    settings.MONITORING_PAYLOADS_KEPT = 3
    for n in range(5):
        post(alertmanager, webhook(alert(rest, fingerprint=f"f{n}")))
    kept = list(Payload.objects.values_list("body__alerts__0__fingerprint", flat=True))
    assert kept == ["f4", "f3", "f2"]


@pytest.mark.django_db(transaction=True)
def test_a_lock_held_too_long_is_a_503_that_alertmanager_retries(settings, rest):
    # A real transient fault: another session holds the integration's row, so the
    # webhook gives up after its lock timeout.
    settings.MONITORING_LOCK_TIMEOUT_MS = 200
    if connection.vendor != "postgresql":
        missing("the lock timeout test needs PostgreSQL (set DATABASE_URL)")
    integration = Integration.objects.create(kind="alertmanager", name="am")
    _, key = tokens.create_token(integration, "t")
    params = connection.get_connection_params()
    dsn = {k: v for k, v in params.items() if k in ("dbname", "user", "host", "port", "password")}
    with psycopg.connect(**dsn) as other:
        other.execute(
            "SELECT 1 FROM monitoring_integration WHERE id = %s FOR UPDATE", [integration.pk]
        )
        response = bearer(key).post(ALERTMANAGER_URL, webhook(alert(rest)), format="json")
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "temporarily_unavailable"
    assert status_of(rest) == CS.OPERATIONAL
    response = bearer(key).post(ALERTMANAGER_URL, webhook(alert(rest)), format="json")
    assert response.status_code == 200
    assert status_of(rest) == CS.MAJOR_OUTAGE


def test_resolved_alerts_are_forgotten_after_a_week(alertmanager, rest):
    post(alertmanager, webhook(alert(rest, fingerprint="old")))
    post(alertmanager, webhook(alert(rest, fingerprint="old", status="resolved")))
    Alert.objects.update(updated_at=timezone.now() - timedelta(days=8))
    post(alertmanager, webhook(alert(rest, fingerprint="new")))
    assert list(Alert.objects.values_list("fingerprint", flat=True)) == ["new"]
