"""Shared actors and objects for the whole suite."""

import os
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from components.models import Component, ComponentGroup
from incidents import services
from incidents.models import Incident
from statusportal import pagecache, ratelimit, revision
from statusportal.roles import sync_support_staff_group
from subscriptions import pacing
from tests import xdist_services

xdist_services.isolate()

# Hypothesis profiles (tests/hostile/test_renders_everywhere.py). "ci": a fixed seed and
# enough examples to matter within a minute; "long": a local run with many more (README,
# "Development"). Each example renders a dozen pages, so no deadline.
_SLOW_EXAMPLES = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
hypothesis_settings.register_profile(
    "ci",
    max_examples=100,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=_SLOW_EXAMPLES,
)
hypothesis_settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=_SLOW_EXAMPLES
)
hypothesis_settings.register_profile(
    "long", max_examples=2_000, deadline=None, suppress_health_check=_SLOW_EXAMPLES
)
hypothesis_settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev")
)


@pytest.fixture(autouse=True)
def _static_without_manifest(settings):
    # Production uses whitenoise's manifest storage, which needs `collectstatic`; tests
    # render templates without running it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    # Cached pages must not leak between tests (the cache may be a shared Redis in CI;
    # revision numbers start again in every test's database).
    cache.clear()
    pagecache.process_cache.clear()
    revision.forget()
    pacing.forget()  # the shared hold and rate went with the cache
    # Read the revision on every request unless a test is about the per-process memo.
    settings.STATUSPAGE_REVISION_TTL = 0
    yield
    cache.clear()
    pagecache.process_cache.clear()
    revision.forget()
    pacing.forget()


@pytest.fixture(autouse=True)
def _counters_off_the_measured_database(request, settings):
    # Without Redis the rate-limit counters live in a database cache table (shared by every
    # process, see statusportal.ratelimit), so each API request costs several queries on
    # the default connection and query-count tests would measure the throttle instead of
    # the page. Tests keep them in memory then, unless they are about the shared counters.
    alias = ratelimit.RATELIMIT_CACHE
    backend = settings.CACHES.get(alias, {}).get("BACKEND", "")
    if backend.endswith("DatabaseCache") and "shared_counters" not in request.keywords:
        settings.CACHES = {
            **settings.CACHES,
            alias: {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rl"},
        }
    # Every test starts with fresh allowances, wherever the counters live.
    ratelimit.counters().clear()


@pytest.fixture
def support_user(django_user_model):
    # Sam is Support staff: runs incidents, may not touch users or subscribers.
    user = django_user_model.objects.create_user(
        "sam", "sam@example.com", "correct horse battery staple", is_staff=True
    )
    # The group comes from a data migration; a transactional test's flush removes it.
    user.groups.add(sync_support_staff_group())
    return user


@pytest.fixture
def outsider(django_user_model):
    # Olga can log in to the admin but belongs to no group: she may change nothing.
    return django_user_model.objects.create_user(
        "olga", "olga@example.com", "correct horse battery staple", is_staff=True
    )


@pytest.fixture
def api_group(db):
    # A group with two components, the usual shape of a page.
    return ComponentGroup.objects.create(name="API", position=1)


@pytest.fixture
def rest(api_group):
    # A grouped component.
    return Component.objects.create(name="REST API", group=api_group, position=1)


@pytest.fixture
def graphql(api_group):
    # A second component of the same group.
    return Component.objects.create(name="GraphQL", group=api_group, position=2)


@pytest.fixture
def website(db):
    # An ungrouped component.
    return Component.objects.create(name="Website", position=0)


@pytest.fixture
def open_incident(rest, graphql):
    """Factory for an incident opened through the service, as operators do."""

    def make(name="API errors", status="investigating", components=None, **kwargs):
        if components is None:
            components = {rest.code: Component.Status.MAJOR_OUTAGE}
        return services.open_incident(
            name=name,
            status=status,
            body=kwargs.pop("body", "We are looking into it."),
            components=components,
            **kwargs,
        )

    return make


@pytest.fixture
def open_maintenance(rest):
    """Factory for a maintenance scheduled through the service: tomorrow, two hours, REST
    API under maintenance while it runs."""

    def make(name="Database upgrade", status="scheduled", components=None, **kwargs):
        starts = kwargs.pop("scheduled_for", timezone.now() + timedelta(days=1))
        return services.open_incident(
            name=name,
            kind=Incident.Kind.MAINTENANCE,
            status=status,
            body=kwargs.pop("body", "We will upgrade the database cluster."),
            components={rest.code: None} if components is None else components,
            scheduled_for=starts,
            scheduled_until=kwargs.pop("scheduled_until", starts + timedelta(hours=2)),
            **kwargs,
        )

    return make
