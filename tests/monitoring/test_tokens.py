"""Integration tokens open their own endpoint and nothing else; API tokens do not open
integration endpoints."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from components.models import Component
from monitoring import tokens
from monitoring.models import Integration, IntegrationToken, Payload
from statusportal.api.tokens import create_token as create_api_token
from tests.api.conftest import client_with_key
from tests.monitoring.conftest import ALERTMANAGER_URL, alert, bearer, webhook

CS = Component.Status


def post(client, body):
    return client.post(ALERTMANAGER_URL, body, format="json")


def test_no_token_is_a_401(rest, db):
    response = post(APIClient(), webhook(alert(rest)))
    assert response.status_code == 401
    assert response.json()["detail"]


def test_an_unknown_token_is_a_401(rest):
    response = post(bearer("not-a-key"), webhook(alert(rest)))
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."


def test_a_revoked_token_is_a_401(am_integration, rest):
    token, key = tokens.create_token(am_integration, "old")
    assert tokens.revoke(token) is True
    assert tokens.revoke(token) is False
    response = post(bearer(key), webhook(alert(rest)))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    rest.refresh_from_db()
    assert rest.status == CS.OPERATIONAL
    assert not Payload.objects.exists()


def test_a_heartbeat_token_cannot_post_alerts(cron, rest):
    response = post(cron, webhook(alert(rest)))
    assert response.status_code == 403
    assert "cron" in response.json()["detail"]


def test_an_alertmanager_token_cannot_post_heartbeats(alertmanager, watched, rest):
    response = alertmanager.post(f"/api/v1/components/{rest.code}/heartbeat")
    assert response.status_code == 403


def test_an_api_token_cannot_post_to_an_integration(support_user, rest):
    _, key = create_api_token(support_user, "alerting")
    response = post(client_with_key(key, "Bearer"), webhook(alert(rest)))
    assert response.status_code == 403
    assert "API token" in response.json()["detail"]


def test_an_integration_token_cannot_write_through_the_api(alertmanager, rest):
    response = alertmanager.post(
        "/api/v1/incidents/",
        {"name": "x", "status": "investigating", "body": "y"},
        format="json",
    )
    assert response.status_code == 401
    response = alertmanager.patch(
        f"/api/v1/components/{rest.code}/", {"status": "major_outage"}, format="json"
    )
    assert response.status_code == 401
    rest.refresh_from_db()
    assert rest.status == CS.OPERATIONAL


def test_tokens_are_stored_hashed(am_integration):
    token, key = tokens.create_token(am_integration, "t")
    assert key not in token.key_hash and token.prefix == key[:8]
    assert not IntegrationToken.objects.filter(key_hash=key).exists()


def test_createintegration_prints_the_key_on_its_last_line(capsys, rest, db):
    call_command("createintegration", "alertmanager", "staging-am")
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert post(bearer(key), webhook(alert(rest))).status_code == 200
    # Run again: another token of the same integration.
    call_command("createintegration", "alertmanager", "staging-am", "--token-name", "second")
    assert Integration.objects.get(name="staging-am").tokens.count() == 2


def test_createintegration_refuses_a_name_of_another_kind(db):
    call_command("createintegration", "heartbeat", "jobs")
    with pytest.raises(Exception, match="already a Heartbeats integration"):
        call_command("createintegration", "alertmanager", "jobs")
