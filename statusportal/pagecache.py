"""Caching of public pages and JSON, shared by every public view.

``public_cache`` makes a GET view:

1. answer ``304 Not Modified`` when the client's ``If-None-Match``/``If-Modified-Since``
   still matches — without rendering anything;
2. serve the stored rendering from the cache when there is one;
3. otherwise render, store, and serve;

always with ``ETag``, ``Last-Modified`` and ``Cache-Control: public, max-age, s-maxage``.

Freshness comes from the ``Revision`` row: every write that changes a page bumps it in
its own transaction, so the key of every cached page changes at once. Each process reads
the row at most once per ``STATUSPAGE_REVISION_TTL`` (``statusportal.revision``) and
forgets it at once after its own writes. The key also holds the page-time-zone date,
because the uptime bars and "past incidents" roll over at midnight without any write.

The key holds the path and only the query parameters the view declares it uses
(``params``); the view is handed a request without the others. So ``/?anything=<random>``
is the same page, the same ETag and the same cache entry as ``/``: a flood of made-up
query strings is served from the cache, and cannot fill it (nor poison it with a page
rendered from a parameter nobody else sent).

A hit is served from a small in-process LRU (``process_cache``) before the shared cache:
keys hold the revision, so nothing there is ever stale, and a hit then costs neither a
database nor a cache round trip. Answers to a URL with a query string live only there, in
their own bounded segment. The key also holds the scheme and host (absolute links).

Each cached view carries its ``CacheSpec`` (``view.page_cache``), so that
``statusportal.frontcache`` can answer a hit before the middleware stack runs; here, inside
the stack, is where misses render and where requests that the front leaves alone are
answered. A request with ``Authorization`` or a signed-in user's session never reads or
fills the cache (``carries_credentials``, ``_signed_in``). ``statusportal.api.cache``
puts the ``/api/v1`` reads through the same machinery.

The cache is an optimisation only. A cache server that is down or hangs makes a lookup a
logged miss (short socket timeouts in settings), and then the cache is left alone for
``BYPASS_SECONDS`` (a small circuit breaker) so that a rush of readers is served from the
database at full speed instead of each waiting for a timeout.

One concern, kept in one module although it passes 400 lines: the page cache's keys,
storage and conditional answers, which must agree with each other exactly.
"""

import functools
import gzip
import hashlib
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, overload

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, QueryDict
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date, parse_etags, parse_http_date_safe
from django_redis.cache import RedisCache

from statusportal import revision as revisions
from statusportal.metrics import PAGE_CACHE
from statusportal.timefmt import page_zone

logger = logging.getLogger("statusportal.cache")

# Headers of the original response worth keeping in the cache.
# (``Allow`` and ``Vary`` are what Django REST framework adds to its views' answers.)
KEPT_HEADERS = ("Content-Type", "Content-Language", "Access-Control-Allow-Origin", "Allow", "Vary")

# Pages above this size are also stored gzipped (once, when cached) and served so to
# clients that accept it: the status page's uptime tooltips compress about 20 times.
GZIP_MIN_BYTES = 1024
_accepts_gzip = re.compile(r"\bgzip\b")


# After a failed or slow cache call, skip the cache for this long (per process).
BYPASS_SECONDS = 10.0
# A cache call slower than this counts as a failure: the cache is there to be fast.
SLOW_SECONDS = 0.5


class _Breaker:
    """Remembers, per process, until when the cache is bypassed."""

    open_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self.open_until

    def trip(self, reason: str) -> None:
        if not self.is_open():
            logger.warning(
                "page cache unavailable (%s); serving pages from the database for %ss",
                reason,
                BYPASS_SECONDS,
            )
        self.open_until = time.monotonic() + BYPASS_SECONDS

    def reset(self) -> None:
        self.open_until = 0.0


breaker = _Breaker()


@receiver(setting_changed)
def _reset_on_cache_change(setting, **kwargs):
    # Tests swap CACHES; a new cache deserves a fresh chance.
    if setting == "CACHES":
        breaker.reset()


