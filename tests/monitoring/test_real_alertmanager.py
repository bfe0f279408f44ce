"""A real Alertmanager drives the page: alerts posted to its own API reach our webhook
receiver (a live server) through its webhook, with the integration token in
``http_config.authorization``, and our components follow."""

import secrets
from datetime import timedelta

import pytest
from django.utils import timezone

from components.models import ChangeSource, Component, ComponentGroup
from incidents import services as incident_services
from incidents.models import Incident
from monitoring.models import Integration, IntegrationToken, Payload
from statusportal.api.tokens import hash_key
from subscriptions.models import NotificationEvent
from tests.integration.conftest import wait_for
from tests.monitoring.alertmanager_server import Alertmanager

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CS = Component.Status


@pytest.fixture
def page(live_server):
    group = ComponentGroup.objects.create(name="API", position=1)
    return {
        "rest": Component.objects.create(name="REST API", group=group, position=1),
        "graphql": Component.objects.create(name="GraphQL", group=group, position=2),
    }


@pytest.fixture
def alertmanager(live_server, page, tmp_path):
    # Its integration and token exist in our database; the key is in its configuration.
    key = secrets.token_urlsafe(30)
    integration = Integration.objects.create(
        kind=Integration.Kind.ALERTMANAGER, name="real-am", notify_subscribers=True
    )
    IntegrationToken.objects.create(
        integration=integration, name="ci", key_hash=hash_key(key), prefix=key[:8]
    )
    server = Alertmanager(
        tmp_path, f"{live_server.url}/api/v1/integrations/alertmanager", key
    ).start()
    yield server
    server.stop()


def status_becomes(component: Component, status: str, server: Alertmanager) -> None:
    def reached() -> bool:
        component.refresh_from_db()
        return component.status == status

    wait_for(reached, timeout=30, message=f"{component.name} → {status}\n{server.output()}")


def test_firing_alerts_set_the_status_and_ended_ones_bring_it_back(alertmanager, page):
    rest, graphql = page["rest"], page["graphql"]
    labels = {
        "alertname": "ApiErrors",
        "statusportal_component": f"{rest.code},{graphql.code}",
        "statusportal_status": "partial_outage",
    }
    alertmanager.post_alert(labels)
    status_becomes(rest, CS.PARTIAL_OUTAGE, alertmanager)
    status_becomes(graphql, CS.PARTIAL_OUTAGE, alertmanager)
    change = rest.status_changes.order_by("-pk").first()
    assert (change.source, change.actor) == (ChangeSource.ALERTMANAGER, "real-am")
    assert change.detail["alerts"][0]["alertname"] == "ApiErrors"

    alertmanager.post_alert(labels, ended=True)
    status_becomes(rest, CS.OPERATIONAL, alertmanager)
    status_becomes(graphql, CS.OPERATIONAL, alertmanager)
    assert rest.status_changes.order_by("-pk").first().source == ChangeSource.ALERTMANAGER


def test_an_incident_opens_and_resolves_when_the_alert_asks(alertmanager, page):
    rest = page["rest"]
    labels = {"alertname": "RestDown", "statusportal_component": rest.code}
    annotations = {
        "statusportal_incident": "true",
        "summary": "REST API unreachable",
        "description": "Probes fail from every region.",
    }
    alertmanager.post_alert(labels, annotations)
    status_becomes(rest, CS.MAJOR_OUTAGE, alertmanager)
    incident = Incident.objects.get()
    assert incident.name == "REST API unreachable"
    assert incident.updates.get().body == "Probes fail from every region."

    alertmanager.post_alert(labels, annotations, ended=True)
    status_becomes(rest, CS.OPERATIONAL, alertmanager)
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED


def test_alertmanagers_repeats_change_nothing(alertmanager, page):
    rest = page["rest"]
    labels = {"alertname": "Flapping", "statusportal_component": rest.code}
    alertmanager.post_alert(labels, {"statusportal_incident": "true"})
    status_becomes(rest, CS.MAJOR_OUTAGE, alertmanager)
    changes = rest.status_changes.count()
    # repeat_interval is 2 s: wait until Alertmanager sent the group twice more.
    wait_for(
        lambda: Payload.objects.filter(outcome=Payload.Outcome.UNCHANGED).count() >= 2,
        timeout=30,
        message=f"repeats\n{alertmanager.output()}",
    )
    assert rest.status_changes.count() == changes
    incident = Incident.objects.get()
    assert incident.updates.count() == 1
    assert NotificationEvent.objects.count() == 1  # the opening update's, nothing since
    assert Payload.objects.filter(outcome=Payload.Outcome.APPLIED).count() == 1


def test_a_component_under_maintenance_is_left_alone_and_the_payload_says_why(alertmanager, page):
    rest = page["rest"]
    incident_services.open_incident(
        name="Database upgrade",
        kind=Incident.Kind.MAINTENANCE,
        status="in_progress",
        body="Upgrading.",
        components={rest.code: None},
        scheduled_for=timezone.now(),
        scheduled_until=timezone.now() + timedelta(hours=1),
    )
    rest.refresh_from_db()
    assert rest.status == CS.UNDER_MAINTENANCE
    alertmanager.post_alert({"alertname": "DuringUpgrade", "statusportal_component": rest.code})
    payload = wait_for(
        lambda: Payload.objects.filter(outcome=Payload.Outcome.IGNORED).first(),
        timeout=30,
        message=f"an ignored payload\n{alertmanager.output()}",
    )
    assert "ignored, the component is under maintenance" in payload.summary
    rest.refresh_from_db()
    assert rest.status == CS.UNDER_MAINTENANCE
