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
database nor a cache round trip.

The cache is an optimisation only. A cache server that is down or hangs makes a lookup a
logged miss (short socket timeouts in settings), and then the cache is left alone for
``BYPASS_SECONDS`` (a small circuit breaker) so that a rush of readers is served from the
database at full speed instead of each waiting for a timeout.
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
from django.utils.http import http_date, parse_etags, parse_http_date_safe
from django_redis.cache import RedisCache

from statusportal import revision as revisions
from statusportal.metrics import PAGE_CACHE
from statusportal.timefmt import page_zone

logger = logging.getLogger("statusportal.cache")

# Headers of the original response worth keeping in the cache.
KEPT_HEADERS = ("Content-Type", "Content-Language", "Access-Control-Allow-Origin")

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


class _ProcessCache:
    """A small LRU of rendered pages in this process's memory, bounded in bytes and in
    entries.

    Its keys hold the revision, so an entry is never stale, only unused; it saves the
    shared cache's round trip and unpickling (for the status page, a large share of a hit).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[dict, int]] = OrderedDict()
        self._bytes = 0

    def get(self, key: str) -> dict | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: str, stored: dict) -> None:
        limit = settings.STATUSPAGE_PROCESS_CACHE_BYTES
        size = len(stored["content"]) + len(stored.get("gzip") or b"")
        if size > limit // 4:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = (stored, size)
            self._bytes += size
            while self._entries and (
                self._bytes > limit or len(self._entries) > PROCESS_CACHE_MAX_ENTRIES
            ):
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


process_cache = _ProcessCache()


def _cache_get(key):
    stored = process_cache.get(key)
    if stored is not None:
        return stored
    stored = _guarded("get", lambda: _raw_backend().get(key))
    if stored is not None:
        process_cache.put(key, stored)
    return stored


def _cache_set(key, value, timeout):
    process_cache.put(key, value)
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
        response["Vary"] = "Accept-Encoding"  # shared caches keep both representations
    return cache_headers(response, **headers)


def cache_headers(response, *, etag: str, last_modified, max_age: int, s_maxage: int):
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified.timestamp())
    response["Cache-Control"] = f"public, max-age={max_age}, s-maxage={s_maxage}"
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
        @functools.wraps(view_func)
        def wrapper(request, *args, **kwargs):
            if request.method not in ("GET", "HEAD"):
                return view_func(request, *args, **kwargs)
            browser_age = settings.STATUSPAGE_BROWSER_MAX_AGE if max_age is None else max_age
            shared_age = settings.STATUSPAGE_CDN_MAX_AGE if s_maxage is None else s_maxage
            revision = revisions.current()
            day = timezone.now().astimezone(page_zone()).date().isoformat()
            canonical = only_params(request, params)
            material = f"{canonical}|{revision.number}|{revision.changed_at}|{day}"
            digest = hashlib.sha256(material.encode()).hexdigest()[:32]
            etag = f'"{digest}"'
            last_modified = revision.changed_at
            headers: dict[str, Any] = {
                "etag": etag,
                "last_modified": last_modified,
                "max_age": browser_age,
                "s_maxage": shared_age,
            }
            if _not_modified(request, etag, last_modified):
                return cache_headers(HttpResponseNotModified(), **headers)

            wants_gzip = bool(_accepts_gzip.search(request.headers.get("Accept-Encoding", "")))
            key = f"page:{digest}"
            stored = _cache_get(key)
            PAGE_CACHE.labels("miss" if stored is None else "hit").inc()
            if stored is None:
                response = view_func(request, *args, **kwargs)
                if hasattr(response, "render") and callable(response.render):
                    response = response.render()
                if response.status_code != 200 or response.streaming:
                    return response
                content = response.content
                stored = {
                    "content": content,
                    "gzip": gzip.compress(content, 6, mtime=0)
                    if len(content) >= GZIP_MIN_BYTES
                    else None,
                    "status": response.status_code,
                    "headers": {h: response[h] for h in KEPT_HEADERS if h in response},
                }
                # Bounded by the revision in the key; the timeout only frees memory.
                _cache_set(key, stored, max(shared_age, 60) * 10)
            return _stored_response(stored, wants_gzip=wants_gzip, headers=headers)

        return wrapper

    if view is not None:
        return decorator(view)
    return decorator