def _raw_backend():
    """The cache without django-redis' IGNORE_EXCEPTIONS, so failures reach us (and the
    breaker) instead of looking like misses. Other backends are used as they are."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    return backend.client if isinstance(backend, RedisCache) else backend


def _guarded(action: str, call):
    if breaker.is_open():
        return None
    started = time.monotonic()
    try:
        result = call()
    except Exception as exc:
        logger.debug("cache %s failed", action, exc_info=True)
        breaker.trip(f"{action} failed: {exc.__class__.__name__}: {exc}")
        return None
    elapsed = time.monotonic() - started
    if elapsed > SLOW_SECONDS:
        breaker.trip(f"{action} took {elapsed:.2f}s")
    return result


# At most this many pages in a process's memory, however small (on top of the byte bound).
PROCESS_CACHE_MAX_ENTRIES = 1000
# Pages with a query string (``/history/?page=3``, ``/api/v1/incidents/?status=resolved``)
# have their own, smaller share: however many different queries arrive, they only push
# each other out, never the pages without one.
QUERY_CACHE_MAX_ENTRIES = 250
# Keys of pages with a query string start with this; they live only in the process copy.
QUERY_KEY_PREFIX = "pageq:"


class _Segment:
    def __init__(self, max_entries: int, share: float):
        self.max_entries = max_entries
        self.share = share
        self.entries: OrderedDict[str, tuple[dict, int]] = OrderedDict()
        self.bytes = 0


class _ProcessCache:
    """A small LRU of rendered pages in this process's memory, bounded in bytes and in
    entries.

    Its keys hold the revision, so an entry is never stale, only unused; it saves the
    shared cache's round trip and unpickling (for the status page, a large share of a hit).
    Pages with a query string have their own segment (a quarter of the bytes), so a flood
    of distinct queries cannot push out the pages everyone reads.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._pages = _Segment(PROCESS_CACHE_MAX_ENTRIES, 0.75)
        self._queries = _Segment(QUERY_CACHE_MAX_ENTRIES, 0.25)

    def _segment(self, key: str) -> _Segment:
        return self._queries if key.startswith(QUERY_KEY_PREFIX) else self._pages

    @property
    def _bytes(self) -> int:
        return self._pages.bytes + self._queries.bytes

    def get(self, key: str) -> dict | None:
        segment = self._segment(key)
        with self._lock:
            entry = segment.entries.get(key)
            if entry is None:
                return None
            segment.entries.move_to_end(key)
            return entry[0]

    def put(self, key: str, stored: dict) -> None:
        segment = self._segment(key)
        budget = settings.STATUSPAGE_PROCESS_CACHE_BYTES
        limit = int(budget * segment.share)
        size = len(stored["content"]) + len(stored.get("gzip") or b"")
        if size > budget // 4:
            return
        with self._lock:
            entries = segment.entries
            if key in entries:
                return
            entries[key] = (stored, size)
            segment.bytes += size
            while entries and (segment.bytes > limit or len(entries) > segment.max_entries):
                _, (_, dropped) = entries.popitem(last=False)
                segment.bytes -= dropped

    def __len__(self) -> int:
        return len(self._pages.entries) + len(self._queries.entries)

    def clear(self) -> None:
        with self._lock:
            for segment in (self._pages, self._queries):
                segment.entries.clear()
                segment.bytes = 0


process_cache = _ProcessCache()


def _cache_get(key):
    stored = process_cache.get(key)
    if stored is not None or key.startswith(QUERY_KEY_PREFIX):
        return stored
    stored = _guarded("get", lambda: _raw_backend().get(key))
    if stored is not None:
        process_cache.put(key, stored)
    return stored


def _cache_set(key, value, timeout):
    process_cache.put(key, value)
    if not key.startswith(QUERY_KEY_PREFIX):
        _guarded("set", lambda: _raw_backend().set(key, value, timeout))


def _stored_response(stored: dict, *, wants_gzip: bool, headers: dict) -> HttpResponse:
    """The response for a stored rendering, gzipped when the client accepts it."""
    compressed = stored.get("gzip")
    if wants_gzip and compressed:
        response = HttpResponse(compressed, status=stored["status"])
        response["Content-Encoding"] = "gzip"
        headers = {**headers, "etag": _gzip_etag(headers["etag"])}
    else:
        response = HttpResponse(stored["content"], status=stored["status"])
    for name, value in stored["headers"].items():
        response[name] = value
    if compressed:
        patch_vary_headers(response, ("Accept-Encoding",))  # shared caches keep both
    return cache_headers(response, **headers)


