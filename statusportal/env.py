"""Small typed readers for configuration from the environment.

Each helper returns the default when the variable is unset or empty, and raises
``ImproperlyConfigured`` naming the variable when a value cannot be parsed, so a typo
in a deployment fails at start-up instead of silently falling back.
"""

import ipaddress
import os
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str = "") -> str:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false/1/0), got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_networks(name: str) -> list[str]:
    """A comma-separated list of IP addresses or CIDR networks (``10.0.0.0/8, ::1``)."""
    networks = env_list(name)
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must list IP addresses or CIDR networks, got {network!r}"
            ) from None
    return networks


def env_url(name: str, default: str = "", *, schemes: tuple[str, ...] = ()) -> str:
    """A URL whose scheme is one of ``schemes`` (when given)."""
    value = env_str(name, default)
    if value and schemes:
        scheme = urlsplit(value).scheme
        if scheme not in schemes:
            raise ImproperlyConfigured(
                f"{name} must start with one of {', '.join(s + '://' for s in schemes)}; "
                f"got {value!r}"
            )
    return value


def env_time_zone(name: str, default: str = "UTC") -> str:
    value = env_str(name, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"{name} must be an IANA time zone name, got {value!r}"
        ) from None
    return value


def cache_config(url: str) -> dict:
    """Django CACHES["default"] for ``redis://``, ``rediss://``, ``locmem://`` or ``dummy://``.

    Redis goes through django-redis with short socket timeouts and ``IGNORE_EXCEPTIONS``:
    a cache server that is down or hangs turns every cache call into a logged miss, so
    pages are rendered from the database instead of failing.
    """
    parts = urlsplit(url)
    if parts.scheme in ("redis", "rediss", "unix"):
        return {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "sp",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.3,
                "SOCKET_TIMEOUT": 0.3,
                "IGNORE_EXCEPTIONS": True,
                "CONNECTION_POOL_KWARGS": {"retry_on_timeout": False},
            },
        }
    if parts.scheme == "locmem":
        return {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": parts.netloc or "statusportal",
        }
    if parts.scheme == "dummy":
        return {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    raise ImproperlyConfigured(
        f"CACHE_URL/REDIS_URL must be redis://, rediss://, locmem:// or dummy://; got {url!r}"
    )


def email_config(url: str) -> dict:
    """Django EMAIL_* settings from ``smtp://user:pass@host:port?tls=1``, ``smtp+ssl://…``,
    ``console://`` or ``file:///path/to/folder``."""
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if parts.scheme in ("smtp", "smtp+tls", "smtp+ssl", "smtps"):
        ssl = parts.scheme in ("smtp+ssl", "smtps")
        tls = parts.scheme == "smtp+tls" or query.get("tls", "").lower() in TRUE
        try:
            port = parts.port or (465 if ssl else 587 if tls else 25)
        except ValueError:
            raise ImproperlyConfigured(f"EMAIL_URL has a bad port: {url!r}") from None
        if not parts.hostname:
            raise ImproperlyConfigured(f"EMAIL_URL needs a host: {url!r}")
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": parts.hostname,
            "EMAIL_PORT": port,
            "EMAIL_HOST_USER": unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
            "EMAIL_USE_TLS": tls,
            "EMAIL_USE_SSL": ssl,
        }
    if parts.scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme == "file":
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": unquote(parts.path),
        }
    if parts.scheme == "locmem":
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    raise ImproperlyConfigured(
        f"EMAIL_URL must be smtp://, smtp+tls://, smtp+ssl://, console://, file:// or "
        f"locmem://; got {url!r}"
    )
