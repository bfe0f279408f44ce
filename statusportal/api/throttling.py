"""The API's throttles: DRF's, counting the client as ``statusportal.clientip`` finds it
(``TRUSTED_PROXIES``, not any ``X-Forwarded-For``) in the shared ``ratelimit`` cache."""

from django.core.cache.backends.base import BaseCache
from rest_framework import throttling

from statusportal import ratelimit
from statusportal.clientip import client_key


class SharedCacheMixin:
    @property
    def cache(self) -> BaseCache:
        return ratelimit.counters()

    def get_ident(self, request) -> str:
        return client_key(request)


class AnonRateThrottle(SharedCacheMixin, throttling.AnonRateThrottle):
    """Anonymous reads, per client address."""


class UserRateThrottle(SharedCacheMixin, throttling.UserRateThrottle):
    """Token holders, per user (per client address for anonymous requests)."""
