"""The interface between the channel-agnostic delivery loop and one channel.

``subscriptions.delivery`` claims rows, groups them per batch, records outcomes, retries
with backoff and counts hard bounces; a channel only knows its medium:

* :meth:`Channel.prepare` renders what every recipient of one event shares, once per
  event and batch;
* :meth:`Channel.connect` gives a :class:`Connection` for the batch, which opens lazily,
  sends one subscriber's delivery (rendering it from the prepared event) and may be
  reset after an error that broke it;
* :meth:`Channel.classify` reads a failure as temporary or permanent (:class:`SendError`).
"""

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from subscriptions.models import NotificationEvent, Subscriber


@dataclass(frozen=True)
class SendError:
    """What a failed send means for the row: retry later, or give up."""

    permanent: bool
    reason: str
    # The connection is unusable (disconnect, socket error): reconnect before the next.
    broken: bool = False
    # The receiver asked us to wait this long before trying again (HTTP Retry-After).
    retry_after: float | None = None


class Connection(ABC):
    """One batch's connection to the medium (an SMTP session, an HTTP client)."""

    @abstractmethod
    def send(
        self, prepared: Any, subscriber: Subscriber, *, fence: Callable[[], None] | None = None
    ) -> None:
        """Deliver ``prepared`` (from :meth:`Channel.prepare`) to ``subscriber``,
        opening the connection first if needed; raise on failure.

        ``fence`` is called at the last moment before the message is committed to the
        medium (for SMTP: between the envelope and the data); it raises if the batch
        lost the row meanwhile (or cannot make the previous outcome durable), and the
        message must then not be delivered."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection if open (never raises); the next send reopens it."""


class Channel(ABC):
    """A medium notifications go out through."""

    name: str

    @property
    def concurrency(self) -> int:
        """Deliveries of one batch sent at once (threads; 1: one after the other). The
        delivery loop still claims, fences and records every row itself."""
        return 1

    @abstractmethod
    def prepare(self, event: NotificationEvent) -> Any:
        """What every recipient of ``event`` shares, rendered once per batch."""

    def reuse(self, prepared: Any) -> Any | None:
        """``prepared`` (from :meth:`prepare`, for an event that has not changed since) made
        ready for another batch, or None: prepare it again."""
        return None

    def prepare_test(self) -> Any:
        """A test message, as :meth:`prepare` would render one (None: the channel has
        no test message)."""
        return None

    @abstractmethod
    def connect(self) -> Connection:
        """A connection for one batch (not opened yet)."""

    @abstractmethod
    def classify(self, exc: Exception) -> SendError:
        """Whether ``exc``, raised by :meth:`Connection.send`, is worth retrying."""
