"""Requests to subscribers' endpoints (webhooks, Slack, Microsoft Teams): the one place
that decides where the portal may POST, and how long it waits (see docs/architecture.md,
'Subscriptions').

* **Where.** An endpoint is an ``http``/``https`` URL without credentials. Its host is
  resolved and *every* address checked: loopback, private, link-local, shared, reserved,
  multicast and unspecified addresses are refused unless
  ``SUBSCRIPTIONS_WEBHOOK_ALLOW_PRIVATE`` is on, and the cloud metadata addresses always.
  The check runs when the endpoint is subscribed and again before every request (DNS can
  change), and the request connects to the address that was checked (the name is kept
  for ``Host``, SNI and the certificate), so a second lookup cannot swap it.
* **How long.** A request gets ``SUBSCRIPTIONS_HTTP_TIMEOUT`` seconds in all: a watchdog
  shuts the socket at the deadline, so an endpoint that trickles its answer a byte at a
  time cannot hold a batch longer. Redirects are not followed.
"""

import contextlib
import email.utils
import http.client
import ipaddress
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from urllib3.connection import HTTPConnection, HTTPSConnection

# Addresses of cloud instance metadata services: refused even on an intranet install.
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
USER_AGENT = "statusportal-notifications/1"
# An answer's body is read up to this much (its start is the error shown to operators).
MAX_ANSWER = 64 * 1024

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class EndpointRefused(Exception):
    """The endpoint may not be sent to (a refused address, a malformed URL)."""


class TimedOut(Exception):
    """The endpoint did not answer within the timeout."""


def refusal(address: Address) -> str | None:
    """Why ``address`` may not be sent to, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA:
        return f"{address} is a cloud metadata address"
    if address.is_unspecified or address.is_multicast:
        return f"{address} is not a host address"
    if not address.is_global and not settings.SUBSCRIPTIONS_WEBHOOK_ALLOW_PRIVATE:
        return f"{address} is a loopback, private or link-local address"
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, each of them checked; raises EndpointRefused
    when any is refused (or none was found) and ``socket.gaierror`` when the name does
    not resolve now."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[str] = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]  # (a scope id on a link-local IPv6)
        address = ipaddress.ip_address(text)
        reason = refusal(address)
        if reason is not None:
            raise EndpointRefused(f"{host} resolves to {reason}")
        if text not in found:
            found.append(text)
    if not found:
        raise EndpointRefused(f"{host} has no address")
    return found


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def parse(url: str) -> Target:
    """The parts of an endpoint URL; EndpointRefused when it is not one we POST to."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise EndpointRefused(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointRefused("use an http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise EndpointRefused("a URL with a user name or password is not accepted")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(
        parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path
    )


def check_endpoint(url: str) -> str:
    """The endpoint as stored (trimmed), after checking its form and every address its
    host resolves to now; a ValidationError on ``endpoint`` otherwise (subscribe time)."""
    url = (url or "").strip()
    if len(url) > 2000:
        raise ValidationError({"endpoint": "The URL is too long."}, code="too_long")
    try:
        target = parse(url)
        resolve(target.host, target.port)
    except EndpointRefused as exc:
        raise ValidationError({"endpoint": f"Refused: {exc}."}, code="refused") from None
    except (OSError, UnicodeError):
        raise ValidationError(
            {"endpoint": "The host name does not resolve."}, code="unresolved"
        ) from None
    return url


@dataclass(frozen=True)
class Answer:
    """What the endpoint answered."""

    status: int
    body: str
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date), None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


Connection = HTTPConnection | HTTPSConnection


class Watchdog:
    """Shuts the socket of every request still running at its deadline: socket timeouts
    bound each read, not the whole answer (an endpoint trickling a byte at a time). One
    thread per session, started with its first request, rather than a timer per request
    (threads started per request cost a batch more than its requests)."""

    TICK = 0.05

    def __init__(self) -> None:
        self._watched: dict[int, tuple[float, Connection, threading.Event]] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, conn: Connection, deadline: float) -> threading.Event:
        """Start watching ``conn``; the event is set if its deadline passed."""
        expired = threading.Event()
        with self._lock:
            self._watched[id(conn)] = (deadline, conn, expired)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="egress-watchdog", daemon=True
                )
                self._thread.start()
        return expired

    def forget(self, conn: Connection) -> None:
        with self._lock:
            self._watched.pop(id(conn), None)

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(self.TICK):
            now = time.monotonic()
            with self._lock:
                late = [entry for entry in self._watched.values() if entry[0] <= now]
            for _, conn, expired in late:
                expired.set()
                sock = conn.sock
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)


class Session:
    """Requests of one send batch: keeps connections alive per checked address, so a
    batch to one receiver reuses them. Safe to use from several threads."""

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = float(timeout or settings.SUBSCRIPTIONS_HTTP_TIMEOUT)
        self._idle: dict[tuple[str, str, int, str], list[Connection]] = {}
        self._lock = threading.Lock()
        self._watchdog = Watchdog()

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        """POST ``body`` to ``url`` within the timeout. Raises EndpointRefused,
        TimedOut, or the network error; any HTTP status is an Answer."""
        target = parse(url)
        addresses = resolve(target.host, target.port)
        key = (target.scheme, addresses[0], target.port, target.host)
        conn = self._take(key)
        reused = conn is not None
        try:
            return self._exchange(key, conn or self._open(key), target, body, headers)
        except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
            if not reused:
                raise
            # The server closed an idle kept-alive connection before reading the request.
            return self._exchange(key, self._open(key), target, body, headers)

    def _exchange(
        self,
        key: tuple[str, str, int, str],
        conn: Connection,
        target: Target,
        body: bytes,
        headers: Mapping[str, str],
    ) -> Answer:
        expired = self._watchdog.watch(conn, time.monotonic() + self.timeout)
        try:
            conn.request(
                "POST",
                target.path,
                body=body,
                headers={
                    "Host": target.host_header,
                    "User-Agent": USER_AGENT,
                    "Content-Type": "application/json",
                    **headers,
                },
                preload_content=False,
            )
            response = conn.getresponse()
            data = response.read(MAX_ANSWER)
            complete = response.read(1) == b"" if len(data) == MAX_ANSWER else True
        except Exception as exc:
            conn.close()
            if expired.is_set() or isinstance(exc, TimeoutError | socket.timeout):
                raise TimedOut(f"no answer within {self.timeout:g} s") from None
            raise
        finally:
            self._watchdog.forget(conn)
        if expired.is_set():
            conn.close()
            raise TimedOut(f"no answer within {self.timeout:g} s")
        keep_alive = response.version == 11 and "close" not in (
            response.headers.get("Connection", "").lower()
        )
        if complete and keep_alive:
            self._give_back(key, conn)
        else:
            conn.close()
        return Answer(
            status=response.status,
            body=data[:500].decode("utf-8", "replace"),
            retry_after=retry_after(response.headers.get("Retry-After")),
        )

    def _open(self, key: tuple[str, str, int, str]) -> Connection:
        scheme, address, port, host = key
        if scheme == "https":
            return HTTPSConnection(
                address, port, timeout=self.timeout, server_hostname=host, assert_hostname=host
            )
        return HTTPConnection(address, port, timeout=self.timeout)

    def _take(self, key: tuple[str, str, int, str]) -> Connection | None:
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def _give_back(self, key: tuple[str, str, int, str], conn: Connection) -> None:
        with self._lock:
            self._idle.setdefault(key, []).append(conn)

    def close(self) -> None:
        self._watchdog.stop()
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()
