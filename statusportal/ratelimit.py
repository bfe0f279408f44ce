"""Fixed-window counters shared by every process: the base of every rate limit.

``hit(scope, key, limit, window)`` counts one event for ``key`` (an address, an e-mail
address) in the current window of ``window`` seconds and tells whether it is still within
``limit``. The counters live in the ``ratelimit`` cache (``RATELIMIT_CACHE``): Redis when
one is configured (atomic ``INCR``), else Django's database cache in the table
``statusportal_ratelimit`` that a migration creates — never a process's own memory, where
each web worker would keep its own count and N workers would allow N times the limit.

A cache that fails is a count of zero (the limit fails open): a rate limit is no reason to
refuse service. On the database cache an increment is a read and a write; it runs in a
transaction that holds a lock on the counter (a PostgreSQL advisory lock; SQLite takes its
write lock at the start of the transaction), so concurrent requests in several processes
are counted one after the other, never both as the last allowed one.
"""

import hashlib
import time

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.db import DatabaseCache
from django.db import connection, transaction

RATELIMIT_CACHE = "ratelimit"


def counters() -> BaseCache:
    """The ``ratelimit`` cache, or the default one where CACHES has no such entry."""
    alias = RATELIMIT_CACHE if RATELIMIT_CACHE in settings.CACHES else DEFAULT_CACHE_ALIAS
    return caches[alias]


def _key(scope: str, key: str, window: int, now: float) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"rl:{scope}:{window}:{int(now // window)}:{digest}"


def hit(scope: str, key: str, limit: int, window: int, *, now: float | None = None) -> bool:
    """Count one event; True while at most ``limit`` were counted in this window."""
    return count(scope, key, window, now=now, increment=True) <= limit


def count(
    scope: str, key: str, window: int, *, now: float | None = None, increment: bool = False
) -> int:
    """Events counted for ``key`` in the current window (after adding one if asked)."""
    cache_key = _key(scope, key, window, time.time() if now is None else now)
    store = counters()
    try:
        if not increment:
            return int(store.get(cache_key) or 0)
        if isinstance(store, DatabaseCache):
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [cache_key])
                return _increment(store, cache_key, window)
        return _increment(store, cache_key, window)
    except Exception:
        return 0


def _increment(store: BaseCache, cache_key: str, window: int) -> int:
    store.add(cache_key, 0, timeout=window + 1)
    try:
        return int(store.incr(cache_key))
    except ValueError:  # expired between add and incr
        store.set(cache_key, 1, timeout=window + 1)
        return 1


def normalise_email(address: str) -> str:
    """The mailbox an address reaches, as a limit counts it: lower case, without a
    ``+tag`` in the local part (``Ann+x@Example.COM`` → ``ann@example.com``)."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at:
        return address.strip().lower()
    local = local.split("+", 1)[0] or local
    return f"{local}@{domain}"
