"""The SMTP fast path for notifications: one recipient's message made by substituting
their values into the bytes of a message Django built once per batch.

Building and flattening an ``EmailMultiAlternatives`` per recipient cost about 1.3 ms of
CPU per email, three quarters of a worker's time (bench/RESULTS.md); substituting into
bytes costs almost nothing. The bytes must be exactly those Django's SMTP backend would
send for the recipient, on every supported Django line: ``tests/subscriptions/
test_mime.py`` checks them byte for byte against the real backend. How it stays exact:

1. The template is Django's own message for the shared parts, with every per-recipient
   value replaced by a placeholder (``rendering.Placeholders``), flattened as the SMTP
   backend flattens it (:func:`smtp_bytes`, with :func:`is_smtp_backend` the only code
   here that knows the backend's internals; ``channels.mail.transmit`` sends the bytes).
2. Each token and code placeholder is found where the encoders put it: as is, or cut by
   the soft line breaks of a quoted-printable body or by the boundaries of RFC 2047
   encoded words in a folded header (Django 6 writes bodies and long headers so). Every
   occurrence must be found, or there is no template.
3. Real tokens and codes have the placeholders' lengths, and their characters are written
   as themselves by those encodings, so the encoders cut a real value exactly where they
   cut the placeholder. The one exception, ``_`` inside an encoded word (written
   ``=5F``), makes that recipient's message go the ordinary way.
4. The To address and the Date may only occur whole, in lines that stay within the
   folding limit with the longest value.

Whenever a condition fails, the message is built the ordinary way
(``rendering.notification_email``).
"""

import email.policy
import re
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any

import django
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

from subscriptions.models import Subscriber
from subscriptions.rendering import NotificationContext, assemble, date_header, substitutable

# What the encoders may put inside a placeholder: a quoted-printable soft line break, or
# the end of one RFC 2047 encoded word and the start of the next on a folded line.
_CUT = rb"(=\r\n|\?=\r\n =\?utf-8\?q\?)?"
_ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[qQbB]\?[^?\s]*\?=")
# Written as themselves inside a Q-encoded word (RFC 2047 5.3; "_" stands for a space).
_Q_TOKEN = re.compile(r"[A-Za-z0-9-]{43}")
# An address written as is in the To header: no IDNA, no RFC 2047, no quoting.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
)
# Longest value of the variable-length placeholders; a header line is folded past 78
# characters (RFC 5322 2.1.1), which the To header must not need.
_LONGEST = {"to": 74, "date": 31}
_FOLD_AT = 78
_MAX_LINE = 998  # RFC 5322 2.1.1


def smtp_bytes(message: EmailMultiAlternatives) -> bytes:
    """The bytes Django's SMTP backend transmits for ``message`` (what its ``_send``
    does, in Django 5.2 and in 6.x)."""
    if django.VERSION >= (6, 0):
        return message.message(policy=email.policy.SMTP).as_bytes()
    # django-stubs types Django 6's message(); 5.2's SafeMIME classes take a linesep.
    return message.message().as_bytes(linesep="\r\n")  # type: ignore[call-arg]


def is_smtp_backend(backend: Any) -> bool:
    """Exactly Django's SMTP backend: a subclass may sign or rewrite messages."""
    return type(backend) is SMTPBackend


@dataclass(frozen=True)
class RawEmail:
    """One recipient's message, ready for ``smtplib.SMTP.sendmail``; ``recipient`` is a
    plain address (``_PLAIN_ADDRESS``), written as is in the envelope."""

    sender: str
    recipient: str
    data: bytes


@dataclass(frozen=True)
class Slot:
    """Where a placeholder sits in the template, and where the encoder cut it:
    ``cuts`` holds (offset in the value, bytes inserted there)."""

    name: str
    cuts: tuple[tuple[int, bytes], ...] = ()

    def fill(self, value: bytes) -> bytes:
        pieces, start = [], 0
        for offset, cut in self.cuts:
            pieces += [value[start:offset], cut]
            start = offset
        pieces.append(value[start:])
        return b"".join(pieces)


