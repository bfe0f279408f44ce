"""Who may use the manage API and how a request reaches it: keys as Statuspage takes them,
the page id, envelopes in JSON and forms, the ``.json`` suffix, and the endpoints
statusportal does not offer."""

import pytest
from django.utils import timezone

from components.models import Component, ComponentGroup, ComponentStatusChange
from incidents.api.statuspage import page_id
from incidents.models import Incident
from statusportal.api import throttling
from statusportal.api.tokens import create_token
from statusportal.models import ApiToken
from tests.manageapi.conftest import ManageClient, url

pytestmark = pytest.mark.django_db


def test_an_oauth_header_reads_the_page_and_records_the_key_use(manage, admin_user):
    response = manage.get(url())
    assert response.status_code == 200
    page = response.json()
    assert page["id"] == page_id()
    assert page["name"] == "Statusportal"
    assert page["allow_email_subscribers"] is True
    assert ApiToken.objects.get(user=admin_user).last_used_at is not None


def test_the_key_may_come_as_api_key_and_the_suffix_is_optional(admin_key, rest):
    client = ManageClient()
    response = client.get(url(f"/components/{rest.code}.json?api_key={admin_key}"))
    assert response.status_code == 200
    assert response.json()["id"] == rest.code
    assert client.get(url(f"/components/{rest.code}?api_key={admin_key}")).status_code == 200


@pytest.mark.parametrize(
    "header",
    [None, "OAuth not-a-key", "OAuth", "Basic abc", "OAuth a b"],
)
def test_a_missing_or_bad_key_is_a_401_in_json_and_writes_nothing(anonymous_manage, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = anonymous_manage.send(
        "POST", url("/components"), {"component": {"name": "Search"}}, **extra
    )
    assert response.status_code == 401
    assert response.json()["message"]
    assert response["WWW-Authenticate"].startswith("OAuth")
    assert not Component.objects.exists()


def test_a_revoked_key_is_refused(admin_user):
    token, key = create_token(admin_user, "old")
    token.revoked_at = timezone.now()
    token.save()
    response = ManageClient(key).get(url())
    assert response.status_code == 401
    assert "revoked" in response.json()["message"]


def test_another_page_id_is_a_404_and_writes_nothing(manage):
    response = manage.send(
        "POST", "/v1/pages/zzzzzzzzzzzz/components", {"component": {"name": "X"}}
    )
    assert response.status_code == 404
    assert page_id() in response.json()["message"]
    assert not Component.objects.exists()


def test_the_page_id_follows_the_setting_here_and_in_api_v2(manage, settings, client):
    settings.STATUSPAGE_PAGE_ID = "kctbh9vrtdwd"
    assert manage.get("/v1/pages/kctbh9vrtdwd.json").json()["id"] == "kctbh9vrtdwd"
    assert client.get("/api/v2/status.json").json()["page"]["id"] == "kctbh9vrtdwd"
    assert manage.get(url()).status_code == 200  # url() reads the setting too
    assert manage.get("/v1/pages").json()[0]["id"] == "kctbh9vrtdwd"


def test_a_key_without_the_permission_is_a_403_and_writes_nothing(outsider, rest):
    _, key = create_token(outsider, "curious")
    client = ManageClient(key)
    assert client.get(url("/components")).status_code == 403
    response = client.send(
        "PATCH", url(f"/components/{rest.code}"), {"component": {"status": "major_outage"}}
    )
    assert response.status_code == 403
    rest.refresh_from_db()
    assert rest.status == "operational"


def test_support_staff_may_move_a_status_but_not_rename(support_manage, rest):
    response = support_manage.send(
        "PATCH", url(f"/components/{rest.code}"), {"component": {"status": "partial_outage"}}
    )
    assert response.status_code == 200, response.json()
    response = support_manage.send(
        "PATCH", url(f"/components/{rest.code}"), {"component": {"name": "REST"}}
    )
    assert response.status_code == 403
    rest.refresh_from_db()
    assert (rest.name, rest.status) == ("REST API", "partial_outage")


def test_a_form_encoded_envelope_works_like_json(manage, rest, graphql):
    response = manage.post(
        url("/incidents.json"),
        "incident[name]=Search+down&incident[status]=identified&incident[body]=Found+it"
        f"&incident[components][{rest.code}]=partial_outage"
        f"&incident[component_ids][]={graphql.code}&incident[deliver_notifications]=false",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 201, response.json()
    incident = Incident.objects.get(code=response.json()["id"])
    assert incident.status == "identified"
    assert set(incident.components.values_list("code", flat=True)) == {rest.code, graphql.code}
    update = incident.updates.get()
    assert update.deliver_notifications is False
    rest.refresh_from_db()
    graphql.refresh_from_db()
    assert (rest.status, graphql.status) == ("partial_outage", "operational")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"name": "No envelope"}', "application/json"),
        ('{"incident": "a string"}', "application/json"),
        ('["incident"]', "application/json"),
        ("{not json", "application/json"),
        ("incident=x&incident[name]=y", "application/x-www-form-urlencoded"),
        ("incident[name]]=y", "application/x-www-form-urlencoded"),
        ("incident[][name]=y", "application/x-www-form-urlencoded"),
        ("name=y", "application/x-www-form-urlencoded"),
    ],
)
def test_a_malformed_envelope_is_a_400_and_writes_nothing(manage, body, content_type):
    response = manage.post(url("/incidents"), body, content_type=content_type)
    assert response.status_code == 400, response.json()
    assert response.json()["message"]
    assert not Incident.objects.exists()


