"""The client's address, as every limit counts it.

A request's peer (``REMOTE_ADDR``) is the client, unless the peer is one of the proxies
named in ``TRUSTED_PROXIES`` (addresses or CIDR networks, e.g. ``127.0.0.1,10.0.0.0/8``).
Then ``X-Forwarded-For`` is read from the right — the end each trusted proxy appended to —
skipping trusted addresses; the first untrusted address is the client. A header sent by
anyone else is ignored, so a made-up ``X-Forwarded-For`` walks around nothing. Used by the
API throttles, the admin lockout (django-axes) and the sign-up limiter.

``rate_key`` is what a limit counts: the address itself, or for IPv6 its /64 network (one
customer usually holds a whole /64, so counting single addresses would count nothing);
``lockout_address`` is the same for the admin lockout, written as an address.
"""

import ipaddress
from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

UNKNOWN = "0.0.0.0"


@cache
def trusted_networks(proxies: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


@receiver(setting_changed)
def _forget_networks(setting, **kwargs):
    if setting == "TRUSTED_PROXIES":
        trusted_networks.cache_clear()


def _parse(value: str) -> IPAddress | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.9:443"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    """The client's address (see the module docstring); never raises."""
    peer = _parse(request.META.get("REMOTE_ADDR", "") or "")
    if peer is None:
        return UNKNOWN
    networks = trusted_networks(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _is_trusted(peer, networks):
        return str(peer)
    client = peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed(forwarded.split(",")[:64]):
        address = _parse(hop)
        if address is None:
            break  # garbage: trust nothing further left
        client = address
        if not _is_trusted(address, networks):
            break
    return str(client)


def rate_key(address: str) -> str:
    """What a limit counts for ``address``: itself, or its /64 for IPv6."""
    parsed = _parse(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed) if parsed is not None else UNKNOWN


def client_key(request: HttpRequest) -> str:
    """``rate_key(client_ip(request))``: the client as a limit counts it."""
    return rate_key(client_ip(request))


def lockout_address(request: HttpRequest) -> str:
    """The client as the admin lockout records it (django-axes and
    ``statusportal.loginlimit``): an address, so for IPv6 the first address of its /64
    (``2001:db8:1:2::``), which stands for the whole network."""
    parsed = _parse(client_ip(request))
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False).network_address)
    return str(parsed) if parsed is not None else UNKNOWN