@dataclass(frozen=True)
class RawTemplate:
    """A notification's SMTP bytes cut at the placeholders: ``pieces`` alternates
    literal bytes and slots."""

    sender: str
    pieces: tuple[bytes | Slot, ...]
    # Placeholders found inside an RFC 2047 encoded word.
    encoded: frozenset[str] = frozenset()
    # The context it was built from, and the templates of its other wordings (the
    # reason and scope lines differ between subscribers; see rendering.Wording).
    context: NotificationContext | None = field(default=None, compare=False)
    variants: dict[Any, "RawTemplate | None"] = field(default_factory=dict, compare=False)

    @classmethod
    def build(cls, context: NotificationContext) -> "RawTemplate | None":
        """Flatten the message once with every placeholder in place, and locate them;
        None when substituting real values might not give exactly Django's bytes."""
        holders = context.placeholders
        parts = context.shared
        sources = [parts.subject, parts.text, parts.html]
        # Lines over SMTP's limit: each part is wrapped per recipient (rare; not worth
        # a fast path).
        if any(len(line) > _MAX_LINE for source in sources for line in source.splitlines()):
            return None
        headers = {**parts.headers, "Date": holders.date}
        message = assemble(*sources, to=holders.to, headers=headers)
        sender = parseaddr(message.from_email)[1]
        if not (sender and sender.isascii()):
            return None
        data = smtp_bytes(message)
        sources += [holders.to, *headers.values()]
        slots: list[tuple[int, int, Slot]] = []
        for name, placeholder in holders.named().items():
            expected = sum(source.count(placeholder) for source in sources)
            found = list(_pattern(name, placeholder).finditer(data))
            if len(found) != expected:
                return None
            slots += [(m.start(), m.end(), _slot(name, m)) for m in found]
        slots.sort(key=lambda slot: slot[0])
        head_end = data.index(b"\r\n\r\n")
        words = [m.span() for m in _ENCODED_WORD.finditer(data, 0, head_end)]
        encoded = {
            slot.name
            for start, end, slot in slots
            if any(start < w_end and w_start < end for w_start, w_end in words)
        }
        if not _lines_fit(data, head_end, holders.named()):
            return None
        pieces: list[bytes | Slot] = []
        position = 0
        for start, end, slot in slots:
            pieces += [data[position:start], slot]
            position = end
        pieces.append(data[position:])
        return cls(sender=sender, pieces=tuple(pieces), encoded=frozenset(encoded), context=context)

    def accepts(self, subscriber: Subscriber) -> bool:
        """Whether substitution gives exactly Django's message for this subscriber."""
        return bool(
            substitutable(subscriber)
            and ("token" not in self.encoded or _Q_TOKEN.fullmatch(subscriber.token))
            and len(subscriber.email) <= _LONGEST["to"]
            and _PLAIN_ADDRESS.fullmatch(subscriber.email)
        )

    def email_for(self, subscriber: Subscriber, *, date: str | None = None) -> RawEmail | None:
        """The subscriber's message as the SMTP backend would send it, dated ``date``
        (now by default); None when it must be built the ordinary way."""
        if self.context is not None:
            wording = self.context.wording_for(subscriber)
            if wording != self.context.wording:
                if wording not in self.variants:
                    variant = self.context.for_subscriber(subscriber)
                    self.variants[wording] = RawTemplate.build(variant)
                template = self.variants[wording]
                return template.email_for(subscriber, date=date) if template else None
        if not self.accepts(subscriber):
            return None
        values = {
            "token": subscriber.token.encode(),
            "code": subscriber.code.encode(),
            "to": subscriber.email.encode(),
            "date": (date or date_header()).encode(),
        }
        data = b"".join(
            piece.fill(values[piece.name]) if isinstance(piece, Slot) else piece
            for piece in self.pieces
        )
        return RawEmail(sender=self.sender, recipient=subscriber.email, data=data)


def _pattern(name: str, placeholder: str) -> re.Pattern[bytes]:
    """The placeholder as is (variable length: only whole) or with a possible cut, as a
    group, after each of its characters but the last."""
    if name in _LONGEST:
        return re.compile(re.escape(placeholder.encode()))
    return re.compile(_CUT.join(re.escape(bytes([c])) for c in placeholder.encode()))


def _slot(name: str, match: re.Match[bytes]) -> Slot:
    """The slot of one occurrence: which cut the encoder put after which character."""
    cuts = tuple((index, cut) for index, cut in enumerate(match.groups(), start=1) if cut)
    return Slot(name, cuts)


def _lines_fit(data: bytes, head_end: int, named: dict[str, str]) -> bool:
    """No line grows past the limits when the longest values replace the placeholders."""
    start = 0
    for line in data.split(b"\r\n"):
        growth = sum(
            line.count(named[name].encode()) * (longest - len(named[name]))
            for name, longest in _LONGEST.items()
        )
        limit = _FOLD_AT if growth and start < head_end else _MAX_LINE
        if len(line) + growth > limit:
            return False
        start += len(line) + 2
    return True