def cache_headers(
    response,
    *,
    etag: str,
    last_modified,
    max_age: int,
    s_maxage: int,
    cache_control: str | None = None,
):
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified.timestamp())
    response["Cache-Control"] = cache_control or f"public, max-age={max_age}, s-maxage={s_maxage}"
    return response


def _gzip_etag(etag: str) -> str:
    """The strong ETag of the gzipped representation (it differs from the plain one)."""
    return etag[:-1] + '-gz"'


def _not_modified(request, etag: str, last_modified) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match:
        tags = parse_etags(if_none_match)
        return etag in tags or _gzip_etag(etag) in tags or if_none_match.strip() == "*"
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    return since is not None and int(last_modified.timestamp()) <= since


def only_params(request: HttpRequest, params: Iterable[str]) -> str:
    """Keep in ``request`` only the query parameters named in ``params`` (in that order)
    and answer the canonical path with them: what the cache key is made of."""
    kept = QueryDict(mutable=True)
    for name in params:
        if name in request.GET:
            kept.setlist(name, request.GET.getlist(name))
    query = kept.urlencode()
    request.GET = QueryDict(query)
    request.META["QUERY_STRING"] = query
    return f"{request.path}?{query}" if query else request.path


def carries_credentials(request: HttpRequest) -> bool:
    """Whether the request may belong to someone: a session cookie or an ``Authorization``
    header. Such a request is never answered from, nor stored in, the cache of anonymous
    responses (a page could show its user something others must not see)."""
    return "HTTP_AUTHORIZATION" in request.META or settings.SESSION_COOKIE_NAME in request.COOKIES


def _signed_in(request: HttpRequest) -> bool:
    # Inside the stack a session cookie may be a stale one of nobody; ask the session.
    if "HTTP_AUTHORIZATION" in request.META:
        return True
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False
    user = getattr(request, "user", None)
    return user is None or bool(user.is_authenticated)


class Lookup:
    """What one request's cache key and validators are (computed once per request)."""

    __slots__ = ("headers", "key", "looked_up", "spec", "stored")

    def __init__(self, spec: "CacheSpec", key: str, headers: dict[str, Any]):
        self.spec = spec
        self.key = key
        self.headers = headers
        self.stored: dict | None = None
        self.looked_up = False


