"""Real clients against a live server of ours: the Statuspage Prometheus exporter reading
/api/v2/summary.json, and schemathesis exercising /api/v1/ from its OpenAPI schema."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from components.models import Component, ComponentGroup
from incidents import services
from incidents.models import Incident
from monitoring import tokens as integration_tokens
from monitoring.models import ComponentAutomation, Integration
from statusportal.api.tokens import create_token
from subscriptions import services as subscription_services
from tests.schemathesis_cli import run_schemathesis

BIN = Path(sys.executable).parent
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed in the virtualenv (pip install -e '.[test]')")
    return str(path)


@pytest.fixture
def live_page(live_server):
    group = ComponentGroup.objects.create(name="API", position=1)
    rest = Component.objects.create(name="REST API", group=group, position=1)
    Component.objects.create(name="GraphQL", group=group, position=2)
    Component.objects.create(name="Website", position=0)
    incident = services.open_incident(
        name="Elevated API errors",
        status="identified",
        body="We found the cause.",
        components={rest.code: Component.Status.PARTIAL_OUTAGE},
    )
    return {"url": live_server.url, "incident": incident}


def test_statuspage_prometheus_exporter_reads_our_summary(live_page, tmp_path):
    services_json = tmp_path / "services.json"
    services_json.write_text(
        json.dumps({"ours": {"url": f"{live_page['url']}/api/v2/summary.json", "name": "Ours"}})
    )
    out = tmp_path / "out.prom"
    env = {
        **os.environ,
        "RUN_MODE": "once",
        "SERVICES_JSON_PATH": str(services_json),
        "METRICS_TEXTFILE_PATH": str(out),
    }
    result = subprocess.run(
        [tool("statuspage-prometheus-exporter")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    metrics = out.read_text()
    assert "Error" not in result.stderr.replace("error_rate", ""), result.stderr
    lines = [line for line in metrics.splitlines() if not line.startswith("#")]
    component_lines = [line for line in lines if line.startswith("statuspage_component_status")]
    # Every component and group of ours appears, with the degraded one at 0.
    for name in ("REST API", "GraphQL", "Website"):
        assert any(f'"{name}"' in line for line in component_lines), (name, component_lines)
    rest_line = next(line for line in component_lines if '"REST API"' in line)
    assert rest_line.rstrip().endswith(" 0.0"), rest_line
    website_line = next(line for line in component_lines if '"Website"' in line)
    assert website_line.rstrip().endswith(" 1.0"), website_line
    # The group rolls up its worst child; the service is down because of our incident.
    assert 'statuspage_component_status{component_name="API",service_name="Ours"} 0.0' in lines
    assert 'statuspage_service_status{service_name="Ours"} 0.0' in lines
    incident_line = next(line for line in lines if line.startswith("statuspage_incident_info"))
    assert f'incident_id="{live_page["incident"].code}"' in incident_line
    assert 'incident_name="Elevated API errors"' in incident_line
    assert 'impact="major"' in incident_line
    assert 'affected_components="REST API"' in incident_line


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(live_page, admin_user, tmp_path):
    _, key = create_token(admin_user, "schemathesis")
    now = timezone.now()
    services.open_incident(
        name="Upgrade",
        kind="maintenance",
        status="scheduled",
        body="Planned.",
        scheduled_for=now + timedelta(days=1),
        scheduled_until=now + timedelta(days=1, hours=1),
    )
    result = run_schemathesis(
        f"{live_page['url']}/api/v1/schema/",
        "--header",
        f"Authorization: Token {key}",
        checks="not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_schema_conformance",
        max_examples=25,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]


# Every write of /api/v1/, by path (a regex) and method: what schemathesis aims each at.
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _writes_config(targets: dict[str, str], keys: dict[str, tuple[str, str]]) -> str:
    """A schemathesis.toml pointing each ``{code}`` path at an object that exists (else
    every generated write would be a 404 and never reach the services), and sending the
    integration endpoints their own token (``keys``: regex → (code or "", key)); the first
    entry matching an operation wins, so the keyed ones come first."""
    keyed = "".join(
        f"[[operations]]\ninclude-path-regex = '{regex}'\n"
        + (f'parameters = {{ "path.code" = "{code}" }}\n' if code else "")
        + f'headers = {{ "Authorization" = "Bearer {key}" }}\n\n'
        for regex, (code, key) in keys.items()
    )
    return keyed + "".join(
        f"[[operations]]\ninclude-path-regex = '{regex}'\n"
        f'parameters = {{ "path.code" = "{code}" }}\n\n'
        for regex, code in targets.items()
    )


def test_schemathesis_every_write_finds_no_server_error_and_no_schema_mismatch(
    live_page, admin_user, tmp_path
):
    _, key = create_token(admin_user, "schemathesis-writes")
    now = timezone.now()
    maintenance = services.open_incident(
        name="Upgrade",
        kind="maintenance",
        status="scheduled",
        body="Planned.",
        scheduled_for=now + timedelta(days=1),
        scheduled_until=now + timedelta(days=1, hours=1),
    )
    resolved = services.open_incident(name="Resolved", status="resolved", body="Over.")
    services.save_postmortem_draft(resolved, body="Root cause: DNS.")
    component = Component.objects.get(name="GraphQL")
    group = ComponentGroup.objects.get(name="API")
    subscriber = subscription_services.add_subscriber(
        "eve@example.com", confirmed=True, send_confirmation=False
    )
    # The integrations' endpoints, with their own tokens: GraphQL expects heartbeats.
    alertmanager = Integration.objects.create(kind="alertmanager", name="am")
    _, alertmanager_key = integration_tokens.create_token(alertmanager, "schemathesis")
    cron = Integration.objects.create(kind="heartbeat", name="cron")
    _, heartbeat_key = integration_tokens.create_token(cron, "schemathesis")
    ComponentAutomation.objects.create(component=component, heartbeat_window=timedelta(hours=1))
    (tmp_path / "schemathesis.toml").write_text(
        _writes_config(
            {
                "^/api/v1/incidents/[^/]+/(updates|postmortem)/$": live_page["incident"].code,
                "^/api/v1/incidents/[^/]+/postmortem/publish/$": resolved.code,
                "^/api/v1/maintenances/": maintenance.code,
                "^/api/v1/components/": component.code,
                "^/api/v1/component-groups/": group.code,
                "^/api/v1/subscribers/": subscriber.code,
            },
            {
                "^/api/v1/integrations/alertmanager$": ("", alertmanager_key),
                "^/api/v1/components/[^/]+/heartbeat$": (component.code, heartbeat_key),
            },
        )
    )
    methods = [arg for method in WRITES for arg in ("--include-method", method)]
    result = run_schemathesis(
        f"{live_page['url']}/api/v1/schema/",
        *methods,
        "--header",
        f"Authorization: Token {key}",
        checks="not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_schema_conformance",
        max_examples=20,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    # All fourteen writes were exercised, and writes reached the services on real objects.
    assert "Selected: 14/" in result.stdout and "Tested: 14" in result.stdout, result.stdout
    assert Incident.objects.count() > 3
    assert live_page["incident"].updates.count() > 1
    assert Component.objects.count() > 3
    assert alertmanager.payloads.exists() and cron.payloads.exists()
