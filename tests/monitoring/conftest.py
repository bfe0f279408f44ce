"""Actors of the monitoring tests: integrations with their keys, and webhooks as
Alertmanager writes them."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from monitoring import tokens
from monitoring.models import ComponentAutomation, Integration

ALERTMANAGER_URL = "/api/v1/integrations/alertmanager"


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def alertmanager(db):
    # The production Alertmanager: its integration, and a client posting with its key.
    integration = Integration.objects.create(kind=Integration.Kind.ALERTMANAGER, name="prod-am")
    _, key = tokens.create_token(integration, "am-01")
    return bearer(key)


@pytest.fixture
def am_integration(alertmanager):
    return Integration.objects.get(name="prod-am")


@pytest.fixture
def cron(db):
    # The nightly backup job's heartbeat integration, and a client posting with its key.
    integration = Integration.objects.create(kind=Integration.Kind.HEARTBEAT, name="cron")
    _, key = tokens.create_token(integration, "backup-host")
    return bearer(key)


@pytest.fixture
def watched(rest):
    # REST API expects a heartbeat every five minutes, and goes to partial outage without.
    return ComponentAutomation.objects.create(
        component=rest, heartbeat_window=timedelta(minutes=5), heartbeat_status="partial_outage"
    )


T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def alert(
    *components: Any,
    status: str = "firing",
    fingerprint: str = "f1",
    starts: datetime = T0,
    asks: str | None = None,
    name: str = "HighErrorRate",
    annotations: dict | None = None,
) -> dict:
    """One alert as Alertmanager's webhook lists it."""
    labels = {"alertname": name, "severity": "page"}
    if components:
        labels["statusportal_component"] = ",".join(getattr(c, "code", c) for c in components)
    if asks:
        labels["statusportal_status"] = asks
    return {
        "status": status,
        "labels": labels,
        "annotations": annotations or {},
        "startsAt": starts.isoformat().replace("+00:00", "Z"),
        "endsAt": "0001-01-01T00:00:00Z"
        if status == "firing"
        else (starts + timedelta(minutes=5)).isoformat(),
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": fingerprint,
    }


def webhook(*alerts: dict, group: str = '{}:{alertname="HighErrorRate"}', **extra: Any) -> dict:
    """A version 4 webhook carrying ``alerts``."""
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": group,
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "statusportal",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
        **extra,
    }


# The API's actors (anyone; Sam's alerting script) for the history tests.
from tests.api.conftest import anon, support_api  # noqa: E402, F401
