"""Each pytest-xdist worker gets Redis databases of its own.

Tests empty the cache (``cache.clear()`` is a ``FLUSHDB``) and the test broker between
tests; two workers sharing a database would empty each other's rate-limit counters and
queues mid-test. The first worker keeps the configured numbers; worker N moves them by
8·N (modulo Redis's 16 databases), which keeps apart the two workers `make test` runs.
Called from tests/conftest.py before any test touches a cache.
"""

import os
import re

from django.conf import settings
from django.test.signals import setting_changed

_URL_VARIABLES = ("REDIS_URL", "CACHE_URL", "TEST_REDIS_URL", "CELERY_BROKER_URL")


def worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


def moved_db(db: int, index: int) -> int:
    return (db + 8 * index) % 16


def moved_url(url: str, index: int) -> str:
    """``url`` pointing at this worker's database (Redis URLs only)."""
    if not url.startswith(("redis://", "rediss://")):
        return url
    match = re.match(r"^(redis?s?://[^/]*/)(\d+)(\?.*)?$", url)
    if match:
        return f"{match[1]}{moved_db(int(match[2]), index)}{match[3] or ''}"
    base, _, query = url.partition("?")
    return f"{base.rstrip('/')}/{moved_db(0, index)}" + (f"?{query}" if query else "")


def isolate() -> None:
    index = worker_index()
    if not index:
        return
    for name in _URL_VARIABLES:
        if os.environ.get(name):
            os.environ[name] = moved_url(os.environ[name], index)
    os.environ["TEST_BROKER_DB"] = str(moved_db(int(os.environ.get("TEST_BROKER_DB", "5")), index))
    caches = {}
    for alias, config in settings.CACHES.items():
        location = config.get("LOCATION")
        if isinstance(location, str):
            config = {**config, "LOCATION": moved_url(location, index)}
        caches[alias] = config
    settings.CACHES = caches
    setting_changed.send(sender=None, setting="CACHES", value=caches, enter=True)
