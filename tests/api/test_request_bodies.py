"""Whatever a client sends to /api/, the answer is a 4xx in JSON: never HTML, never a 500."""

import json
from urllib.parse import urlencode

import pytest
from django.test import Client

from incidents.api.statuspage import page_id
from incidents.models import Incident
from monitoring import tokens as integration_tokens
from monitoring.models import Integration, Payload
from statusportal import limits
from statusportal.api.parsers import depth_of
from statusportal.api.tokens import create_token

pytestmark = pytest.mark.django_db

NESTED = "[" * 3000 + "]" * 3000  # 6 KB; the 18 KB shape as well below
NESTED_OBJECTS = '{"a":' * 3000 + "1" + "}" * 3000


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:200]
    assert response["Content-Type"].startswith("application/json")
    return response.json()


@pytest.mark.parametrize("body", [NESTED, NESTED_OBJECTS, "[" * 9000 + "]" * 9000])
def test_deeply_nested_json_is_a_400(support_api, body):
    response = support_api.post("/api/v1/incidents/", data=body, content_type="application/json")
    assert "nested deeper" in assert_json_error(response, 400)["detail"]


@pytest.mark.parametrize("path", ["/api/v1/incidents/", "/api/v1/subscribers/"])
def test_deeply_nested_json_from_a_token_without_permissions_is_a_4xx_json(outsider_api, path):
    response = outsider_api.post(path, data=NESTED, content_type="application/json")
    assert response.status_code in (400, 403)
    assert response["Content-Type"].startswith("application/json")


def test_json_nested_just_deeper_than_allowed_is_a_400(support_api):
    body = {"name": "x", "body": "y"}
    for _ in range(limits.MAX_JSON_DEPTH):
        body = {"nested": body}
    response = support_api.post(
        "/api/v1/incidents/", data=json.dumps(body), content_type="application/json"
    )
    assert "nested deeper" in assert_json_error(response, 400)["detail"]


def test_a_five_megabyte_body_is_a_413_in_json(support_api):
    body = json.dumps({"name": "x", "body": "y" * 5_000_000})
    response = support_api.post("/api/v1/incidents/", data=body, content_type="application/json")
    assert "too large" in assert_json_error(response, 413)["detail"]


def test_a_body_over_our_bound_but_under_djangos_is_a_413_in_json(support_api):
    body = json.dumps({"name": "x", "body": "y" * (limits.MAX_JSON_BODY_BYTES + 1)})
    response = support_api.post("/api/v1/incidents/", data=body, content_type="application/json")
    assert "at most" in assert_json_error(response, 413)["detail"]


def test_a_body_larger_than_declared_is_still_cut_off(support_api):
    body = json.dumps({"body": "y" * (limits.MAX_JSON_BODY_BYTES + 10)})
    response = support_api.post(
        "/api/v1/incidents/", data=body, content_type="application/json", CONTENT_LENGTH="10"
    )
    # Read at most what was declared: Django's LimitedStream; the JSON is then cut, a 400.
    assert response.status_code in (400, 413)
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    "body", [b"\xff\xfe\x00garbage", b'{"name": NaN}', b"{", b'{"a": 1e999999}']
)
def test_parser_errors_are_400_json(support_api, body):
    response = support_api.post("/api/v1/incidents/", data=body, content_type="application/json")
    assert_json_error(response, 400)


def test_a_disallowed_host_on_an_api_path_is_a_400_in_json():
    response = Client(HTTP_HOST="evil.example").get("/api/v1/components/")
    assert assert_json_error(response, 400)["code"] == "bad_request"


def test_a_disallowed_host_on_a_page_stays_html():
    response = Client(HTTP_HOST="evil.example").get("/")
    assert response.status_code == 400
    assert not response["Content-Type"].startswith("application/json")


def test_django_refusing_a_body_on_an_api_path_answers_413_json(settings, support_api):
    # Django itself refuses it (RequestDataTooBig, a SuspiciousOperation) when the body
    # is read: the API answers JSON, not Django's HTML 400 page.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"name": "x", "body": "y" * 5000})
    response = support_api.post("/api/v1/incidents/", data=body, content_type="application/json")
    assert "too large" in assert_json_error(response, 413)["detail"]


def test_a_wrong_method_on_a_plain_api_view_is_a_405_in_json():
    response = Client().post("/api/v2/summary.json", data={"a": "b"})
    assert assert_json_error(response, 405)["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD"


def test_a_csrf_failure_on_an_api_path_is_json():
    response = Client(enforce_csrf_checks=True).post("/api/v2/summary.json", data={"a": "b"})
    assert response.status_code in (403, 405)
    assert response["Content-Type"].startswith("application/json")


def test_depth_counts_containers_without_recursion():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert depth_of(deep, 32) == 33
    assert depth_of({"a": [1, {"b": 2}]}, 32) == 3
    assert depth_of("scalar", 32) == 0


# Every API that takes a body: our /api/v1, Statuspage's manage API (/v1), the monitoring
# intake, and the read-only Statuspage JSON (/api/v2).
@pytest.fixture
def every_api(db, admin_user):
    _, manage_key = create_token(admin_user, "scripts")
    integration = Integration.objects.create(kind=Integration.Kind.ALERTMANAGER, name="am")
    _, intake_key = integration_tokens.create_token(integration, "am-01")
    return [
        ("/api/v1/incidents/", {"HTTP_AUTHORIZATION": f"Token {manage_key}"}),
        (f"/v1/pages/{page_id()}/incidents", {"HTTP_AUTHORIZATION": f"OAuth {manage_key}"}),
        ("/api/v1/integrations/alertmanager", {"HTTP_AUTHORIZATION": f"Bearer {intake_key}"}),
        ("/api/v2/summary.json", {}),
    ]


def _counts():
    return (Incident.objects.count(), Payload.objects.count())


@pytest.mark.parametrize("shape", ["five megabytes", "nested"])
def test_every_api_answers_a_hostile_body_in_json_and_writes_nothing(client, every_api, shape):
    body = (
        json.dumps({"name": "x", "body": "y" * 5_000_000}) if shape == "five megabytes" else NESTED
    )
    before = _counts()
    for path, headers in every_api:
        response = client.post(path, data=body, content_type="application/json", **headers)
        assert 400 <= response.status_code < 500, (path, response.status_code)
        assert response["Content-Type"].startswith("application/json"), path
        if path.startswith("/v1/"):
            assert response.json()["message"], path  # Statuspage's error shape
    assert _counts() == before


def test_a_form_encoded_body_too_large_for_django_on_the_manage_api_is_a_413_message(
    client, every_api, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    path, headers = every_api[1]
    body = urlencode({"incident[name]": "x" * 5000})
    response = client.post(
        path, data=body, content_type="application/x-www-form-urlencoded", **headers
    )
    assert response.status_code == 413
    assert "too large" in response.json()["message"]
