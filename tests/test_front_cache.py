"""A cached public read is answered by the first middleware, before sessions, CSRF,
authentication, lockout and CORS: no query, no session, no cache server (from the process
copy), the same headers as through the stack, and never someone else's answer."""

import gzip

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.urls import path

from incidents import services
from statusportal import frontcache, pagecache
from statusportal.api import throttling
from statusportal.pagecache import public_cache
from statusportal.urls import urlpatterns as site_urlpatterns


class CountingMiddleware:
    """Second in the stack in these tests: counts the requests that went past the front."""

    calls = 0

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        CountingMiddleware.calls += 1
        return self.get_response(request)


@public_cache
def whoami(request: HttpRequest) -> HttpResponse:
    # A public page that shows its reader's name (no page of the site does today).
    user = getattr(request, "user", AnonymousUser())
    return HttpResponse(f"hello {user.username or 'stranger'}", content_type="text/plain")


urlpatterns = [path("whoami/", whoami), *site_urlpatterns]


class CountingBackend:
    """The shared cache, counting every call made to it."""

    def __init__(self, backend):
        self.backend = backend
        self.calls: list[str] = []

    def __getattr__(self, name):
        attribute = getattr(self.backend, name)
        if callable(attribute):

            def counted(*args, **kwargs):
                self.calls.append(name)
                return attribute(*args, **kwargs)

            return counted
        return attribute


@pytest.fixture
def stack(settings):
    """The site's middleware with a counter right behind the front."""
    behind = settings.MIDDLEWARE.index("statusportal.frontcache.FrontCacheMiddleware") + 1
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[:behind],
        f"{__name__}.CountingMiddleware",
        *settings.MIDDLEWARE[behind:],
    ]
    CountingMiddleware.calls = 0
    return CountingMiddleware


@pytest.fixture
def shared_cache(monkeypatch):
    """Every call the page cache makes to the shared cache server."""
    counting = CountingBackend(pagecache._raw_backend())
    monkeypatch.setattr(pagecache, "_raw_backend", lambda: counting)
    return counting


@pytest.fixture
def incident(open_incident):
    return open_incident(name="API errors", body="Looking into it.")


@pytest.fixture
def reads(incident):
    return [
        "/",
        f"/incidents/{incident.code}/",
        "/history/",
        "/uptime/",
        "/history.atom",
        "/api/v2/summary.json",
        "/api/v1/incidents/?status=investigating",
        f"/api/v1/incidents/{incident.code}/",
        "/api/v1/components/",
    ]


@pytest.fixture
def no_throttles(monkeypatch):
    # The API throttles count every read, cached or not, in the counters' cache; here the
    # subject is the page cache alone.
    for throttle in (throttling.AnonRateThrottle, throttling.UserRateThrottle):
        monkeypatch.setattr(throttle, "THROTTLE_RATES", {"anon": None, "user": None})


def warm(client, url, **headers):
    """Render, then serve once through the stack (where the front learns its headers)."""
    client.get(url, **headers)
    return client.get(url, **headers)


def test_a_hit_runs_no_middleware_no_query_and_no_cache_call(
    client, reads, stack, shared_cache, settings, no_throttles, django_assert_num_queries
):
    settings.STATUSPAGE_REVISION_TTL = 60
    for url in reads:
        through_stack = warm(client, url)
        assert through_stack.status_code == 200, url
        before, shared_cache.calls[:] = stack.calls, []
        with django_assert_num_queries(0):
            front = client.get(url)
        assert stack.calls == before, f"{url} went through the stack"
        assert shared_cache.calls == [], url
        assert front.content == through_stack.content
        assert dict(front.headers) == dict(through_stack.headers), url


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ACCEPT_ENCODING": "gzip"},
        {"HTTP_ORIGIN": "https://dashboard.example"},
        {"HTTP_ORIGIN": "https://dashboard.example", "HTTP_ACCEPT_ENCODING": "gzip, br"},
    ],
)
def test_front_answers_keep_gzip_vary_and_cors(client, reads, stack, no_throttles, headers):
    for url in reads:
        through_stack = warm(client, url, **headers)
        before = stack.calls
        front = client.get(url, **headers)
        assert stack.calls == before, url
        assert dict(front.headers) == dict(through_stack.headers), url
        assert front.content == through_stack.content
    packed = client.get("/", HTTP_ACCEPT_ENCODING="gzip")
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    assert b"API errors" in gzip.decompress(packed.content)
    summary = client.get("/api/v2/summary.json", HTTP_ORIGIN="https://dashboard.example")
    assert summary["Access-Control-Allow-Origin"] == "*"


def test_conditional_gets_are_answered_304_at_the_front(client, reads, stack, no_throttles):
    for url in reads:
        etag = client.get(url)["ETag"]
        through_stack = client.get(url, HTTP_IF_NONE_MATCH=etag)
        before = stack.calls
        front = client.get(url, HTTP_IF_NONE_MATCH=etag)
        assert front.status_code == through_stack.status_code == 304, url
        assert stack.calls == before, url
        assert dict(front.headers) == dict(through_stack.headers), url


def test_a_write_shows_at_once_through_the_front(client, incident, stack):
    url = f"/incidents/{incident.code}/"
    old = warm(client, url)
    client.get(url)
    services.post_update(incident, status="identified", body="Found a bad deploy.")
    fresh = client.get(url)
    assert "Found a bad deploy." in fresh.content.decode()
    assert fresh["ETag"] != old["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=old["ETag"]).status_code == 200


@pytest.mark.urls(__name__)
def test_a_signed_in_operator_gets_their_own_page(client, db, django_user_model, stack):
    for _ in range(3):
        assert client.get("/whoami/").content == b"hello stranger"
    operator = django_user_model.objects.create_user("alice", password="x" * 20, is_staff=True)
    client.force_login(operator)
    before = stack.calls
    assert client.get("/whoami/").content == b"hello alice"
    assert client.get("/whoami/").content == b"hello alice"
    assert stack.calls == before + 2  # through the stack, where the session is read
    client.logout()
    # Nor was her page stored for others.
    for _ in range(2):
        assert client.get("/whoami/").content == b"hello stranger"


@pytest.mark.urls(__name__)
def test_a_stale_session_cookie_still_gets_the_cached_page(client, db, stack, settings):
    warm(client, "/whoami/")
    client.cookies[settings.SESSION_COOKIE_NAME] = "expired-long-ago"
    before = stack.calls
    response = client.get("/whoami/")
    assert response.content == b"hello stranger"
    assert stack.calls == before + 1  # the stack asked the session, which knew nobody
    assert response.has_header("ETag")


def test_a_request_with_authorization_is_not_served_from_the_anonymous_cache(
    client, reads, stack, no_throttles
):
    for url in reads:
        warm(client, url)
        before = stack.calls
        response = client.get(url, HTTP_AUTHORIZATION="Token not-a-real-token")
        assert stack.calls == before + 1, url
        if url.startswith("/api/v1/"):
            assert response.status_code == 401, url  # the API checked the token


def test_a_request_for_a_host_not_allowed_is_refused_by_the_stack(client, reads, stack):
    warm(client, "/")
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400


def test_a_cookie_setting_answer_is_never_learned(rf, db):
    spec = pagecache.CacheSpec()
    request = rf.get("/")
    response = HttpResponse("x")
    response.set_cookie("tracking", "1")
    frontcache._learn(spec, request, response)
    assert not any(key[0] == id(spec) for key in frontcache._learned)
