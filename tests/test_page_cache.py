"""Public pages are cached, validated (ETag/Last-Modified → 304), invalidated by every
write, and still served from the database when the cache server is down or hangs."""

import gzip
import logging
import socket
import threading
import time

import pytest
from django.test import override_settings

from incidents import services
from statusportal import pagecache
from statusportal.env import cache_config
from tests.services import free_port

PAGES = ["/", "/history/", "/uptime/", "/history.atom", "/history.rss"]


@pytest.fixture
def incident(open_incident):
    return open_incident(name="API errors", body="Looking into it.")


@pytest.fixture(autouse=True)
def _closed_breaker():
    pagecache.breaker.reset()
    yield
    pagecache.breaker.reset()


def all_pages(incident):
    return [*PAGES, f"/incidents/{incident.code}/"]


def test_pages_carry_validators_and_cdn_friendly_cache_control(client, incident, settings):
    settings.STATUSPAGE_BROWSER_MAX_AGE = 15
    settings.STATUSPAGE_CDN_MAX_AGE = 120
    for path in all_pages(incident):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Cache-Control"] == "public, max-age=15, s-maxage=120"
        assert response["ETag"].startswith('"')
        assert response["Last-Modified"].endswith("GMT")


def test_clients_that_accept_gzip_get_the_page_compressed(client, incident):
    plain = client.get("/")
    packed = client.get("/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    assert gzip.decompress(packed.content) == plain.content
    assert len(packed.content) * 5 < len(plain.content)
    # Each representation has its own strong validator, and both revalidate to 304.
    assert packed["ETag"] != plain["ETag"]
    again = client.get("/", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=packed["ETag"])
    assert again.status_code == 304
    # A second reader is served the stored compressed copy, byte for byte.
    assert client.get("/", HTTP_ACCEPT_ENCODING="gzip").content == packed.content


def test_conditional_get_answers_304_without_rendering(
    client, incident, django_assert_max_num_queries
):
    for path in all_pages(incident):
        first = client.get(path)
        with django_assert_max_num_queries(1):  # the revision only
            by_etag = client.get(path, HTTP_IF_NONE_MATCH=first["ETag"])
        assert by_etag.status_code == 304, path
        assert by_etag.content == b""
        by_date = client.get(path, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
        assert by_date.status_code == 304, path
        stale = client.get(path, HTTP_IF_NONE_MATCH='"something-else"')
        assert stale.status_code == 200


def test_a_second_reader_is_served_from_the_cache(client, incident, django_assert_num_queries):
    first = client.get("/")
    with django_assert_num_queries(1):  # the revision; no page queries
        second = client.get("/")
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"]


def test_posting_an_update_shows_at_once(client, incident):
    page_path = f"/incidents/{incident.code}/"
    before = {path: client.get(path) for path in ("/", page_path, "/history.atom")}
    services.post_update(incident, status="identified", body="Found a bad deploy.")
    for path, old in before.items():
        response = client.get(path)
        assert "Found a bad deploy." in response.content.decode(), path
        assert response["ETag"] != old["ETag"]
        # A client holding the old ETag gets the new page, not a 304.
        assert client.get(path, HTTP_IF_NONE_MATCH=old["ETag"]).status_code == 200


def test_component_change_invalidates_the_status_page(client, rest):
    assert "All Systems Operational" in client.get("/").content.decode()
    rest.set_status("major_outage")
    assert "Major System Outage" in client.get("/").content.decode()


def test_a_process_reads_the_revision_once_per_ttl(
    client, incident, settings, django_assert_num_queries
):
    settings.STATUSPAGE_REVISION_TTL = 60
    first = client.get("/")
    with django_assert_num_queries(0):  # remembered revision, page from process memory
        second = client.get("/")
    assert second.content == first.content


def test_this_process_shows_its_own_write_at_once_despite_the_ttl(client, incident, settings):
    settings.STATUSPAGE_REVISION_TTL = 60
    path = f"/incidents/{incident.code}/"
    client.get(path)
    services.post_update(incident, status="identified", body="Found a bad deploy.")
    assert "Found a bad deploy." in client.get(path).content.decode()


def test_another_process_write_shows_within_the_ttl(client, incident, settings):
    from django.db.models import F

    from statusportal.models import Revision

    settings.STATUSPAGE_REVISION_TTL = 0.3
    first = client.get("/")
    # Another process bumps the revision: no signal reaches this one.
    Revision.objects.filter(pk=Revision.SINGLETON_ID).update(number=F("number") + 1)
    assert client.get("/")["ETag"] == first["ETag"]  # still within the TTL
    time.sleep(0.35)
    assert client.get("/")["ETag"] != first["ETag"]


@override_settings(CACHES={"default": cache_config("dummy://")})
def test_process_memory_serves_pages_when_the_shared_cache_keeps_nothing(
    client, incident, django_assert_num_queries
):
    first = client.get("/")
    with django_assert_num_queries(1):  # the revision; no page queries
        second = client.get("/")
    assert second.content == first.content


def test_process_cache_stays_within_its_byte_budget(settings):
    settings.STATUSPAGE_PROCESS_CACHE_BYTES = 10_000
    memory = pagecache._ProcessCache()
    for i in range(50):
        memory.put(f"k{i}", {"content": b"x" * 1000, "gzip": None})
    assert memory._bytes <= 10_000
    assert memory.get("k49") is not None  # the newest stay
    assert memory.get("k0") is None  # the oldest went first
    memory.put("huge", {"content": b"x" * 5000, "gzip": None})  # over a quarter: not kept
    assert memory.get("huge") is None


def test_not_found_pages_are_not_cached(client, db):
    response = client.get("/incidents/unknown/")
    assert response.status_code == 404
    assert "ETag" not in response


class SilentServer:
    """A TCP server that accepts connections and never answers: a hung Redis."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections.append(conn)  # hold it open, say nothing

    def close(self):
        self.stopped.set()
        self.thread.join(timeout=2)
        for conn in self.connections:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent_redis():
    server = SilentServer()
    yield f"redis://127.0.0.1:{server.port}/3"
    server.close()


@pytest.fixture
def closed_redis():
    return f"redis://127.0.0.1:{free_port()}/3"


def test_a_cache_call_gives_up_within_a_fraction_of_a_second():
    # What bounds a reader's wait when the cache server hangs: the socket timeouts.
    options = cache_config("redis://127.0.0.1:6379/3")["OPTIONS"]
    assert options["SOCKET_CONNECT_TIMEOUT"] <= pagecache.SLOW_SECONDS
    assert options["SOCKET_TIMEOUT"] <= pagecache.SLOW_SECONDS


@pytest.mark.parametrize("redis", ["closed_redis", "silent_redis"])
def test_pages_answer_from_the_database_when_the_cache_is_unreachable(
    client, incident, caplog, request, redis
):
    url = request.getfixturevalue(redis)
    with (
        override_settings(CACHES={"default": cache_config(url)}),
        caplog.at_level(logging.WARNING, logger="statusportal.cache"),
    ):
        for path in all_pages(incident):
            response = client.get(path)
            assert response.status_code == 200, path
            assert b"API errors" in response.content or path == "/uptime/"
            # The first failure opened the breaker: no page after it waits on the cache.
            assert pagecache.breaker.is_open(), path
        # Fresh content still shows up (the cache being down cannot serve stale pages).
        services.post_update(incident, status="identified", body="Found it.")
        assert b"Found it." in client.get(f"/incidents/{incident.code}/").content
    messages = [r.getMessage() for r in caplog.records if r.name == "statusportal.cache"]
    assert any("page cache unavailable" in m for m in messages)
    # The failure is logged once per bypass period, not once per request.
    assert len([m for m in messages if "page cache unavailable" in m]) == 1


def test_after_a_cache_failure_requests_skip_the_cache_for_a_while(client, incident):
    server = SilentServer()
    try:
        with override_settings(
            CACHES={"default": cache_config(f"redis://127.0.0.1:{server.port}/3")}
        ):
            client.get("/")  # pays one timeout and opens the breaker
            assert pagecache.breaker.is_open()
            time.sleep(0.2)  # let the server thread take any connection still in its backlog
            tried = len(server.connections)
            assert tried >= 1
            for _ in range(5):
                assert client.get("/").status_code == 200
            time.sleep(0.2)
            # Nobody knocked on the hung server again: no reader paid another timeout.
            assert len(server.connections) == tried
    finally:
        server.close()


def test_pages_use_a_real_redis_cache(client, incident, django_assert_num_queries):
    from tests.services import redis_url

    url = redis_url()
    with override_settings(CACHES={"default": cache_config(url)}):
        from django.core.cache import cache

        cache.clear()
        first = client.get("/")
        with django_assert_num_queries(1):
            second = client.get("/")
        assert second.content == first.content
        assert not pagecache.breaker.is_open()
        cache.clear()
