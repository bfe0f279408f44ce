"""Prometheus metrics at /metrics (prometheus-client; see docs/architecture.md,
'The outbox').

The core holds the registry, the page-cache counters and the protected view; apps add
their own collectors from ``AppConfig.ready()`` (``register``), so the core imports no
app. Collectors read the database at scrape time, so every web process reports the same
numbers; the in-process counters (page cache) are per process unless
PROMETHEUS_MULTIPROC_DIR is set (prometheus-client's multiprocess mode).
"""

import ipaddress
import os
import secrets
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseNotFound
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector

from statusportal.clientip import client_ip

PAGE_CACHE = Counter(
    "statusportal_page_cache_requests",
    "Public page requests answered from the page cache (hit) or rendered (miss).",
    ["result"],
)
REQUEST_LATENCY = Histogram(
    "statusportal_request_duration_seconds",
    "Time from a request reaching Django to its response, cache hits included.",
    ["method", "status"],
)
# Label values are bounded: a made-up method or status must not grow the series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_collectors: list[Collector] = []


class RequestLatencyMiddleware:
    """Times every request into ``REQUEST_LATENCY``, by method and status class (2xx,
    3xx, 4xx, 5xx). First in MIDDLEWARE, so a page-cache hit answered by the front cache
    is timed too; a few microseconds a request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in METHODS else "other"
        REQUEST_LATENCY.labels(method, f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started
        )
        return response


def register(collector: Collector) -> None:
    """Add an app's collector (read at scrape time); idempotent for the same object."""
    if collector not in _collectors:
        _collectors.append(collector)


def _scrape_registry() -> CollectorRegistry:
    """The app collectors, plus the counters: this process's, or every process's when
    prometheus-client's multiprocess mode is on."""
    scrape = CollectorRegistry(auto_describe=True)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(scrape)
    else:
        scrape.register(PAGE_CACHE)
        scrape.register(REQUEST_LATENCY)
    for collector in _collectors:
        scrape.register(collector)
    return scrape


def allowed(request: HttpRequest) -> bool | None:
    """True if the request may read the metrics, False if not, None if /metrics is off
    (neither METRICS_TOKEN nor METRICS_ALLOWED_NETWORKS is set)."""
    token, networks = settings.METRICS_TOKEN, settings.METRICS_ALLOWED_NETWORKS
    if not token and not networks:
        return None
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if given and secrets.compare_digest(given.encode(), token.encode()):
            return True
    if networks:
        try:
            address = ipaddress.ip_address(client_ip(request))
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(net, strict=False) for net in networks)
    return False


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """The Prometheus text format; 404 while metrics are off, 403 without the token or
    from outside the allowed networks."""
    verdict = allowed(request)
    if verdict is None:
        return HttpResponseNotFound("metrics are off", content_type="text/plain")
    if not verdict:
        return HttpResponseForbidden("forbidden", content_type="text/plain")
    return HttpResponse(generate_latest(_scrape_registry()), content_type=CONTENT_TYPE_LATEST)
