"""What the HTTP channels (webhook, Slack, Teams) share: one :class:`egress.Session` per
batch, a POST per delivery, and how an answer is read.

* 2xx within ``SUBSCRIPTIONS_HTTP_TIMEOUT`` is delivered;
* a timeout, a network error, 408, 425, 429 and 5xx are temporary (retried with backoff,
  at least as late as the answer's ``Retry-After``);
* any other answer (404 and 410 above all: the endpoint is gone), a redirect, or an
  endpoint that now resolves to a refused address is permanent: the row fails with the
  reason and counts towards quarantine.
"""

from abc import abstractmethod
from collections.abc import Callable
from typing import Any

from django.conf import settings

from statusportal.leases import LEASE_MARGIN
from subscriptions.channels.base import Channel, Connection, SendError
from subscriptions.egress import Answer, EndpointRefused, Session, TimedOut
from subscriptions.models import Subscriber
from subscriptions.payloads import Payload

TEMPORARY_STATUSES = frozenset({408, 425, 429})


class Refused(Exception):
    """The endpoint answered with a status that is not 2xx."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(f"{answer.status} {answer.body}".strip())
        self.answer = answer


def timeout() -> float:
    """One POST's time in all: the setting, never more than one message's share of the
    send batch's lease (``subscriptions.lease.Lease.budget``)."""
    budget = (settings.SUBSCRIPTIONS_LEASE_SECONDS - LEASE_MARGIN) / 2
    return float(max(1.0, min(settings.SUBSCRIPTIONS_HTTP_TIMEOUT, budget)))


class HttpConnection(Connection):
    """One batch's requests: kept-alive connections per checked address."""

    def __init__(self, channel: "HttpChannel") -> None:
        self.channel = channel
        self.session = Session(timeout())

    def send(
        self, prepared: Payload, subscriber: Subscriber, *, fence: Callable[[], None] | None = None
    ) -> None:
        body = prepared.body_for(subscriber)
        headers = self.channel.headers(prepared, subscriber, body)
        if fence is not None:
            fence()
        answer = self.session.post(subscriber.endpoint, body, headers)
        if not answer.ok:
            raise Refused(answer)

    def close(self) -> None:
        self.session.close()


class HttpChannel(Channel):
    """A channel that POSTs a JSON body to each subscriber's endpoint."""

    @property
    def concurrency(self) -> int:
        return int(settings.SUBSCRIPTIONS_HTTP_CONCURRENCY)

    def connect(self) -> HttpConnection:
        return HttpConnection(self)

    def headers(self, prepared: Payload, subscriber: Subscriber, body: bytes) -> dict[str, str]:
        """Headers of one request beyond Host, User-Agent and Content-Type."""
        return {}

    @abstractmethod
    def prepare(self, event: Any) -> Payload: ...

    def classify(self, exc: Exception) -> SendError:
        return classify(exc)


def classify(exc: Exception) -> SendError:
    if isinstance(exc, Refused):
        answer = exc.answer
        reason = f"HTTP {answer.status} {answer.body}".strip()[:500]
        if answer.status >= 500 or answer.status in TEMPORARY_STATUSES:
            return SendError(False, reason, retry_after=answer.retry_after)
        if 300 <= answer.status < 400:
            return SendError(True, f"{reason} (redirects are not followed)"[:500])
        return SendError(True, reason)
    if isinstance(exc, EndpointRefused):
        return SendError(True, f"refused: {exc}"[:500])
    if isinstance(exc, TimedOut):
        return SendError(False, f"timeout: {exc}"[:500])
    if isinstance(exc, OSError):
        return SendError(False, f"connection: {exc}"[:500])
    return SendError(False, f"{type(exc).__name__}: {exc}"[:500])
