"""A truthful API: public reads documented as public, bad query values answered 400
with what is accepted, names caught where codes are expected, ETag/304 on reads, and no
time without an offset."""

import pytest
import yaml

from components.models import Component


@pytest.fixture
def schema(anon):
    response = anon.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    return yaml.safe_load(response.content)


def test_reads_are_documented_as_public_and_writes_need_a_token(schema):
    paths = schema["paths"]
    assert {} in paths["/api/v1/incidents/"]["get"]["security"]
    assert {} in paths["/api/v1/components/{code}/"]["get"]["security"]
    assert {} not in paths["/api/v1/incidents/"]["post"]["security"]
    assert {} not in paths["/api/v1/subscribers/"]["get"]["security"]


def test_filters_and_orderings_are_described_with_their_values(schema):
    params = {p["name"]: p for p in schema["paths"]["/api/v1/incidents/"]["get"]["parameters"]}
    assert params["component"]["schema"]["items"]["pattern"] == "^[a-z0-9]{12}$"
    assert params["group"]["schema"]["items"]["pattern"] == "^[a-z0-9]{12}$"
    assert params["unresolved"]["schema"]["type"] == "boolean"
    assert set(params["ordering"]["schema"]["enum"]) >= {"started_at", "-started_at"}
    body = schema["components"]["schemas"]["IncidentCreateRequest"]["properties"]["components"]
    assert "code" in body["description"] and "not its name" in body["description"]
    assert "major_outage" in body["additionalProperties"]["enum"]


@pytest.mark.parametrize("value", ["maybe", "yes", "2"])
def test_an_invalid_boolean_is_a_400_listing_the_accepted_values(anon, value):
    response = anon.get("/api/v1/incidents/", {"unresolved": value})
    assert response.status_code == 400
    assert "Accepted values: true, false" in response.json()["unresolved"][0]


@pytest.mark.parametrize("value, expected", [("1", 1), ("true", 1), ("0", 0), ("False", 0)])
def test_valid_booleans_filter(anon, open_incident, value, expected):
    open_incident()
    response = anon.get("/api/v1/incidents/", {"unresolved": value})
    assert response.status_code == 200 and len(response.json()["results"]) == expected


def test_an_unknown_ordering_is_a_400_listing_the_accepted_ones(anon, rest):
    response = anon.get("/api/v1/components/", {"ordering": "nmae"})
    assert response.status_code == 400
    message = response.json()["ordering"][0]
    assert "“nmae”" in message and "name, -name" in message
    assert anon.get("/api/v1/incidents/", {"ordering": "name"}).status_code == 400
    assert anon.get("/api/v1/components/", {"ordering": "-name"}).status_code == 200


def test_an_unknown_choice_lists_the_accepted_values(anon):
    response = anon.get("/api/v1/incidents/", {"status": "broken"})
    assert response.status_code == 400
    assert "Accepted values: investigating, identified" in response.json()["status"][0]


def test_a_name_where_a_code_is_expected_gets_the_code(anon, support_api, rest):
    response = anon.get("/api/v1/incidents/", {"component": "REST API"})
    assert response.status_code == 400
    assert response.json()["component"] == [
        f"“REST API” is the name of a component; use its code “{rest.code}”."
    ]
    response = anon.get("/api/v1/incidents/", {"component": "nothing"})
    assert "No component has the code “nothing”" in response.json()["component"][0]
    response = support_api.post(
        "/api/v1/incidents/",
        {"name": "Down", "body": "Looking.", "components": {"REST API": "major_outage"}},
        format="json",
    )
    assert response.status_code == 400
    assert f"use its code “{rest.code}”" in str(response.json()["components"])


def test_a_group_name_in_a_component_write(admin_api, api_group):
    response = admin_api.post("/api/v1/components/", {"name": "New", "group": "API"}, format="json")
    assert response.status_code == 400
    assert response.json()["group"] == [
        f"“API” is the name of a component group; use its code “{api_group.code}”."
    ]
    assert not Component.objects.filter(name="New").exists()


def test_a_display_at_without_offset_is_refused(support_api, rest):
    response = support_api.post(
        "/api/v1/incidents/",
        {"name": "Down", "body": "Looking.", "display_at": "2026-01-02T10:00:00"},
        format="json",
    )
    assert response.status_code == 400
    assert "offset" in response.json()["display_at"][0]
    response = support_api.post(
        "/api/v1/incidents/",
        {"name": "Down", "body": "Looking.", "display_at": "2026-01-02T10:00:00-03:00"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["updates"][0]["display_at"] == "2026-01-02T13:00:00.000Z"


def test_reads_answer_304_while_nothing_changed(anon, rest):
    first = anon.get("/api/v1/components/")
    etag = first["ETag"]
    assert etag
    again = anon.get("/api/v1/components/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    rest.set_status(Component.Status.MAJOR_OUTAGE)
    changed = anon.get("/api/v1/components/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