def test_another_content_type_is_a_415_in_json(manage):
    response = manage.post(url("/incidents"), "<incident/>", content_type="application/xml")
    assert response.status_code == 415
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/page_access_users",
        "/page_access_groups/abc.json",
        "/metrics",
        "/metrics_providers/abc/metrics.json",
        "/status_embed_config",
        "/subscribers/histogram_by_state",
    ],
)
def test_endpoints_we_do_not_offer_say_so_in_a_json_404(manage, path):
    response = manage.get(url(path))
    assert response.status_code == 404
    assert "not supported by statusportal" in response.json()["message"]


def test_organization_endpoints_are_not_supported(manage):
    response = manage.get("/v1/organizations/abc/users.json")
    assert response.status_code == 404
    assert "not supported by statusportal" in response.json()["message"]


def test_an_unknown_status_is_a_422_and_nothing_changes(manage, rest):
    before = ComponentStatusChange.objects.count()
    response = manage.send(
        "PATCH", url(f"/components/{rest.code}"), {"component": {"status": "on_fire"}}
    )
    assert response.status_code == 422
    assert "status" in response.json()["errors"]
    assert ComponentStatusChange.objects.count() == before


def test_bad_page_numbers_are_a_400(manage):
    for query in ("page=0", "page=x", "per_page=-1", "per_page=²"):
        assert manage.get(url(f"/components?{query}")).status_code == 400, query


def test_the_rate_limit_answers_429_with_retry_after(manage, monkeypatch):
    # The key's user is counted by the API's own throttle (statusportal.api.throttling).
    rates = {**throttling.UserRateThrottle.THROTTLE_RATES, "user": "2/minute"}
    monkeypatch.setattr(throttling.UserRateThrottle, "THROTTLE_RATES", rates)
    codes = [manage.get(url("/component-groups")).status_code for _ in range(3)]
    assert codes[:2] == [200, 200]
    assert codes[2] == 429
    response = manage.get(url("/component-groups"))
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["message"]


def test_groups_list(manage, api_group, rest, graphql):
    groups = manage.get(url("/component-groups")).json()
    assert groups[0]["id"] == api_group.code
    assert groups[0]["components"] == [rest.code, graphql.code]
    assert ComponentGroup.objects.count() == 1


@pytest.mark.parametrize(
    "path",
    [
        "/components/%00",
        "/incidents/a%00b",
        "/subscribers/%00",
        "/component-groups/%00/uptime",
        "/incidents/x/incident_updates/%00",
        "/components/%ED%A0%80",
    ],
)
def test_an_id_that_cannot_be_a_code_is_a_404(manage, path):
    response = manage.get(url(path))
    assert response.status_code == 404


def test_the_page_settings_cannot_be_changed_here(manage):
    response = manage.send("PATCH", url(), {"page": {"name": "Other"}})
    assert response.status_code == 405
    assert response.json()["message"]
