"""A real SMTP server for tests (aiosmtpd on a free local port) that records what it
receives and can answer chosen recipients with an error code."""

import asyncio
import email
import email.policy
import logging
import threading
import time
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller

from tests.services import free_port

# aiosmtpd logs every SMTP command at INFO: that alone triples the 10,000-mail test's time.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)

    @property
    def to(self) -> str:
        return self.rcpt_tos[0]

    def part(self, content_type: str) -> str:
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                return part.get_content()
        raise AssertionError(f"no {content_type} part")


@dataclass
class Handler:
    # Recipient -> answers given to its next attempts, one each ("451 ..."); then accept.
    answers: dict[str, list[str]] = field(default_factory=dict)
    # Recipient -> answer given to every attempt ("550 ...").
    always: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    delay: float = 0  # seconds to wait before accepting each message (a slow server)
    count_only: bool = False  # the 10,000-mail test only counts (and keeps recipients)
    count: int = 0
    recipients: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        key = address.lower()
        with self.lock:
            if key in self.always:
                return self.always[key]
            if self.answers.get(key):
                return self.answers[key].pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.count += 1
            self.recipients.extend(envelope.rcpt_tos)
            if not self.count_only:
                self.received.append(
                    Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
                )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address.lower() in (a.lower() for a in r.rcpt_tos)]


class SMTPServer:
    """Context manager: ``with SMTPServer() as smtp: smtp.port, smtp.handler.received``."""

    def __init__(self, handler: Handler | None = None):
        self.handler = handler or Handler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SMTPServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def settings(self) -> dict:
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": self.port,
            "EMAIL_USE_TLS": False,
            "EMAIL_USE_SSL": False,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
        }

    def env(self) -> dict:
        return {"EMAIL_URL": f"smtp://127.0.0.1:{self.port}"}


class TimedHandler(Handler):
    """Records when each message and each refusal arrived (monotonic clock)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.times: list[tuple[str, float]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        answer = await super().handle_RCPT(server, session, envelope, address, rcpt_options)
        if not answer.startswith("250"):
            self.times.append((f"refused {address}", time.monotonic()))
        return answer

    async def handle_DATA(self, server, session, envelope):
        self.times.append((envelope.rcpt_tos[0], time.monotonic()))
        return await super().handle_DATA(server, session, envelope)
