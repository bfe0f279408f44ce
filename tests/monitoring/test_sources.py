"""Every change automation makes names its source, its integration and what it received,
whichever path made it (docs/architecture.md, "Component status history")."""

from datetime import timedelta

from components.models import ChangeSource, Component
from monitoring import heartbeats
from tests.monitoring.conftest import ALERTMANAGER_URL, alert, webhook

CS = Component.Status


def sources(component) -> list[tuple[str, str, str]]:
    return [(c.new_status, c.source, c.actor) for c in component.status_changes.order_by("pk")[1:]]


def test_alertmanager_changes_through_an_incident_name_the_integration(alertmanager, rest):
    asks = {"statusportal_incident": "true"}
    alertmanager.post(ALERTMANAGER_URL, webhook(alert(rest, annotations=asks)), format="json")
    resolved = alert(rest, status="resolved", annotations=asks)
    alertmanager.post(ALERTMANAGER_URL, webhook(resolved), format="json")
    assert sources(rest) == [
        (CS.MAJOR_OUTAGE, ChangeSource.ALERTMANAGER, "prod-am"),
        (CS.OPERATIONAL, ChangeSource.ALERTMANAGER, "prod-am"),
    ]
    first = rest.status_changes.order_by("pk")[1]
    assert first.cause.incident_update.incident.name.startswith("Monitoring reports")
    assert first.detail["alerts"][0]["status"] == "firing"


def test_heartbeat_changes_name_the_integration_or_the_window(cron, watched, rest):
    cron.post(f"/api/v1/components/{rest.code}/heartbeat?success=false&error=disk")
    cron.post(f"/api/v1/components/{rest.code}/heartbeat")
    watched.refresh_from_db()
    heartbeats.check_windows(now=watched.last_heartbeat_at + timedelta(minutes=6))
    assert sources(rest) == [
        (CS.PARTIAL_OUTAGE, ChangeSource.HEARTBEAT, "cron"),
        (CS.OPERATIONAL, ChangeSource.HEARTBEAT, "cron"),
        (CS.PARTIAL_OUTAGE, ChangeSource.HEARTBEAT, "heartbeat window"),
    ]
    assert rest.status_changes.order_by("pk")[1].detail["error"] == "disk"
