"""Made-up query strings cannot inflate the page cache: a public page ignores the
parameters it does not use, so ``/?x=<random>`` is a hit on ``/``; the cache is bounded."""

import uuid

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from incidents import history_pages, pages
from statusportal import pagecache

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(open_incident):
    return open_incident(name="API errors", body="Looking into it.")


@pytest.fixture
def renders(monkeypatch):
    """Counts the renderings of the status and history pages (cache misses)."""
    counts = {"status": 0, "history": 0}
    status_page, history_page = pages.status_page, history_pages.history_page

    def counting_status(*args, **kwargs):
        counts["status"] += 1
        return status_page(*args, **kwargs)

    def counting_history(*args, **kwargs):
        counts["history"] += 1
        return history_page(*args, **kwargs)

    monkeypatch.setattr(pages, "status_page", counting_status)
    monkeypatch.setattr(history_pages, "history_page", counting_history)
    return counts


@pytest.fixture
def stored_keys(monkeypatch):
    """Every key written to the shared cache."""
    keys = []
    original = pagecache._cache_set

    def recording(key, value, timeout):
        keys.append(key)
        return original(key, value, timeout)

    monkeypatch.setattr(pagecache, "_cache_set", recording)
    return keys


def test_a_flood_of_random_query_strings_is_one_rendering_and_one_entry(
    client, incident, renders, stored_keys
):
    first = client.get("/")
    etags = set()
    for _ in range(200):
        response = client.get(f"/?{uuid.uuid4().hex}={uuid.uuid4().hex}&utm_source=x")
        assert response.status_code == 200
        etags.add(response["ETag"])
    assert renders["status"] == 1
    assert etags == {first["ETag"]}
    assert len(set(stored_keys)) == 1
    assert len(pagecache.process_cache) == 1


def test_a_used_parameter_still_selects_its_page(client, incident, renders, stored_keys):
    client.get("/history/")
    client.get("/history/?page=1")
    client.get("/history/?page=1&junk=1")
    for _ in range(20):
        client.get(f"/history/?junk={uuid.uuid4().hex}")
    assert renders["history"] == 2  # "/history/" and "/history/?page=1"
    assert len(set(stored_keys)) == 2


def test_the_view_never_sees_parameters_it_did_not_declare():
    seen = []

    @pagecache.public_cache(params=("page",))
    def view(request):
        seen.append((dict(request.GET), request.get_full_path()))
        return HttpResponse("ok")

    view(RequestFactory().get("/x/", {"page": "2", "q": "<script>"}))
    assert seen == [({"page": ["2"]}, "/x/?page=2")]


def test_the_process_cache_is_bounded_in_entries_and_bytes(settings, monkeypatch):
    settings.STATUSPAGE_PROCESS_CACHE_BYTES = 400_000
    monkeypatch.setattr(pagecache, "PROCESS_CACHE_MAX_ENTRIES", 50)
    cache = pagecache._ProcessCache()
    for number in range(500):
        cache.put(f"page:{number}", {"content": b"x" * 100, "gzip": None})
    assert len(cache) == 50
    assert cache.get("page:499") is not None and cache.get("page:0") is None
    for number in range(500):
        cache.put(f"big:{number}", {"content": b"x" * 90_000, "gzip": None})
    assert len(cache) * 90_000 <= 400_000
