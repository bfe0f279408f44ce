"""The client's address comes from TRUSTED_PROXIES alone; every limit counts it, in a
store that all processes share."""

import pytest
from django.core.cache import caches
from django.test import RequestFactory
from rest_framework import throttling
from rest_framework.test import APIClient

from statusportal import ratelimit
from statusportal.clientip import client_ip, rate_key

rf = RequestFactory()


def request(peer: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return rf.get("/", **extra)


def test_without_trusted_proxies_the_peer_is_the_client(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(request("198.51.100.7", "1.2.3.4")) == "198.51.100.7"


def test_a_trusted_proxy_names_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "127.0.0.1"]
    # The client's own made-up entry, then what our two proxies appended.
    forwarded = "6.6.6.6, 198.51.100.7, 10.1.2.3"
    assert client_ip(request("127.0.0.1", forwarded)) == "198.51.100.7"
    assert client_ip(request("127.0.0.1", "198.51.100.7")) == "198.51.100.7"


def test_a_made_up_header_from_an_untrusted_peer_is_ignored(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(request("198.51.100.7", "10.0.0.1, 1.1.1.1")) == "198.51.100.7"


@pytest.mark.parametrize("forwarded", ["", "not-an-ip", "1.1.1.1, garbage"])
def test_garbage_behind_a_trusted_proxy_never_names_someone_else(settings, forwarded):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    assert client_ip(request("127.0.0.1", forwarded)) == "127.0.0.1"


def test_ipv6_clients_are_counted_per_64():
    assert rate_key("2001:db8:1:2:aaaa::1") == rate_key("2001:db8:1:2:bbbb::9")
    assert rate_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert rate_key("::ffff:198.51.100.7") == "198.51.100.7"
    assert rate_key("198.51.100.7") == "198.51.100.7"


@pytest.fixture
def own_counters(settings):
    # Counters of this test's own (the suite's Redis is flushed by tests running in
    # parallel); that they are shared across processes is shown with gunicorn in
    # tests/integration/test_limits_gunicorn.py.
    settings.CACHES = {
        **settings.CACHES,
        ratelimit.RATELIMIT_CACHE: {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "throttle-test",
        },
    }
    ratelimit.counters().clear()


@pytest.fixture
def three_reads_a_minute(monkeypatch, own_counters):
    rates = {**throttling.AnonRateThrottle.THROTTLE_RATES, "anon": "3/minute"}
    monkeypatch.setattr(throttling.AnonRateThrottle, "THROTTLE_RATES", rates)


def read(peer: str, forwarded: str) -> int:
    return (
        APIClient()
        .get("/api/v1/components/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
        .status_code
    )


@pytest.mark.django_db
def test_the_anonymous_throttle_ignores_a_made_up_forwarded_for(settings, three_reads_a_minute):
    settings.TRUSTED_PROXIES = []
    codes = [read("198.51.100.7", f"9.9.9.{n}") for n in range(5)]
    assert codes == [200, 200, 200, 429, 429]


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_client_has_its_own_allowance(settings, three_reads_a_minute):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    first = [read("10.0.0.2", "198.51.100.7") for _ in range(4)]
    second = [read("10.0.0.2", "198.51.100.8") for _ in range(4)]
    assert first == second == [200, 200, 200, 429]


@pytest.mark.shared_counters
def test_counters_live_in_a_shared_cache_not_in_process_memory():
    backend = caches[ratelimit.RATELIMIT_CACHE]
    assert "LocMem" not in type(backend).__name__
    assert type(backend).__name__ in ("RedisCache", "DatabaseCache")


def test_a_fixed_window_counts_to_its_limit_and_starts_again(own_counters):
    now = 1_000_000.0
    results = [ratelimit.hit("test", "k", 3, 60, now=now) for _ in range(4)]
    assert results == [True, True, True, False]
    assert ratelimit.hit("test", "other", 3, 60, now=now)
    assert ratelimit.hit("test", "k", 3, 60, now=now + 60)


@pytest.mark.parametrize(
    ("address", "normal"),
    [
        ("Ann+status@Example.COM", "ann@example.com"),
        ("ann@example.com", "ann@example.com"),
        (" ANN+a+b@example.com ", "ann@example.com"),
        ("+tag@example.com", "+tag@example.com"),
    ],
)
def test_email_addresses_are_counted_per_mailbox(address, normal):
    assert ratelimit.normalise_email(address) == normal
