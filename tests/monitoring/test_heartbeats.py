"""Heartbeats: a failure or a silent window moves the component, the next success brings
it back; the beat scheduler notices a missed window."""

from datetime import timedelta

from django.utils import timezone
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from components.models import ChangeSource, Component
from incidents import services
from monitoring import heartbeats
from monitoring.models import ComponentAutomation, Payload
from statusportal.celery import app

CS = Component.Status


def beat(client, component, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.post(f"/api/v1/components/{component.code}/heartbeat?{query}")


def status_of(component) -> str:
    component.refresh_from_db()
    return component.status


def test_a_success_changes_nothing_and_is_recorded(cron, watched, rest):
    response = beat(cron, rest)
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "unchanged"
    assert status_of(rest) == CS.OPERATIONAL
    watched.refresh_from_db()
    assert watched.last_heartbeat_at is not None
    assert Payload.objects.get().integration.name == "cron"


def test_a_failure_moves_the_component_and_the_next_success_brings_it_back(cron, watched, rest):
    response = beat(cron, rest, success="false", error="backup%20failed")
    assert response.status_code == 200
    assert response.json()["outcome"] == "applied"
    assert status_of(rest) == CS.PARTIAL_OUTAGE
    change = rest.status_changes.order_by("-pk").first()
    assert (change.source, change.actor) == (ChangeSource.HEARTBEAT, "cron")
    assert change.detail["error"] == "backup failed"
    assert change.detail["success"] is False
    assert beat(cron, rest, success="false").json()["outcome"] == "unchanged"
    assert beat(cron, rest, success="true").json()["outcome"] == "applied"
    assert status_of(rest) == CS.OPERATIONAL
    assert rest.status_changes.order_by("-pk").first().source == ChangeSource.HEARTBEAT


def test_a_missed_window_is_noticed_by_the_scheduler_and_recovered(cron, watched, rest):
    beat(cron, rest)
    heard = ComponentAutomation.objects.get().last_heartbeat_at
    assert heartbeats.check_windows(now=heard + timedelta(minutes=4)) == 0
    assert heartbeats.check_windows(now=heard + timedelta(minutes=5, seconds=1)) == 1
    assert status_of(rest) == CS.PARTIAL_OUTAGE
    change = rest.status_changes.order_by("-pk").first()
    assert (change.source, change.actor) == (ChangeSource.HEARTBEAT, "heartbeat window")
    assert change.detail["missed"] is True and change.detail["window_seconds"] == 300
    # Noticed once: the next run finds nothing new.
    assert heartbeats.check_windows(now=heard + timedelta(minutes=10)) == 0
    assert "No heartbeat within 5 min" in ComponentAutomation.objects.get().heartbeat_error
    beat(cron, rest)
    assert status_of(rest) == CS.OPERATIONAL


def test_a_window_counts_from_when_it_was_set(cron, rest):
    automation = ComponentAutomation.objects.create(component=rest)
    automation.heartbeat_window = timedelta(minutes=1)
    automation.save()
    set_at = ComponentAutomation.objects.get().heartbeat_since
    assert heartbeats.check_windows(now=set_at + timedelta(seconds=30)) == 0
    assert heartbeats.check_windows(now=set_at + timedelta(seconds=61)) == 1
    assert status_of(rest) == CS.MAJOR_OUTAGE


def test_the_beat_checks_windows_at_least_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["monitoring-heartbeats"]
    assert entry["schedule"] <= 60
    assert entry["task"] in app.tasks


def test_every_beat_entry_names_a_task_workers_know(settings):
    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name


def test_a_component_under_maintenance_ignores_a_failing_heartbeat(
    cron, watched, rest, open_maintenance
):
    open_maintenance(status="in_progress")
    response = beat(cron, rest, success="false")
    assert response.json()["outcome"] == "ignored"
    assert status_of(rest) == CS.UNDER_MAINTENANCE


def test_after_maintenance_a_still_failing_heartbeat_takes_the_component(
    cron, watched, rest, open_maintenance
):
    maintenance = open_maintenance(status="in_progress")
    beat(cron, rest, success="false")
    services.resolve(maintenance)
    assert status_of(rest) == CS.PARTIAL_OUTAGE


def test_automation_off_ignores_heartbeats_and_windows(cron, watched, rest):
    watched.enabled = False
    watched.save()
    assert beat(cron, rest, success="false").json()["outcome"] == "ignored"
    assert status_of(rest) == CS.OPERATIONAL
    assert heartbeats.check_windows(now=timezone.now() + timedelta(hours=1)) == 0


def test_a_component_without_a_window_refuses_heartbeats(cron, rest):
    response = beat(cron, rest)
    assert response.status_code == 409
    assert "heartbeat window" in response.json()["component"][0]
    assert Payload.objects.get().outcome == Payload.Outcome.REJECTED


def test_an_unknown_component_is_a_404(cron, db):
    response = cron.post("/api/v1/components/nosuchcode00/heartbeat")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_a_bad_success_value_is_a_400(cron, watched, rest):
    response = beat(cron, rest, success="maybe")
    assert response.status_code == 400
    assert response.json()["success"]
    assert not Payload.objects.exists()


def test_an_overlong_error_is_a_400(cron, watched, rest):
    response = beat(cron, rest, success="false", error="x" * 501)
    assert response.status_code == 400
    assert status_of(rest) == CS.OPERATIONAL


def test_integrations_are_not_held_to_the_readers_limits(cron, watched, rest, monkeypatch):
    # Many cron jobs behind one address: the anonymous readers' limit does not apply.
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "2/minute", "user": "2/minute"}
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", rates)
    assert [beat(cron, rest).status_code for _ in range(4)] == [200] * 4
