"""Who may write: the permission matrix, and the life of a token (create, use, revoke)."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.models import Incident
from statusportal.api import tokens
from statusportal.api.tokens import create_token, hash_key
from statusportal.models import ApiToken
from tests.api.conftest import client_with_key


@pytest.fixture
def revoked_api(support_user):
    # Sam's old token, revoked after a laptop was lost.
    token, key = create_token(support_user, "old laptop")
    token.revoke()
    return client_with_key(key)


@pytest.fixture
def incident(open_incident):
    return open_incident()


def writes(incident, rest):
    """(method, url, body) of each write an operator's script makes."""
    return [
        ("post", "/api/v1/incidents/", {"name": "x", "body": "y"}),
        (
            "post",
            f"/api/v1/incidents/{incident.code}/updates/",
            {"status": "identified", "body": "y"},
        ),
        ("put", f"/api/v1/incidents/{incident.code}/postmortem/", {"body": "y"}),
        ("patch", f"/api/v1/components/{rest.code}/", {"status": "partial_outage"}),
    ]


def test_anonymous_writes_are_401_and_change_nothing(anon, incident, rest):
    for method, url, body in writes(incident, rest):
        response = getattr(anon, method)(url, body)
        assert response.status_code == 401, url
        assert "detail" in response.json()
        assert response["WWW-Authenticate"].startswith("Token")
    assert Incident.objects.count() == 1
    assert incident.updates.count() == 1


def test_token_of_a_user_without_permissions_is_a_403(outsider_api, incident, rest):
    for method, url, body in writes(incident, rest):
        response = getattr(outsider_api, method)(url, body)
        assert response.status_code == 403, url
    assert Incident.objects.count() == 1


def test_revoked_token_is_a_401_even_for_reads(revoked_api, incident, rest):
    for method, url, body in writes(incident, rest):
        assert getattr(revoked_api, method)(url, body).status_code == 401
    response = revoked_api.get("/api/v1/incidents/")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_support_staff_may_run_incidents(support_api, incident, rest):
    codes = [
        getattr(support_api, m)(url, body).status_code for m, url, body in writes(incident, rest)
    ]
    assert codes == [201, 201, 200, 200]


def test_support_staff_may_not_edit_the_catalogue(support_api, rest, api_group):
    assert support_api.post("/api/v1/components/", {"name": "New"}).status_code == 403
    assert support_api.patch(f"/api/v1/components/{rest.code}/", {"name": "x"}).status_code == 403
    assert (
        support_api.patch(
            f"/api/v1/components/{rest.code}/", {"status": "major_outage", "name": "x"}
        ).status_code
        == 403
    )
    assert support_api.post("/api/v1/component-groups/", {"name": "G"}).status_code == 403
    rest.refresh_from_db()
    assert (rest.name, rest.status) == ("REST API", "operational")


def test_support_staff_may_not_see_subscribers(support_api, anon):
    assert support_api.get("/api/v1/subscribers/").status_code == 403
    assert anon.get("/api/v1/subscribers/").status_code == 401


def test_unknown_key_and_malformed_header_are_401(db):
    client = client_with_key("not-a-key")
    assert client.get("/api/v1/components/").status_code == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token two words")
    assert client.get("/api/v1/components/").status_code == 401


def test_inactive_user_token_is_refused(support_user, rest):
    _, key = create_token(support_user, "x")
    support_user.is_active = False
    support_user.save()
    assert (
        client_with_key(key).post("/api/v1/incidents/", {"name": "x", "body": "y"}).status_code
        == 401
    )


def test_tokens_are_stored_hashed_and_record_last_use(support_user, rest):
    token, key = create_token(support_user, "alerting")
    assert key not in token.key_hash
    assert token.key_hash == hash_key(key)
    assert token.prefix == key[:8]
    assert token.last_used_at is None
    client_with_key(key).get("/api/v1/components/")
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert (timezone.now() - token.last_used_at).total_seconds() < 60


def test_createapitoken_prints_a_working_key(support_user, rest):
    out, err = io.StringIO(), io.StringIO()
    call_command("createapitoken", "sam", "--name", "pager", stdout=out, stderr=err)
    key = out.getvalue().strip()
    assert "shown again" in err.getvalue() or "not kept" in err.getvalue()
    token = ApiToken.objects.get(user=support_user)
    assert token.name == "pager"
    client = client_with_key(key)
    assert client.post("/api/v1/incidents/", {"name": "x", "body": "y"}).status_code == 201


def test_createapitoken_errors(support_user):
    with pytest.raises(CommandError, match="No user"):
        call_command("createapitoken", "nobody", stdout=io.StringIO(), stderr=io.StringIO())
    call_command("createapitoken", "sam", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError, match="already has"):
        call_command("createapitoken", "sam", stdout=io.StringIO(), stderr=io.StringIO())


def test_admin_creates_a_token_showing_the_key_once_and_revokes_it(
    client, support_user, django_user_model
):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    response = client.post(
        "/admin/statusportal/apitoken/add/",
        {"user": support_user.pk, "name": "grafana"},
        follow=True,
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(name="grafana")
    messages = [str(m) for m in response.context["messages"]]
    key = next(m.rsplit(" ", 1)[1] for m in messages if "shown only this once" in m)
    assert hash_key(key) == token.key_hash
    listing = client.get("/admin/statusportal/apitoken/")
    assert key not in listing.content.decode()
    client.post(
        "/admin/statusportal/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client_with_key(key).get("/api/v1/components/").status_code == 401


def test_a_key_never_starts_with_a_dash(monkeypatch):
    # A key starting with "-" given on a command line (import_statuspage --api-key KEY)
    # reads as an option: about one key in 64 would have been unusable there.
    drawn = iter(["-" + "a" * 39, "b" * 40])
    monkeypatch.setattr(tokens.secrets, "token_urlsafe", lambda n: next(drawn))
    assert tokens.new_key() == "b" * 40
