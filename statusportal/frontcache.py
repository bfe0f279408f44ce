"""The front of the page cache: the first middleware (behind only the request timer)
answers a cached public read (a page, a feed, ``/api/v2`` or an ``/api/v1`` read) before
sessions, CSRF, authentication, lockout and CORS run (docs/architecture.md, "The page cache").

1. Only ``GET``/``HEAD`` of a URL whose view is cached (``statusportal.pagecache.cached``
   left its ``CacheSpec`` on the view) by a request without a session cookie or an
   ``Authorization`` header; anything else goes down the stack as before.
2. The key and validators are the view's own (``CacheSpec.lookup``, computed once per
   request and reused by the view on a miss): a ``304`` or the stored rendering from the
   process copy (else the shared cache), gzipped when the client accepts it.
3. The headers the stack adds (security headers, CSP, ``X-Frame-Options``, CORS, ``Vary``)
   are learned per view from one cached answer that went through the stack, per kind of
   answer (200 or 304, gzipped or not, with or without ``Origin``, https or not), and
   copied onto the front's answers. Until a kind of answer was seen once, or when it set a
   cookie, the front stays out of the way; a changed setting forgets what was learned.
"""

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import Resolver404, resolve

from statusportal.metrics import PAGE_CACHE
from statusportal.pagecache import (
    CacheSpec,
    _cache_get,
    _not_modified,
    carries_credentials,
    wants_gzip,
)

# Headers each answer sets for itself; everything else the stack added is learned.
OWN_HEADERS = frozenset(
    {
        "etag",
        "last-modified",
        "cache-control",
        "content-length",
        "content-encoding",
        "content-type",
        "content-language",
        "allow",
    }
)

# (id of the view's CacheSpec, kind of answer) → the headers the stack adds to it.
_learned: dict[tuple[int, tuple[int, bool, bool, bool]], dict[str, str]] = {}
# A bound well above views times kinds of answer, in case views are made at run time.
MAX_LEARNED = 1000


@receiver(setting_changed)
def _forget_learned_headers(**kwargs):
    _learned.clear()


def _spec_for(request: HttpRequest) -> CacheSpec | None:
    if request.method not in ("GET", "HEAD") or carries_credentials(request):
        return None
    # Middleware that answers such requests differently (a redirect, a refusal) first.
    if settings.PREPEND_WWW or settings.DISALLOWED_USER_AGENTS:
        return None
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    spec = getattr(match.func, "page_cache", None)
    if not isinstance(spec, CacheSpec) or not spec.answers(request):
        return None
    return spec


def _kind(request: HttpRequest, status: int, gzipped: bool) -> tuple[int, bool, bool, bool]:
    return (status, gzipped, "HTTP_ORIGIN" in request.META, request.is_secure())


def _answer(spec: CacheSpec, request: HttpRequest) -> HttpResponse | None:
    found = spec.lookup(request)
    if _not_modified(request, found.headers["etag"], found.headers["last_modified"]):
        kind = _kind(request, 304, False)
    else:
        if not found.looked_up:
            found.looked_up = True
            found.stored = _cache_get(found.key)
            PAGE_CACHE.labels("miss" if found.stored is None else "hit").inc()
        if found.stored is None:
            return None
        kind = _kind(request, 200, wants_gzip(request) and bool(found.stored["gzip"]))
    added = _learned.get((id(spec), kind))
    if added is None or added.get("Access-Control-Allow-Origin", "*") != "*":
        return None  # not learned yet, or CORS answers each origin with its own name
    response = spec.answer(request, found)
    if response is None:
        return None  # refused by the throttles: the stack answers
    for name, value in added.items():
        response[name] = value
    response["Content-Length"] = str(len(response.content))
    return response


def _learn(spec: CacheSpec, request: HttpRequest, response: HttpResponseBase) -> None:
    if response.cookies or response.status_code not in (200, 304):
        return
    if len(_learned) >= MAX_LEARNED:
        return
    kind = _kind(request, response.status_code, response.has_header("Content-Encoding"))
    _learned[(id(spec), kind)] = {
        name: value for name, value in response.items() if name.lower() not in OWN_HEADERS
    }


class FrontCacheMiddleware:
    """First in ``MIDDLEWARE``: serve cached public reads without the rest of the stack."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        spec = _spec_for(request)
        if spec is not None:
            try:
                response = _answer(spec, request)
            except DisallowedHost:
                response = None  # CommonMiddleware refuses it with its own 400
            if response is not None:
                return response
        response = self.get_response(request)
        # Learn only from an answer the page cache gave without running the view.
        if spec is not None and getattr(request, "_page_cache_answered", "") == "cache":
            _learn(spec, request, response)
        return response
