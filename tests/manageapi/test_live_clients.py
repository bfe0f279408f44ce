"""Real clients of Statuspage's manage API against a live server of ours: the PyPI client
``crunch-statuspageio`` with its base URL changed, and schemathesis generating requests
from Statuspage's own OpenAPI description (the operations statusportal implements)."""

import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import statuspageio
from django.utils import timezone

from components.models import ChangeSource, Component, ComponentGroup, ComponentStatusChange
from incidents import services
from incidents.api.statuspage import page_id
from incidents.models import Incident
from statusportal.api.tokens import create_token
from subscriptions import services as subscription_services
from subscriptions.models import Subscriber
from tests.manageapi.conftest import load_spec
from tests.schemathesis_cli import run_schemathesis

BIN = Path(sys.executable).parent
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live_key(admin_user):
    _, key = create_token(admin_user, "statuspage scripts")
    return key


def test_the_statuspage_python_client_runs_an_incident_on_our_server(
    live_server, live_key, validated_requests
):
    client = statuspageio.Client(api_key=live_key, page_id=page_id(), base_url=live_server.url)

    # Components and a group, as a provisioning script makes them.
    api = client.components.create(name="API", description="Public REST API")
    web = client.components.create(name="Website", status="operational")
    group = client.component_groups.create(name="Platform", components=[api.id])
    assert group.components == [api.id]
    assert {c.id for c in client.components.list()} == {api.id, web.id, group.id}

    # An incident with a component status, sent through the client's own envelope.
    _, _, incident = client.incidents.http_client.post(
        f"/pages/{page_id()}/incidents.json",
        container="incident",
        body={
            "name": "API errors",
            "status": "investigating",
            "body": "We are looking into errors.",
            "components": {api.id: "major_outage"},
            "deliver_notifications": False,
        },
    )
    assert incident.impact == "critical"
    first_update = incident.incident_updates[0].id
    client.incidents.update(incident.id, status="identified", body="A bad deploy.")
    client.incidents.update_previous(incident.id, first_update, body="We are looking into 500s.")
    assert [i.id for i in client.incidents.list_unresolved()] == [incident.id]
    resolved = client.incidents.update(incident.id, status="resolved", body="Rolled back.")
    assert resolved.status == "resolved"
    assert client.incidents.list_unresolved() == []
    listed = client.incidents.list(q="API errors")
    assert [i.id for i in listed] == [incident.id]
    assert [u.body for u in listed[0].incident_updates] == [
        "Rolled back.",
        "A bad deploy.",
        "We are looking into 500s.",
    ]

    # A subscriber added and removed.
    subscriber = client.subscribers.create(
        email="ops@example.com", skip_confirmation_notification=True
    )
    assert [s.email for s in client.subscribers.list()] == ["ops@example.com"]
    assert client.subscribers.delete(subscriber.id) == 200
    assert client.subscribers.list() == []
    assert Subscriber.objects.get().state == "unsubscribed"

    # The public page and /api/v2 show exactly that.
    summary = requests.get(f"{live_server.url}/api/v2/summary.json", timeout=10).json()
    assert summary["page"]["id"] == page_id()
    shown = {c["id"]: (c["name"], c["status"], c.get("group_id")) for c in summary["components"]}
    assert shown == {
        group.id: ("Platform", "operational", None),
        api.id: ("API", "operational", group.id),
        web.id: ("Website", "operational", None),
    }
    assert summary["incidents"] == []
    incidents = requests.get(f"{live_server.url}/api/v2/incidents.json", timeout=10).json()
    (public,) = incidents["incidents"]
    assert (public["id"], public["status"], public["impact"]) == (
        incident.id,
        "resolved",
        "critical",
    )
    assert [u["status"] for u in public["incident_updates"]] == [
        "resolved",
        "identified",
        "investigating",
    ]
    assert public["incident_updates"][2]["body"] == "We are looking into 500s."
    page = requests.get(f"{live_server.url}/incidents/{incident.id}/", timeout=10).text
    assert "API errors" in page and "Rolled back." in page and "We are looking into 500s." in page
    home = requests.get(f"{live_server.url}/", timeout=10).text
    assert "Platform" in home and "Website" in home

    # The history says who moved the status: the API, with the key's name.
    outage = ComponentStatusChange.objects.get(component__code=api.id, new_status="major_outage")
    assert (outage.source, outage.actor) == (ChangeSource.API, "statuspage scripts (ada)")
    assert outage.cause.incident_update.incident.code == incident.id

    # Deleting through the client.
    assert client.components.delete(web.id) == 204
    assert client.component_groups.delete(group.id) == 200
    assert not ComponentGroup.objects.exists()
    assert Component.objects.get(code=api.id).group is None
    # Every one of the client's requests was answered as the description says.
    assert len(validated_requests) == 17, validated_requests


