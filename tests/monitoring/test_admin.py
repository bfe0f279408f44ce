"""The console of automation: tokens made and revoked, the Automation page, each
component's switch and heartbeat, and the source of every change in the history."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from components.models import ChangeSource, Component
from monitoring import tokens
from monitoring.models import ComponentAutomation, Integration, IntegrationToken, Payload
from tests.monitoring.conftest import ALERTMANAGER_URL, alert, bearer, webhook

CS = Component.Status


@pytest.fixture
def owner(client, django_user_model):
    # The page owner: a superuser, who makes integrations and tokens.
    user = django_user_model.objects.create_superuser("ada", "ada@example.com", "pw-ada-12345")
    client.force_login(user)
    return client


def key_in(response) -> str:
    text = " ".join(str(m) for m in response.context["messages"])
    return re.search(r"shown only this once \(.*?\): (\S+)", text).group(1)


def test_adding_an_integration_shows_its_first_key_once(owner, rest):
    response = owner.post(
        reverse("admin:monitoring_integration_add"),
        {
            "kind": "alertmanager",
            "name": "prod-am",
            "tokens-TOTAL_FORMS": "0",
            "tokens-INITIAL_FORMS": "0",
        },
        follow=True,
    )
    assert response.status_code == 200
    key = key_in(response)
    assert (
        bearer(key).post(ALERTMANAGER_URL, webhook(alert(rest)), format="json").status_code == 200
    )
    assert (
        key
        not in owner.get(reverse("admin:monitoring_integrationtoken_changelist")).content.decode()
    )


def test_a_token_made_and_revoked_in_the_admin(owner, am_integration, rest):
    response = owner.post(
        reverse("admin:monitoring_integrationtoken_add"),
        {"integration": am_integration.pk, "name": "am-02"},
        follow=True,
    )
    key = key_in(response)
    token = IntegrationToken.objects.get(name="am-02")
    response = owner.post(
        reverse("admin:monitoring_integrationtoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )
    assert "Revoked 1 token(s)." in response.content.decode()
    answer = bearer(key).post(ALERTMANAGER_URL, webhook(alert(rest)), format="json")
    assert answer.status_code == 401


def test_the_automation_page_lists_integrations_tokens_payloads_and_errors(
    owner, alertmanager, rest, watched
):
    alertmanager.post(ALERTMANAGER_URL, webhook(alert(rest)), format="json")
    alertmanager.post(ALERTMANAGER_URL, webhook(alert("nosuchcode00")), format="json")
    response = owner.get(reverse("admin:monitoring_automation_changelist"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "prod-am" in page and "am-01" in page
    assert "REST API (" in page and "Major outage" in page  # what the first payload did
    assert "Latest errors" in page and "nosuchcode00" in page
    assert "0:05:00" in page  # REST API's heartbeat window
    assert "Alerts firing now" in page and "HighErrorRate" in page
    assert Payload.objects.count() == 2


def test_support_staff_see_automation_and_switch_it_off(client, support_user, rest):
    client.force_login(support_user)
    assert client.get(reverse("admin:monitoring_automation_changelist")).status_code == 200
    response = client.post(
        reverse("admin:monitoring_componentautomation_add"),
        {"component": rest.pk, "heartbeat_status": "major_outage"},  # "enabled" unticked
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert ComponentAutomation.objects.get(component=rest).enabled is False
    # Integrations and their tokens are the page owner's.
    assert client.get(reverse("admin:monitoring_integrationtoken_add")).status_code == 403


def test_a_heartbeat_window_set_in_the_admin(owner, rest):
    response = owner.post(
        reverse("admin:monitoring_componentautomation_add"),
        {
            "component": rest.pk,
            "enabled": "on",
            "heartbeat_window": "00:02:00",
            "heartbeat_status": "degraded_performance",
        },
    )
    assert response.status_code == 302
    automation = ComponentAutomation.objects.get(component=rest)
    assert automation.heartbeat_window == timedelta(minutes=2)
    page = owner.get(reverse("admin:components_component_change", args=[rest.pk]))
    assert "heartbeat every 0:02:00" in page.content.decode()


def test_the_history_shows_where_each_change_came_from(owner, alertmanager, rest):
    alertmanager.post(ALERTMANAGER_URL, webhook(alert(rest)), format="json")
    response = owner.get(
        reverse("admin:components_componentstatuschange_changelist"),
        {"source__exact": ChangeSource.ALERTMANAGER},
    )
    changes = list(response.context["cl"].result_list)
    assert [c.component for c in changes] == [rest]
    page = response.content.decode()
    assert "Alertmanager" in page and "prod-am" in page
    detail = owner.get(
        reverse("admin:components_componentstatuschange_change", args=[changes[0].pk])
    )
    assert "HighErrorRate" in detail.content.decode()
    component_page = owner.get(reverse("admin:components_component_change", args=[rest.pk]))
    assert "(Alertmanager, prod-am)" in component_page.content.decode()


def test_payloads_cannot_be_edited(owner, alertmanager, rest):
    alertmanager.post(ALERTMANAGER_URL, webhook(alert(rest)), format="json")
    payload = Payload.objects.get()
    url = reverse("admin:monitoring_payload_change", args=[payload.pk])
    assert owner.get(url).status_code == 200
    assert owner.post(url, {"summary": "nothing"}).status_code == 403
    assert Integration.objects.get().payloads.get().summary == payload.summary


@pytest.mark.parametrize("size", [1, 8])
def test_the_automation_page_costs_the_same_whatever_it_lists(
    owner, rest, size, django_assert_max_num_queries
):
    for n in range(size):
        integration = Integration.objects.create(kind="alertmanager", name=f"am-{n}")
        _, key = tokens.create_token(integration, "t")
        bearer(key).post(
            ALERTMANAGER_URL,
            webhook(alert(rest, fingerprint=f"f{n}"), group=f"g{n}"),
            format="json",
        )
        ComponentAutomation.objects.get_or_create(component=rest, enabled=True)
    with django_assert_max_num_queries(14):
        assert owner.get(reverse("admin:monitoring_automation_changelist")).status_code == 200
