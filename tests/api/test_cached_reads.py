"""/api/v1 list and detail reads come from the page cache: one rendering per normalised
query and revision, ETag/304 and Cache-Control for an API, a bounded share of memory,
JSON only, and never for a token holder."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import services
from incidents.api import views
from incidents.api.views import IncidentViewSet
from statusportal import pagecache
from statusportal.api.cache import API_CACHE_CONTROL, known_params


@pytest.fixture
def incident(open_incident):
    return open_incident(name="API errors", body="Looking into it.")


@pytest.fixture
def renders(monkeypatch):
    """The incident list's renderings (its serializer runs only on a miss)."""
    counts = {"list": 0}
    original = views.IncidentViewSet.list

    def counting(self, request, *args, **kwargs):
        counts["list"] += 1
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(views.IncidentViewSet, "list", counting)
    return counts


def test_the_order_of_parameters_does_not_matter(anon, incident, renders):
    first = anon.get("/api/v1/incidents/?status=investigating&kind=incident&page_size=5")
    second = anon.get("/api/v1/incidents/?page_size=5&kind=incident&status=investigating")
    assert first.status_code == second.status_code == 200
    assert renders["list"] == 1
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]
    assert [i["code"] for i in first.json()["results"]] == [incident.code]


def test_unknown_parameters_are_not_part_of_the_key(anon, incident, renders):
    plain = anon.get("/api/v1/incidents/")
    for _ in range(20):
        response = anon.get(f"/api/v1/incidents/?{uuid.uuid4().hex}=1")
        assert response.content == plain.content
    assert renders["list"] == 1


def test_each_known_filter_is_its_own_entry(anon, incident, renders):
    assert anon.get("/api/v1/incidents/?status=resolved").json()["results"] == []
    assert len(anon.get("/api/v1/incidents/?status=investigating").json()["results"]) == 1
    assert renders["list"] == 2


def test_reads_carry_an_api_cache_control_and_answer_304(anon, incident):
    for url in ("/api/v1/incidents/", f"/api/v1/incidents/{incident.code}/"):
        first = anon.get(url)
        assert first["Cache-Control"] == API_CACHE_CONTROL == "public, no-cache"
        assert first["Vary"].startswith("Accept")
        assert first["Content-Type"] == "application/json"
        again = anon.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 304 and again.content == b""


def test_a_posted_update_shows_at_once(anon, incident):
    url = f"/api/v1/incidents/{incident.code}/"
    before = anon.get(url)
    services.post_update(incident, status="identified", body="Found a bad deploy.")
    after = anon.get(url, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert after.json()["status"] == "identified"
    listed = anon.get("/api/v1/incidents/?status=identified").json()["results"]
    assert [i["code"] for i in listed] == [incident.code]


def test_a_second_reader_costs_no_query(anon, incident, settings, django_assert_num_queries):
    settings.STATUSPAGE_REVISION_TTL = 60
    first = anon.get("/api/v1/incidents/?status=investigating")
    with django_assert_num_queries(0):
        second = anon.get("/api/v1/incidents/?status=investigating")
    assert second.content == first.content


def test_pagination_links_stay_those_of_the_normalised_query(anon, open_incident):
    for n in range(3):
        open_incident(name=f"Incident {n}")
    page = anon.get("/api/v1/incidents/?page_size=2&junk=1&kind=incident").json()
    assert page["next"].startswith("http://testserver/api/v1/incidents/?cursor=")
    assert "junk" not in page["next"]
    assert len(anon.get(page["next"]).json()["results"]) == 1


def test_the_browsable_api_is_never_answered_with_cached_json(anon, incident):
    anon.get("/api/v1/incidents/")
    anon.get("/api/v1/incidents/")
    html = anon.get("/api/v1/incidents/", HTTP_ACCEPT="text/html")
    assert html["Content-Type"].startswith("text/html")
    assert anon.get("/api/v1/incidents/?format=api")["Content-Type"].startswith("text/html")
    assert anon.get("/api/v1/incidents/")["Content-Type"] == "application/json"


def test_a_token_holder_reads_through_the_view(anon, support_api, incident, renders):
    anon.get("/api/v1/incidents/")
    anon.get("/api/v1/incidents/")
    own = support_api.get("/api/v1/incidents/")
    assert own.status_code == 200
    assert renders["list"] == 2
    assert own.get("Cache-Control") != API_CACHE_CONTROL


def test_errors_are_not_cached(anon, incident):
    for _ in range(2):
        response = anon.get("/api/v1/incidents/?status=maybe")
        assert response.status_code == 400
        assert "Accepted values" in response.json()["status"][0]
    assert anon.get("/api/v1/incidents/notacode000/").status_code == 404
    assert len(pagecache.process_cache) == 0


def test_random_queries_cannot_push_out_the_pages(
    anon, client, incident, settings, django_assert_num_queries
):
    settings.STATUSPAGE_REVISION_TTL = 60
    client.get("/")
    start = timezone.now() - timedelta(days=30)
    for n in range(pagecache.QUERY_CACHE_MAX_ENTRIES + 50):
        after = (start + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert anon.get("/api/v1/incidents/", {"started_after": after}).status_code == 200
    assert len(pagecache.process_cache._queries.entries) == pagecache.QUERY_CACHE_MAX_ENTRIES
    with django_assert_num_queries(0):  # the status page is still in the process copy
        assert client.get("/").status_code == 200


def test_the_query_names_are_the_views_own_sorted():
    names = known_params(IncidentViewSet)
    assert names == tuple(sorted(names))
    assert {"status", "kind", "q", "ordering", "cursor", "page_size", "format"} <= set(names)
    assert "page" not in names  # cursor pagination