# The operations of the description that statusportal implements (the rest answer a
# "not supported" 404): what schemathesis is aimed at.
IMPLEMENTED = {
    "/pages/{page_id}": ["get"],
    "/pages/{page_id}/components": ["get", "post"],
    "/pages/{page_id}/components/{component_id}": ["get", "patch", "put", "delete"],
    "/pages/{page_id}/components/{component_id}/uptime": ["get"],
    "/pages/{page_id}/component-groups": ["get", "post"],
    "/pages/{page_id}/component-groups/{id}": ["get", "patch", "put", "delete"],
    "/pages/{page_id}/component-groups/{id}/uptime": ["get"],
    "/pages/{page_id}/incidents": ["get", "post"],
    "/pages/{page_id}/incidents/unresolved": ["get"],
    "/pages/{page_id}/incidents/upcoming": ["get"],
    "/pages/{page_id}/incidents/scheduled": ["get"],
    "/pages/{page_id}/incidents/active_maintenance": ["get"],
    "/pages/{page_id}/incidents/{incident_id}": ["get", "patch", "put", "delete"],
    "/pages/{page_id}/incidents/{incident_id}/incident_updates/{incident_update_id}": [
        "patch",
        "put",
    ],
    "/pages/{page_id}/incidents/{incident_id}/postmortem": ["get", "put", "delete"],
    "/pages/{page_id}/incidents/{incident_id}/postmortem/publish": ["put"],
    "/pages/{page_id}/incidents/{incident_id}/postmortem/revert": ["put"],
    "/pages/{page_id}/incidents/{incident_id}/subscribers": ["get", "post"],
    "/pages/{page_id}/incidents/{incident_id}/subscribers/{subscriber_id}": ["get", "delete"],
    "/pages/{page_id}/incident_templates": ["get", "post"],
    "/pages/{page_id}/subscribers": ["get", "post"],
    "/pages/{page_id}/subscribers/count": ["get"],
    "/pages/{page_id}/subscribers/unsubscribed": ["get"],
    "/pages/{page_id}/subscribers/{subscriber_id}": ["get", "patch", "delete"],
}


def implemented_spec() -> dict:
    spec = load_spec()
    spec["paths"] = {
        path: {
            key: value
            for key, value in spec["paths"][path].items()
            if key in methods or key == "parameters"
        }
        for path, methods in IMPLEMENTED.items()
    }
    return spec


def test_schemathesis_finds_no_server_error_in_what_we_implement(live_server, live_key, tmp_path):
    group = ComponentGroup.objects.create(name="API", position=1)
    rest = Component.objects.create(name="REST API", group=group)
    incident = services.open_incident(
        name="Errors",
        status="identified",
        body="Found.",
        components={rest.code: "partial_outage"},
        deliver_notifications=False,
    )
    now = timezone.now()
    services.open_incident(
        name="Upgrade",
        kind="maintenance",
        status="scheduled",
        body="Planned.",
        scheduled_for=now + timedelta(days=1),
        scheduled_until=now + timedelta(days=1, hours=1),
        deliver_notifications=False,
    )
    subscriber = subscription_services.add_subscriber(
        "eve@example.com", incident=incident, confirmed=True, send_confirmation=False
    )
    (tmp_path / "spec.json").write_text(json.dumps(implemented_spec()))
    parameters = {
        "path.page_id": page_id(),
        "path.component_id": rest.code,
        "path.id": group.code,
        "path.incident_id": incident.code,
        "path.incident_update_id": incident.updates.get().code,
        "path.subscriber_id": subscriber.code,
    }
    (tmp_path / "schemathesis.toml").write_text(
        "[parameters]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in parameters.items())
    )
    result = run_schemathesis(
        str(tmp_path / "spec.json"),
        "--url",
        f"{live_server.url}/v1",
        "--header",
        f"Authorization: OAuth {live_key}",
        checks="not_a_server_error",
        max_examples=15,
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    operations = sum(len(methods) for methods in IMPLEMENTED.values())
    assert f"Tested: {operations}" in result.stdout, result.stdout[-3000:]
    assert Incident.objects.count() >= 2
