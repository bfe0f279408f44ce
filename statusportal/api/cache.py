"""``/api/v1/`` reads through the page cache (docs/architecture.md, "The page cache").

A viewset with ``CachedReadsMixin`` has its list and detail reads (``GET``/``HEAD``)
cached like the public pages: the key holds the path and the query parameters the view
knows (its FilterSet's filters, ordering, pagination and ``format``) sorted by name, so
``?a=1&b=2`` and ``?b=2&a=1`` are one entry and a made-up parameter is none; the revision
invalidates it; answers carry a revision ``ETag`` (``304`` on a match) and
``Cache-Control: public, no-cache`` (any cache may keep it but asks again each time, so
clients see a change within the revision's TTL and a poll usually costs a 304).

Only JSON is cached (the browsable API's HTML and an ``Authorization`` request always run
the view). An answer from the cache still counts against the API's throttles: it skips
the view, not the limit.
"""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from statusportal.api.filters import StrictOrderingFilter
from statusportal.pagecache import CacheSpec, cached

API_CACHE_CONTROL = "public, no-cache"

READ_ACTIONS = frozenset({"list", "retrieve"})


def known_params(view_class: type[APIView]) -> tuple[str, ...]:
    """The query parameters ``view_class`` reads, sorted: the normalised query's names."""
    names = {api_settings.URL_FORMAT_OVERRIDE or "format"}
    filterset_class = getattr(view_class, "filterset_class", None)
    if filterset_class is not None:
        names.update(filterset_class.base_filters)
    backends = getattr(view_class, "filter_backends", api_settings.DEFAULT_FILTER_BACKENDS)
    if any(isinstance(b, type) and issubclass(b, StrictOrderingFilter) for b in backends):
        names.add(StrictOrderingFilter.ordering_param)
    pagination = getattr(view_class, "pagination_class", None)
    for attribute in ("page_query_param", "cursor_query_param", "page_size_query_param"):
        name = getattr(pagination, attribute, None)
        if name:
            names.add(name)
    return tuple(sorted(name for name in names if name))


def wants_json(request: HttpRequest) -> bool:
    """Whether DRF would answer ``request`` in JSON (the only rendering kept)."""
    requested = request.GET.get(api_settings.URL_FORMAT_OVERRIDE or "format")
    if requested is not None and requested != "json":
        return False
    accept = request.headers.get("Accept", "")
    if not accept:
        return True
    return "text/html" not in accept and ("application/json" in accept or "*/*" in accept)


def throttles_admit(view_class: type[APIView]) -> Callable[[HttpRequest], bool]:
    """Whether the view's throttles let an anonymous ``request`` through (and count it)."""

    def admits(request: HttpRequest) -> bool:
        view = view_class()
        throttles = view.get_throttles()
        if not throttles:
            return True
        # No authenticators: a request without credentials is anonymous.
        drf_request = Request(request, authenticators=())
        return all(throttle.allow_request(drf_request, view) for throttle in throttles)

    return admits


class CachedReadsMixin:
    """List and detail reads of a viewset served through the page cache."""

    @classmethod
    def as_view(cls, actions: Any = None, **initkwargs: Any) -> Any:
        view: Callable[..., HttpResponse] = super().as_view(actions, **initkwargs)  # type: ignore[misc]
        if not actions or actions.get("get") not in READ_ACTIONS:
            return view
        view_class: type[APIView] = cls  # type: ignore[assignment]
        spec = CacheSpec(
            params=known_params(view_class),
            cache_control=API_CACHE_CONTROL,
            admits=throttles_admit(view_class),
            answers=wants_json,
        )
        return cached(view, spec)
