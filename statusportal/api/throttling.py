"""The API's throttles: DRF's, counting the client as ``statusportal.clientip`` finds it
(``TRUSTED_PROXIES``, not any ``X-Forwarded-For``) in the shared ``ratelimit`` cache."""

from typing import Any

from rest_framework import throttling
from rest_framework.request import Request

from statusportal import ratelimit
from statusportal.clientip import client_key


class SharedCacheMixin(throttling.SimpleRateThrottle):
    def __init__(self) -> None:
        # Looked up per request (throttles are made per request), so tests that swap
        # CACHES are seen.
        self.cache = ratelimit.counters()
        super().__init__()

    def get_ident(self, request: Request) -> str:
        return client_key(request)

    def allow_request(self, request: Request, view: Any) -> bool:
        # A fixed window counted with one atomic increment (statusportal.ratelimit), not
        # DRF's list of request times read and written back: two workers answering at
        # once would each write back their own list, and both requests would pass.
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        limit, window = self.parse_rate(self.rate)
        if limit is None or window is None:
            return True
        self.window, self.now = window, self.timer()
        return ratelimit.hit(self.scope or "api", key, limit, window, now=self.now)

    def wait(self) -> float | None:
        """Seconds until the current window ends (the Retry-After of a 429)."""
        window = getattr(self, "window", None)
        if window is None:
            return None
        return float(window - (self.now % window))


class AnonRateThrottle(SharedCacheMixin, throttling.AnonRateThrottle):
    """Anonymous reads, per client address."""


class UserRateThrottle(SharedCacheMixin, throttling.UserRateThrottle):
    """Token holders, per user (per client address for anonymous requests)."""
