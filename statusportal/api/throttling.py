"""The API's throttles: DRF's, counting the client as ``statusportal.clientip`` finds it
(``TRUSTED_PROXIES``, not any ``X-Forwarded-For``) in the shared ``ratelimit`` cache."""

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


class AnonRateThrottle(SharedCacheMixin, throttling.AnonRateThrottle):
    """Anonymous reads, per client address."""


class UserRateThrottle(SharedCacheMixin, throttling.UserRateThrottle):
    """Token holders, per user (per client address for anonymous requests)."""