class CacheSpec:
    """How one view is cached: the query parameters it reads, its ``Cache-Control``, and
    for API views who may be served without running the view (``admits``, the API's
    throttles) and which requests the stored rendering answers (``answers``, JSON only)."""

    def __init__(
        self,
        *,
        params: Iterable[str] = (),
        max_age: int | None = None,
        s_maxage: int | None = None,
        cache_control: str | None = None,
        admits: Callable[[HttpRequest], bool] | None = None,
        answers: Callable[[HttpRequest], bool] | None = None,
    ):
        self.params = tuple(params)
        self.max_age = max_age
        self.s_maxage = s_maxage
        self.cache_control = cache_control
        self.admits = admits or (lambda request: True)
        self.answers = answers or (lambda request: True)

    def lookup(self, request: HttpRequest) -> Lookup:
        """The key and validators for ``request`` (and ``request`` left with only the
        parameters the view reads)."""
        found = getattr(request, "_page_cache_lookup", None)
        if found is not None and found.spec is self:
            return found
        browser_age = settings.STATUSPAGE_BROWSER_MAX_AGE if self.max_age is None else self.max_age
        shared_age = settings.STATUSPAGE_CDN_MAX_AGE if self.s_maxage is None else self.s_maxage
        revision = revisions.current()
        day = timezone.now().astimezone(page_zone()).date().isoformat()
        canonical = only_params(request, self.params)
        # The host and scheme too: pagination links and feeds are absolute URLs.
        origin = f"{request.scheme}://{request.get_host()}"
        material = f"{origin}{canonical}|{revision.number}|{revision.changed_at}|{day}"
        digest = hashlib.sha256(material.encode()).hexdigest()[:32]
        headers: dict[str, Any] = {
            "etag": f'"{digest}"',
            "last_modified": revision.changed_at,
            "max_age": browser_age,
            "s_maxage": shared_age,
            "cache_control": self.cache_control,
        }
        prefix = QUERY_KEY_PREFIX if request.META["QUERY_STRING"] else "page:"
        found = Lookup(self, f"{prefix}{digest}", headers)
        request._page_cache_lookup = found  # type: ignore[attr-defined]
        return found

    def answer(self, request: HttpRequest, found: Lookup) -> HttpResponse | None:
        """The answer from the validators or the cache alone, or None when the view must
        run (a miss, or a request the throttles refuse, which the view then answers)."""
        if _not_modified(request, found.headers["etag"], found.headers["last_modified"]):
            if not self.admits(request):
                return None
            return cache_headers(HttpResponseNotModified(), **found.headers)
        if not found.looked_up:
            found.looked_up = True
            found.stored = _cache_get(found.key)
            PAGE_CACHE.labels("miss" if found.stored is None else "hit").inc()
        if found.stored is None or not self.admits(request):
            return None
        return _stored_response(found.stored, wants_gzip=wants_gzip(request), headers=found.headers)

    def store(self, found: Lookup, response: HttpResponse) -> dict:
        """Store a fresh rendering of the view."""
        content = response.content
        stored = found.stored = {
            "content": content,
            "gzip": gzip.compress(content, 6, mtime=0) if len(content) >= GZIP_MIN_BYTES else None,
            "status": response.status_code,
            "headers": {h: response[h] for h in KEPT_HEADERS if h in response},
        }
        # Bounded by the revision in the key; the timeout only frees memory.
        _cache_set(found.key, stored, max(found.headers["s_maxage"], 60) * 10)
        return stored


def wants_gzip(request: HttpRequest) -> bool:
    return bool(_accepts_gzip.search(request.headers.get("Accept-Encoding", "")))


def cached(view_func: Callable[..., HttpResponse], spec: CacheSpec) -> Callable[..., HttpResponse]:
    """``view_func`` served through the page cache as ``spec`` says; the returned view
    carries ``spec`` as ``page_cache`` so that the front layer can answer before the
    middleware stack runs (statusportal.frontcache)."""

    @functools.wraps(view_func)
    def wrapper(request, *args, **kwargs):
        if (
            request.method not in ("GET", "HEAD")
            or _signed_in(request)
            or not spec.answers(request)
        ):
            return view_func(request, *args, **kwargs)
        found = spec.lookup(request)
        response = spec.answer(request, found)
        if response is None:
            refused = found.stored is not None  # by the throttles: the view says how
            response = view_func(request, *args, **kwargs)
            if hasattr(response, "render") and callable(response.render):
                response = response.render()
            if refused or response.status_code != 200 or response.streaming:
                return response
            stored = spec.store(found, response)
            request._page_cache_answered = "view"
            return _stored_response(stored, wants_gzip=wants_gzip(request), headers=found.headers)
        request._page_cache_answered = "cache"
        return response

    wrapper.page_cache = spec  # type: ignore[attr-defined]
    return wrapper


_P = ParamSpec("_P")


@overload
def public_cache(view: Callable[_P, HttpResponse]) -> Callable[_P, HttpResponse]: ...
@overload
def public_cache(
    view: None = None,
    *,
    max_age: int | None = None,
    s_maxage: int | None = None,
    params: Iterable[str] = (),
) -> Callable[[Callable[_P, HttpResponse]], Callable[_P, HttpResponse]]: ...
def public_cache(
    view=None,
    *,
    max_age: int | None = None,
    s_maxage: int | None = None,
    params: Iterable[str] = (),
):
    """Decorate a public GET view (HTML page, feed or JSON) as described above; ``params``
    names the query parameters it reads (all others are dropped before it runs)."""
    params = tuple(params)

    def decorator(view_func):
        return cached(view_func, CacheSpec(params=params, max_age=max_age, s_maxage=s_maxage))

    if view is not None:
        return decorator(view)
    return decorator
