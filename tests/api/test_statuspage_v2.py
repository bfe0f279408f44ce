"""/api/v2/: the Statuspage-compatible JSON, checked against a real capture of
githubstatus.com key by key and type by type, and against the format rules clients need."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from components.models import Component
from incidents import services

# The capture lives in the shared folder beside the repository (../shared).
REPO = Path(__file__).resolve().parents[2]
CAPTURE = REPO.parent / "shared" / "fixtures" / "statuspage" / "summary-github-2022-11-25.json"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

ENDPOINTS = {
    "summary.json": {"page", "components", "incidents", "scheduled_maintenances", "status"},
    "status.json": {"page", "status"},
    "components.json": {"page", "components"},
    "incidents.json": {"page", "incidents"},
    "incidents/unresolved.json": {"page", "incidents"},
    "scheduled-maintenances.json": {"page", "scheduled_maintenances"},
    "scheduled-maintenances/upcoming.json": {"page", "scheduled_maintenances"},
    "scheduled-maintenances/active.json": {"page", "scheduled_maintenances"},
}
COMPONENT_KEYS = {
    "id", "name", "status", "created_at", "updated_at", "position", "description", "showcase",
    "start_date", "group_id", "page_id", "group", "only_show_if_degraded",
}  # fmt: skip
INCIDENT_KEYS = {
    "id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at",
    "impact", "shortlink", "started_at", "page_id", "incident_updates", "components",
}  # fmt: skip
UPDATE_KEYS = {
    "id", "status", "body", "incident_id", "created_at", "updated_at", "display_at",
    "affected_components", "deliver_notifications", "custom_tweet", "tweet_id",
}  # fmt: skip


def get(client, path):
    response = client.get(f"/api/v2/{path}")
    assert response.status_code == 200, path
    return response.json()


@pytest.fixture
def page(rest, graphql, website, open_incident):
    """A page shaped like the capture: an unresolved incident whose updates changed and
    named components, plus a resolved one with a postmortem and a maintenance."""
    website.description = "The marketing site"
    website.start_date = timezone.now().date() - timedelta(days=90)
    website.save()
    incident = open_incident(
        name="Incident with REST", components={rest.code: "partial_outage", website.code: None}
    )
    services.post_update(incident, status="investigating", body="Still looking.")
    services.post_update(
        incident,
        status="investigating",
        body="Worse.",
        components={rest.code: "major_outage", website.code: "degraded_performance"},
    )
    done = open_incident(name="Old", components={graphql.code: "partial_outage"})
    services.resolve(done)
    services.save_postmortem_draft(done, body="Why.")
    services.publish_postmortem(done)
    now = timezone.now()
    upcoming = services.open_incident(
        name="Upgrade", kind="maintenance", status="scheduled", body="Planned.",
        components={graphql.code: None},
        scheduled_for=now + timedelta(days=1), scheduled_until=now + timedelta(days=1, hours=1),
    )  # fmt: skip
    active = services.open_incident(
        name="Migration", kind="maintenance", status="in_progress", body="Running.",
        components={website.code: None},
        scheduled_for=now - timedelta(hours=1), scheduled_until=now + timedelta(hours=1),
    )  # fmt: skip
    return {"incident": incident, "done": done, "upcoming": upcoming, "active": active}


def _kind(value) -> str:
    # A capture value of null or a string allows either: which one depends on the data.
    if value is None or isinstance(value, str):
        return "string-or-null"
    return type(value).__name__


def shapes(document, path="", found=None) -> dict[str, dict]:
    """Every path of ``document`` ("incidents[].impact") with the JSON kinds seen there and,
    for objects, their keys."""
    found = {} if found is None else found
    entry = found.setdefault(path, {"kinds": set(), "keys": set()})
    entry["kinds"].add(_kind(document))
    if isinstance(document, dict):
        entry["keys"].add(frozenset(document))
        for key, value in document.items():
            shapes(value, f"{path}.{key}", found)
    elif isinstance(document, list):
        for item in document:
            shapes(item, f"{path}[]", found)
    return found


def assert_same_shape(ours: dict, capture: dict) -> None:
    """At each level: nothing missing, nothing extra, the same types (null or string where
    the capture has null or a string); and every path of the capture appears in ours."""
    theirs, mine = shapes(capture), shapes(ours)
    for path, entry in mine.items():
        assert path in theirs, f"extra: {path}"
        assert entry["kinds"] <= theirs[path]["kinds"], (path, entry["kinds"])
        for keys in entry["keys"]:
            expected = set().union(*theirs[path]["keys"])
            assert keys == expected, f"{path}: missing {expected - keys}, extra {keys - expected}"
    assert set(theirs) - set(mine) == set(), "paths of the capture our page lacks"


def test_summary_content(anon, page, rest, graphql, website, api_group):
    body = get(anon, "summary.json")
    assert body["status"] == {"indicator": "critical", "description": "Major System Outage"}
    ids = [c["id"] for c in body["components"]]
    assert ids == [website.code, api_group.code, rest.code, graphql.code]
    group = body["components"][1]
    assert group["group"] is True
    assert group["components"] == [rest.code, graphql.code]
    assert group["status"] == "major_outage"
    assert body["components"][2]["group_id"] == api_group.code
    assert body["components"][0]["start_date"] == website.start_date.isoformat()
    assert body["components"][0]["description"] == "The marketing site"
    assert body["components"][2]["description"] is None
    incident = body["incidents"][0]
    assert [i["id"] for i in body["incidents"]] == [page["incident"].code]
    assert incident["impact"] == "critical"
    assert incident["shortlink"].endswith(f"/incidents/{page['incident'].code}/")
    bodies = [u["body"] for u in incident["incident_updates"]]
    assert bodies == ["Worse.", "Still looking.", "We are looking into it."]
    assert incident["incident_updates"][1]["affected_components"] is None
    assert {c["id"] for c in incident["components"]} == {rest.code, website.code}
    assert body["page"]["time_zone"] == "UTC"


def test_every_timestamp_has_milliseconds_and_ids_are_codes(anon, page):
    def walk(value, key=""):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif key.endswith("_at") or key in ("scheduled_for", "scheduled_until"):
            assert value is None or ISO_MS.match(value), (key, value)
        elif key in ("id", "page_id", "incident_id", "group_id"):
            assert value is None or re.fullmatch(r"[a-z0-9]{12}", value), (key, value)

    for path in ENDPOINTS:
        walk(get(anon, path))


@pytest.mark.parametrize(("path", "keys"), ENDPOINTS.items())
def test_each_endpoint_has_exactly_its_keys_and_never_null_lists(anon, db, path, keys):
    body = get(anon, path)
    assert set(body) == keys
    for key in keys - {"page", "status"}:
        assert body[key] == []


def test_endpoint_contents(anon, page):
    codes = {k: v.code for k, v in page.items()}
    assert [i["id"] for i in get(anon, "incidents.json")["incidents"]] == [
        codes["done"],
        codes["incident"],
    ] or {i["id"] for i in get(anon, "incidents.json")["incidents"]} == {
        codes["done"],
        codes["incident"],
    }
    unresolved = get(anon, "incidents/unresolved.json")["incidents"]
    assert [i["id"] for i in unresolved] == [codes["incident"]]
    upcoming = get(anon, "scheduled-maintenances/upcoming.json")["scheduled_maintenances"]
    assert [m["id"] for m in upcoming] == [codes["upcoming"]]
    active = get(anon, "scheduled-maintenances/active.json")["scheduled_maintenances"]
    assert [m["id"] for m in active] == [codes["active"]]
    assert active[0]["status"] == "in_progress"
    assert active[0]["impact"] == "maintenance"
    every = get(anon, "scheduled-maintenances.json")["scheduled_maintenances"]
    assert {m["id"] for m in every} == {codes["upcoming"], codes["active"]}


def test_resolved_incident_with_published_postmortem_has_status_postmortem(anon, page):
    incidents = {i["id"]: i for i in get(anon, "incidents.json")["incidents"]}
    assert incidents[page["done"].code]["status"] == "postmortem"
    assert incidents[page["incident"].code]["status"] == "investigating"


def test_incidents_json_lists_the_50_most_recent(anon, rest):
    now = timezone.now()
    for n in range(52):
        services.open_incident(
            name=f"I{n}", status="resolved", body="x", display_at=now - timedelta(hours=60 - n)
        )
    names = [i["name"] for i in get(anon, "incidents.json")["incidents"]]
    assert len(names) == 50
    assert names[0] == "I51"
    assert "I0" not in names


def test_page_status_without_components(anon, db):
    assert get(anon, "status.json")["status"]["indicator"] == "none"
    services.open_incident(name="x", status="investigating", body="y")
    assert get(anon, "status.json")["status"] == {
        "indicator": "minor",
        "description": "Minor Service Outage",
    }


def test_unknown_v2_path_is_a_404_json(anon, db):
    for path in ("/api/v2/nope.json", "/api/v2/incidents/nope.json", "/api/v2/"):
        response = anon.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/json"
        assert "detail" in response.json()


def test_writes_to_v2_are_refused(anon, db):
    assert anon.post("/api/v2/summary.json", {}).status_code == 405


def test_cors_header_without_and_with_origin(anon, db):
    assert anon.get("/api/v2/summary.json")["Access-Control-Allow-Origin"] == "*"
    response = anon.get("/api/v2/summary.json", HTTP_ORIGIN="https://grafana.example")
    assert response["Access-Control-Allow-Origin"] == "*"


def test_etag_gives_304_until_a_write_changes_the_page(anon, rest):
    first = anon.get("/api/v2/summary.json")
    etag = first["ETag"]
    assert "public" in first["Cache-Control"]
    again = anon.get("/api/v2/summary.json", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    rest.set_status(Component.Status.MAJOR_OUTAGE)
    changed = anon.get("/api/v2/summary.json", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["components"][1]["status"] == "major_outage"


def test_cached_rendering_is_invalidated_by_writes(anon, open_incident):
    assert get(anon, "incidents/unresolved.json")["incidents"] == []
    open_incident()
    assert len(get(anon, "incidents/unresolved.json")["incidents"]) == 1


def _grow(size: int, base) -> None:
    for n in range(size):
        component = Component.objects.create(name=f"C{n}", group=base if n % 2 else None)
        incident = services.open_incident(
            name=f"I{n}",
            status="investigating",
            body="x",
            components={component.code: "major_outage"},
        )
        services.post_update(incident, status="identified", body="y")
        if n % 3 == 0:
            services.resolve(incident)
            services.save_postmortem_draft(incident, body="z")
            services.publish_postmortem(incident)
        now = timezone.now()
        services.open_incident(
            name=f"M{n}", kind="maintenance", status="in_progress" if n % 2 else "scheduled",
            body="m", components={component.code: None},
            scheduled_for=now + timedelta(hours=n - 1),
            scheduled_until=now + timedelta(hours=n + 1),
        )  # fmt: skip


@pytest.mark.parametrize("size", [1, 25])
@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_fixed_number_of_queries(anon, api_group, size, path, django_assert_max_num_queries):
    _grow(size, api_group)
    with django_assert_max_num_queries(7):
        get(anon, path)
