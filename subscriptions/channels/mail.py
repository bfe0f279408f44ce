"""The email channel: notifications rendered from the email templates and sent over one
SMTP connection per batch (through Django's mail backend)."""

import contextlib
import functools
import logging
import re
import smtplib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

from statusportal.mail import open_connection
from subscriptions import mime, pacing
from subscriptions.channels.base import Channel, Connection, SendError
from subscriptions.models import NotificationEvent, Subscriber
from subscriptions.rendering import NotificationContext, notification_email

logger = logging.getLogger(__name__)


@dataclass
class PreparedEmail:
    """One event's email, rendered once for the batch."""

    context: NotificationContext

    @cached_property
    def template(self) -> mime.RawTemplate | None:
        """The flattened SMTP bytes (built on first use, with the SMTP backend only)."""
        return mime.RawTemplate.build(self.context)


class EmailConnection(Connection):
    """A Django mail backend held open for a batch.

    With Django's own SMTP backend, a message is the batch's pre-flattened bytes with
    the subscriber's values substituted, handed to smtplib as the backend itself would
    (``subscriptions.mime``); otherwise, or when the substitution cannot be exact, the
    backend builds and sends the message itself."""

    def __init__(self, backend: BaseEmailBackend) -> None:
        self.backend = backend
        self.opened = False
        self.slot = ""  # one of the SMTP connections allowed at once (subscriptions.pacing)

    def send(
        self,
        prepared: PreparedEmail,
        subscriber: Subscriber,
        *,
        fence: Callable[[], None] | None = None,
    ) -> None:
        if not self.slot:
            self.slot = pacing.take_slot(fence)
        with pacing.paced(fence, self.slot):
            self._send(prepared, subscriber, fence)

    def _send(
        self, prepared: PreparedEmail, subscriber: Subscriber, fence: Callable[[], None] | None
    ) -> None:
        if not self.opened:
            self.backend.open()
            self.opened = True
        template = prepared.template if mime.is_smtp_backend(self.backend) else None
        raw = template.email_for(subscriber) if template is not None else None
        if raw is None:
            with fenced_data(getattr(self.backend, "connection", None), fence):
                self.backend.send_messages([notification_email(prepared.context, subscriber)])
        else:
            # (A template exists with Django's own SMTP backend only.)
            transmit(cast(SMTPBackend, self.backend).connection, raw, fence)

    def close(self) -> None:
        # Also after a failed open: the backend may hold a half-open session.
        self.opened = False
        try:
            self.backend.close()
        except Exception:
            logger.debug("closing the SMTP connection failed", exc_info=True)
        pacing.give_slot(self.slot)
        self.slot = ""


def transmit(
    smtp: smtplib.SMTP | None, raw: mime.RawEmail, fence: Callable[[], None] | None = None
) -> None:
    """``smtp.sendmail(raw.sender, [raw.recipient], raw.data)`` in its steps, with
    ``fence`` called once the server is ready for the data (its 354 answer to ``DATA``)
    and before any of it is sent: a batch that was frozen meanwhile, and lost its lease,
    raises there, the session is closed and the server, which never received the end of
    the data, delivers nothing. (The envelope's round trips are what the previous
    message's mark overlaps; its data goes out in one write, as smtplib sends it.)"""
    if smtp is None:
        raise smtplib.SMTPServerDisconnected("the SMTP connection is not open")
    smtp.ehlo_or_helo_if_needed()
    size = f" size={len(raw.data)}" if smtp.does_esmtp and smtp.has_extn("size") else ""
    # (smtplib's mail() and rcpt() parse each address again; a RawEmail's are plain.)
    smtp.putcmd("mail", f"FROM:{_quoted(raw.sender)}{size}")
    code, answer = smtp.getreply()
    if code != 250:
        _abandon(smtp, code)
        raise smtplib.SMTPSenderRefused(code, answer, raw.sender)
    smtp.putcmd("rcpt", f"TO:<{raw.recipient}>")
    code, answer = smtp.getreply()
    if code not in (250, 251):
        _abandon(smtp, code)
        raise smtplib.SMTPRecipientsRefused({raw.recipient: (code, answer)})
    smtp.putcmd("data")
    code, answer = smtp.getreply()
    if code != 354:
        _abandon(smtp, code)
        raise smtplib.SMTPDataError(code, answer)
    if fence is not None:
        try:
            fence()
        except BaseException:
            smtp.close()
            raise
    # What smtplib.SMTP.data() sends: dots at a line's start doubled, the end line.
    data = _LEADING_DOT.sub(b"..", raw.data)
    smtp.send((data if data.endswith(b"\r\n") else data + b"\r\n") + b".\r\n")
    code, answer = smtp.getreply()
    if code != 250:
        _abandon(smtp, code)
        raise smtplib.SMTPDataError(code, answer)


_LEADING_DOT = re.compile(rb"(?m)^\.")


@functools.lru_cache(maxsize=64)
def _quoted(address: str) -> str:
    return smtplib.quoteaddr(address)


@contextlib.contextmanager
def fenced_data(smtp: object, fence: Callable[[], None] | None) -> Iterator[None]:
    """While the backend sends one message itself, call ``fence`` just before the SMTP
    ``DATA`` (smtplib's ``sendmail`` calls ``self.data``); with a backend that is not
    smtplib's, call it before the message."""
    if fence is None:
        yield
        return
    if not isinstance(smtp, smtplib.SMTP):
        fence()
        yield
        return
    send_data = smtp.data

    def data(msg: Any) -> tuple[int, bytes]:
        fence()
        return send_data(msg)

    smtp.data = data  # type: ignore[method-assign]
    try:
        yield
    finally:
        del smtp.data


def _abandon(smtp: smtplib.SMTP, code: int) -> None:
    """What ``sendmail`` does after a refusal: close on 421, else reset the envelope."""
    if code == 421:
        smtp.close()
    else:
        with contextlib.suppress(smtplib.SMTPServerDisconnected):
            smtp.rset()


class EmailChannel(Channel):
    name = "email"

    def prepare(self, event: NotificationEvent) -> PreparedEmail:
        return PreparedEmail(NotificationContext.for_event(event))

    def reuse(self, prepared: PreparedEmail) -> PreparedEmail:
        # The rendering and the flattened template are the same for every batch; what
        # it remembered per subscriber is not kept (memory would grow with the audience).
        prepared.context.forget_subscribers()
        return prepared

    def connect(self) -> EmailConnection:
        return EmailConnection(open_connection())

    def classify(self, exc: Exception) -> SendError:
        return classify(exc)


def classify(exc: Exception) -> SendError:
    """Read an SMTP exception: 5xx is permanent, 4xx and network trouble temporary.

    Django's SMTP backend raises smtplib's exceptions when ``fail_silently`` is off;
    ``SMTPRecipientsRefused`` carries the code per recipient (we send one per message)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, message = next(iter(exc.recipients.values()), (451, b"refused"))
        return _from_code(code, message)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _from_code(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
        return SendError(False, f"connection: {exc}"[:500], broken=True)
    if isinstance(exc, smtplib.SMTPException):
        return SendError(False, f"smtp: {exc}"[:500], broken=True)
    return SendError(False, f"{type(exc).__name__}: {exc}"[:500])


def _from_code(code: int, message: bytes | str) -> SendError:
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    reason = f"{code} {message}".strip()[:500]
    # 421: the server is closing the session (RFC 5321, 3.8); the next message needs a new one.
    return SendError(permanent=500 <= int(code) < 600, reason=reason, broken=int(code) == 421)
