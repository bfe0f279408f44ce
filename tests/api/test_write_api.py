"""Operators writing through /api/v1/ with a token: every write goes through the
services, answers the full object, and every failure is a JSON 4xx leaving nothing behind."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from components.models import Component, ComponentGroup, ComponentStatusChange
from incidents import services
from incidents.models import Incident, IncidentUpdate, Postmortem
from statusportal.api.tokens import create_token
from tests.api.conftest import client_with_key

# --- Opening incidents --------------------------------------------------------------------


def test_opening_an_incident_changes_components_and_answers_the_incident(support_api, rest):
    response = support_api.post(
        "/api/v1/incidents/",
        {
            "name": "API errors",
            "status": "investigating",
            "body": "We are looking into **errors**.",
            "components": {rest.code: "major_outage"},
            "deliver_notifications": False,
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    incident = Incident.objects.get(code=body["code"])
    assert body["name"] == "API errors"
    assert body["impact"] == "critical"
    assert body["updates"][0]["deliver_notifications"] is False
    rest.refresh_from_db()
    assert rest.status == "major_outage"
    change = ComponentStatusChange.objects.filter(component=rest).first()
    assert change.cause.incident_update.incident == incident
    assert incident.updates.get().author.username == "sam"


def test_bearer_keyword_is_accepted(support_user, rest):
    _, key = create_token(support_user, "bearer")
    client = client_with_key(key, keyword="Bearer")
    response = client.post("/api/v1/incidents/", {"name": "X", "body": "Y"})
    assert response.status_code == 201


def test_impact_override_and_back_dated_display_at(support_api, rest):
    when = timezone.now() - timedelta(hours=1)
    response = support_api.post(
        "/api/v1/incidents/",
        {
            "name": "Slow",
            "body": "Slow pages.",
            "components": {rest.code: "degraded_performance"},
            "impact_override": "major",
            "display_at": when.isoformat(),
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["impact"] == "major"
    assert body["started_at"].startswith(when.strftime("%Y-%m-%dT%H:%M"))


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": "no name"}, "name"),
        ({"name": "no body"}, "body"),
        ({"name": "x", "body": "y", "status": "scheduled"}, "status"),
        ({"name": "x", "body": "y", "components": {"nosuchcode00": "major_outage"}}, "components"),
        ({"name": "x", "body": "y", "components": {"ignored": "on_fire"}}, "components"),
        ({"name": "x", "body": "y", "impact_override": "apocalyptic"}, "impact_override"),
        ({"name": "x", "body": "y", "display_at": "tomorrow"}, "display_at"),
        ({"name": "x", "body": "   "}, "body"),
    ],
)
def test_bad_incident_is_a_400_with_field_message_and_writes_nothing(
    support_api, rest, payload, field
):
    response = support_api.post("/api/v1/incidents/", payload)
    assert response.status_code == 400
    assert field in response.json()
    assert not Incident.objects.exists()
    assert not IncidentUpdate.objects.exists()


@pytest.mark.parametrize("code", ["\x00", "ab\ud800"])
def test_a_component_code_the_database_cannot_hold_is_a_400(support_api, open_incident, code):
    incident = open_incident()
    response = support_api.post(
        f"/api/v1/incidents/{incident.code}/updates/",
        # As an HTTP client sends it: JSON escapes a lone surrogate as "\\ud800".
        json.dumps({"status": "identified", "body": "Found it.", "components": {code: None}}),
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert "components" in response.json()
    assert incident.updates.count() == 1


def test_future_display_at_is_refused_by_the_service(support_api, rest):
    later = (timezone.now() + timedelta(days=1)).isoformat()
    response = support_api.post(
        "/api/v1/incidents/",
        {"name": "x", "body": "y", "components": {rest.code: "major_outage"}, "display_at": later},
    )
    assert response.status_code == 400
    assert "display_at" in response.json()
    rest.refresh_from_db()
    assert rest.status == "operational"  # nothing half-written
    assert not Incident.objects.exists()


def test_an_out_of_range_display_at_is_a_400_not_a_server_error(support_api, rest):
    # Well formed, but minute 99: the date parser raises instead of answering None.
    response = support_api.post(
        "/api/v1/incidents/",
        {"name": "x", "body": "y", "display_at": "2024-01-01T12:99:00Z"},
    )
    assert response.status_code == 400
    assert "display_at" in response.json()
    assert not Incident.objects.exists()


def test_wrong_content_type_is_a_415(support_api, db):
    response = support_api.post(
        "/api/v1/incidents/", "name=x&body=y", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert "detail" in response.json()


def test_malformed_json_is_a_400(support_api, db):
    response = support_api.post("/api/v1/incidents/", "{nope", content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_a_json_list_instead_of_an_object_is_a_400(support_api, db):
    response = support_api.post("/api/v1/incidents/", [1, 2], format="json")
    assert response.status_code == 400


# --- Updates ------------------------------------------------------------------------------


def test_posting_an_update_resolves_and_returns_components(support_api, open_incident, rest):
    incident = open_incident()
    response = support_api.post(
        f"/api/v1/incidents/{incident.code}/updates/",
        {"status": "resolved", "body": "Fixed.", "deliver_notifications": False},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["incident"] == incident.code
    assert body["code"]
    assert body["affected_components"] == [
        {
            "code": rest.code,
            "name": "REST API",
            "old_status": "major_outage",
            "new_status": "operational",
        }
    ]
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.resolved_at is not None


def test_update_with_a_maintenance_status_on_an_incident_is_a_400(support_api, open_incident):
    incident = open_incident()
    response = support_api.post(
        f"/api/v1/incidents/{incident.code}/updates/", {"status": "in_progress", "body": "x"}
    )
    assert response.status_code == 400
    assert "status" in response.json()
    assert incident.updates.count() == 1


def test_update_on_completed_maintenance_is_a_409(support_api, rest):
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
    services.resolve(maintenance)
    response = support_api.post(
        f"/api/v1/maintenances/{maintenance.code}/updates/", {"status": "verifying", "body": "x"}
    )
    assert response.status_code == 409
    assert "status" in response.json()
    assert maintenance.updates.count() == 2


def test_update_on_unknown_incident_is_a_404(support_api, db):
    response = support_api.post(
        "/api/v1/incidents/nosuchcode00/updates/", {"status": "resolved", "body": "x"}
    )
    assert response.status_code == 404
    assert "detail" in response.json()


# --- Postmortems --------------------------------------------------------------------------


def test_postmortem_draft_then_publish(support_api, anon, open_incident):
    incident = open_incident()
    services.resolve(incident)
    url = f"/api/v1/incidents/{incident.code}/postmortem/"
    response = support_api.put(url, {"body": "Root cause: a typo."})
    assert response.status_code == 200
    assert response.json()["published_at"] is None
    assert response.json()["incident"] == incident.code
    assert anon.get(f"/api/v1/incidents/{incident.code}/").json()["postmortem"] is None
    response = support_api.post(url + "publish/", {"notify_subscribers": False})
    assert response.status_code == 200
    assert response.json()["published_at"]
    public = anon.get(f"/api/v1/incidents/{incident.code}/").json()["postmortem"]
    assert public["body"] == "Root cause: a typo."


def test_publishing_twice_or_before_resolving_is_a_409(support_api, open_incident):
    incident = open_incident()
    url = f"/api/v1/incidents/{incident.code}/postmortem/"
    support_api.put(url, {"body": "Notes."})
    response = support_api.post(url + "publish/", {})
    assert response.status_code == 409
    assert "incident" in response.json()
    services.resolve(incident)
    assert support_api.post(url + "publish/", {}).status_code == 200
    assert support_api.post(url + "publish/", {}).status_code == 409


def test_publishing_without_a_draft_is_a_400(support_api, open_incident):
    incident = open_incident()
    services.resolve(incident)
    response = support_api.post(f"/api/v1/incidents/{incident.code}/postmortem/publish/", {})
    assert response.status_code == 400
    assert not Postmortem.objects.exists()


def test_empty_postmortem_is_a_400(support_api, open_incident):
    incident = open_incident()
    response = support_api.put(f"/api/v1/incidents/{incident.code}/postmortem/", {"body": ""})
    assert response.status_code == 400
    assert "body" in response.json()


# --- Maintenance ----------------------------------------------------------------------------


def test_scheduling_maintenance_with_window_components_and_flags(support_api, rest, graphql):
    start = timezone.now() + timedelta(days=1)
    response = support_api.post(
        "/api/v1/maintenances/",
        {
            "name": "Database upgrade",
            "body": "We will upgrade the database.",
            "components": [rest.code, graphql.code],
            "scheduled_for": start.isoformat(),
            "scheduled_until": (start + timedelta(hours=2)).isoformat(),
            "auto_start": True,
            "auto_complete": True,
            "remind_before": "01:00:00",
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "maintenance"
    assert body["status"] == "scheduled"
    assert body["impact"] == "maintenance"
    assert body["auto_start"] is body["auto_complete"] is True
    assert body["remind_before"] == "01:00:00"
    assert {c["code"] for c in body["components"]} == {rest.code, graphql.code}
    rest.refresh_from_db()
    assert rest.status == "operational"  # scheduled: nothing under maintenance yet


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"scheduled_until": None}, "scheduled_until"),
        ({"scheduled_until": "2000-01-01T00:00:00Z"}, "scheduled_until"),
        ({"status": "investigating"}, "status"),
        ({"components": ["nosuchcode00"]}, "components"),
        ({"remind_before": "soon"}, "remind_before"),
    ],
)
def test_bad_maintenance_is_a_400(support_api, rest, change, field):
    start = timezone.now() + timedelta(days=1)
    payload = {
        "name": "M",
        "body": "b",
        "components": [rest.code],
        "scheduled_for": start.isoformat(),
        "scheduled_until": (start + timedelta(hours=1)).isoformat(),
        **change,
    }
    response = support_api.post("/api/v1/maintenances/", payload)
    assert response.status_code == 400
    assert field in response.json()
    assert not Incident.objects.exists()


# --- Components and groups ---------------------------------------------------------------


def test_admin_creates_and_edits_components_and_groups(admin_api):
    group = admin_api.post("/api/v1/component-groups/", {"name": "Storage", "position": 3})
    assert group.status_code == 201
    group_code = group.json()["code"]
    component = admin_api.post(
        "/api/v1/components/", {"name": "S3", "group": group_code, "description": "Buckets"}
    )
    assert component.status_code == 201, component.json()
    assert component.json()["group"] == group_code
    code = component.json()["code"]
    renamed = admin_api.patch(f"/api/v1/components/{code}/", {"name": "Object storage"})
    assert renamed.json()["name"] == "Object storage"
    regrouped = admin_api.patch(f"/api/v1/component-groups/{group_code}/", {"name": "Data"})
    assert regrouped.json()["components"] == [code]


def test_patching_status_writes_history(support_api, rest):
    response = support_api.patch(f"/api/v1/components/{rest.code}/", {"status": "partial_outage"})
    assert response.status_code == 200
    assert response.json()["status"] == "partial_outage"
    change = ComponentStatusChange.objects.filter(component=rest).first()
    assert (change.old_status, change.new_status) == ("operational", "partial_outage")


def test_component_with_unknown_group_or_status_is_a_400(admin_api, rest):
    response = admin_api.post("/api/v1/components/", {"name": "X", "group": "nosuchcode00"})
    assert response.status_code == 400
    assert "group" in response.json()
    response = admin_api.patch(f"/api/v1/components/{rest.code}/", {"status": "on_fire"})
    assert response.status_code == 400
    assert "status" in response.json()
    assert Component.objects.count() == 1


def test_put_and_delete_of_components_are_not_allowed(admin_api, rest):
    assert admin_api.put(f"/api/v1/components/{rest.code}/", {"name": "x"}).status_code == 405
    assert admin_api.delete(f"/api/v1/components/{rest.code}/").status_code == 405
    assert ComponentGroup.objects.count() == 1
