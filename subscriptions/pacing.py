"""Sending at the pace the mail provider accepts (see docs/architecture.md, 'Sending at
the provider's pace').

Three rules, shared by every worker through Redis (the ``default`` cache when it is
django-redis), each kept in one atomic Lua script so that workers never race:

* **Rate**: at most ``SUBSCRIPTIONS_MAX_SEND_RATE`` messages a second across all workers
  (0: no limit), by GCRA (the "generic cell rate algorithm": one stored time, the
  theoretical arrival time of the next message). A burst of a tenth of a second's worth
  is tolerated, so a sender that wakes late does not waste its turn, while over any
  interval the count stays within rate * interval + that burst.
* **Back-off**: an SMTP answer that asks the client to slow down (421, 451, 454) sets one
  shared deadline, ``SUBSCRIPTIONS_SLOW_DOWN_SECONDS`` ahead; no message starts before it
  anywhere. The row that got the answer is retried as any temporary failure is.
* **Connections**: at most ``SUBSCRIPTIONS_SMTP_CONNECTIONS`` SMTP sessions open at once
  across all workers (0: no cap; otherwise a batch waits for a free one before it opens
  its own, for at most half a lease, then gives its rows back as a temporary failure).
  A slot is held under a lease of ``SUBSCRIPTIONS_LEASE_SECONDS``, renewed with every
  message, so the slot of a dead worker comes free by itself.

With no rate set, a process asks Redis about the hold at most every 0.1 s rather than
once a message. Without Redis (or while it does not answer) each process keeps the rate
and the back-off for itself; the connection cap needs Redis. Waiting calls the batch's
``fence``, which renews its lease on the rows, so a long back-off never costs a batch its
rows.
"""

import contextlib
import logging
import smtplib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django_redis import get_redis_connection
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RATE_KEY = "sp:send:tat"
HOLD_KEY = "sp:send:hold"
SLOTS_KEY = "sp:send:slots"
# SMTP answers that mean "too fast, come back later" rather than "this message is bad".
SLOW_DOWN_CODES = frozenset({421, 451, 454})
# The longest single sleep: a waiting batch wakes this often to renew its lease.
NAP = 0.5

# KEYS: rate, hold, slots. ARGV: interval ms (0: no rate), tolerance ms, slot token ("":
# none), slot lease ms. Returns "0" when the message may go now, else the ms to wait.
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local hold = tonumber(redis.call('GET', KEYS[2]) or '0')
if hold > now then return tostring(hold - now) end
local interval = tonumber(ARGV[1])
if interval > 0 then
  local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
  if tat < now then tat = now end
  if tat - now > tonumber(ARGV[2]) then return tostring(tat - now - tonumber(ARGV[2])) end
  redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', math.ceil(tat + interval - now) + 1000)
end
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[3], 'XX', now + tonumber(ARGV[4]), ARGV[3]) end
return '0'
"""
# KEYS: hold. ARGV: seconds. Moves the shared deadline later (never earlier); returns ms.
_HOLD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local untl = now + tonumber(ARGV[1]) * 1000
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if untl > cur then
  redis.call('SET', KEYS[1], tostring(untl), 'PX', math.ceil(untl - now))
  cur = untl
end
return tostring(cur - now)
"""
# KEYS: slots. ARGV: cap, token, lease ms. "1" when the token now holds a slot.
_TAKE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
  return '1'
end
return '0'
"""


class NoConnectionSlot(smtplib.SMTPException):
    """Every SMTP connection allowed (``SUBSCRIPTIONS_SMTP_CONNECTIONS``) stayed busy for
    a whole lease: the batch gives its rows back to be retried."""


class _Local:
    """The rate and the back-off of this process alone (no Redis)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tat = 0.0
        self.hold = 0.0

    def admit(self, interval: float, tolerance: float) -> float:
        with self.lock:
            now = time.monotonic()
            if self.hold > now:
                return self.hold - now
            if interval > 0:
                tat = max(self.tat, now)
                if tat - now > tolerance:
                    return tat - now - tolerance
                self.tat = tat + interval
            return 0.0

    def slow_down(self, seconds: float) -> float:
        with self.lock:
            now = time.monotonic()
            self.hold = max(self.hold, now + seconds)
            return self.hold - now


_local = _Local()


def _redis() -> Any | None:
    """The raw Redis client of the ``default`` cache, or None when it is not Redis."""
    if caches["default"].__class__.__module__ != "django_redis.cache":
        return None
    return get_redis_connection("default")


def _interval() -> float:
    rate = settings.SUBSCRIPTIONS_MAX_SEND_RATE
    return 1.0 / rate if rate > 0 else 0.0


class _Seen:
    """Without a rate, what this process last read of the shared hold: Redis is asked at
    most every ``RECHECK`` seconds instead of once a message, so an unlimited pipeline
    pays no round trip per message and sees a hold set elsewhere within that time."""

    RECHECK = 0.1

    def __init__(self) -> None:
        self.hold_until = 0.0  # monotonic
        self.next_check = 0.0


_seen = _Seen()


def forget() -> None:
    """Forget what this process holds of the pacing (its own rate and back-off, what it
    last read of the shared hold): for tests, after the shared state was emptied."""
    global _local, _seen
    _local, _seen = _Local(), _Seen()


def _admit(slot: str) -> float:
    """Seconds to wait before the next message may start (0: start now, counted)."""
    interval = _interval()
    tolerance = max(interval, 0.1) if interval else 0.0
    client = _redis()
    if client is None:
        return _local.admit(interval, tolerance)
    now = time.monotonic()
    if not interval:
        if now < _seen.hold_until:
            return _seen.hold_until - now
        if now < _seen.next_check:
            return 0.0
    try:
        wait = (
            float(
                client.eval(
                    _ADMIT,
                    3,
                    RATE_KEY,
                    HOLD_KEY,
                    SLOTS_KEY,
                    interval * 1000,
                    tolerance * 1000,
                    slot,
                    settings.SUBSCRIPTIONS_LEASE_SECONDS * 1000,
                )
            )
            / 1000
        )
    except RedisError:
        logger.warning("Redis did not answer; pacing this process alone", exc_info=True)
        _seen.next_check = now + _Seen.RECHECK
        return _local.admit(interval, tolerance)
    if not interval:
        _seen.next_check = now + _Seen.RECHECK
        _seen.hold_until = now + wait
    return wait


def slow_down(seconds: float | None = None) -> float:
    """Hold every sender for ``seconds`` (``SUBSCRIPTIONS_SLOW_DOWN_SECONDS``); returns
    how long the shared hold now lasts."""
    seconds = settings.SUBSCRIPTIONS_SLOW_DOWN_SECONDS if seconds is None else seconds
    client = _redis()
    if client is not None:
        try:
            held = float(client.eval(_HOLD, 1, HOLD_KEY, seconds)) / 1000
            _seen.hold_until = time.monotonic() + held
            return held
        except RedisError:
            logger.warning("Redis did not answer; holding this process alone", exc_info=True)
    return _local.slow_down(seconds)


def wait_turn(fence: Callable[[], None] | None, slot: str = "") -> None:
    """Sleep until the rate and any back-off let one more message start, renewing the
    batch's lease (``fence``) while waiting."""
    while (wait := _admit(slot)) > 0:
        time.sleep(min(wait, NAP))
        if fence is not None and wait > NAP:
            fence()


def take_slot(fence: Callable[[], None] | None, patience: float | None = None) -> str:
    """A token holding one of the ``SUBSCRIPTIONS_SMTP_CONNECTIONS`` connection slots
    ("" when there is no cap or no Redis); waits at most ``patience`` seconds (half a
    lease by default: a slot whose holder died comes free after a whole one) for one to
    come free, then raises ``NoConnectionSlot``."""
    cap = settings.SUBSCRIPTIONS_SMTP_CONNECTIONS
    client = _redis() if cap > 0 else None
    if client is None:
        return ""
    token = uuid.uuid4().hex
    lease_ms = settings.SUBSCRIPTIONS_LEASE_SECONDS * 1000
    if patience is None:
        patience = settings.SUBSCRIPTIONS_LEASE_SECONDS / 2
    deadline = time.monotonic() + patience
    try:
        while client.eval(_TAKE_SLOT, 1, SLOTS_KEY, cap, token, lease_ms) != b"1":
            if time.monotonic() > deadline:
                raise NoConnectionSlot(f"all {cap} SMTP connections stayed busy")
            time.sleep(0.05)
            if fence is not None:
                fence()
    except RedisError:
        logger.warning("Redis did not answer; opening an SMTP connection uncapped")
        return ""
    return token


def give_slot(token: str) -> None:
    if not token:
        return
    client = _redis()
    if client is not None:
        with contextlib.suppress(RedisError):
            client.zrem(SLOTS_KEY, token)


def asks_to_slow_down(exc: BaseException) -> bool:
    """Whether an SMTP error is the server asking the client to slow down."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(code in SLOW_DOWN_CODES for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code in SLOW_DOWN_CODES


@contextlib.contextmanager
def paced(fence: Callable[[], None] | None, slot: str = "") -> Iterator[None]:
    """Around one message: wait for its turn, and hold every sender back when the server
    answers that it wants fewer messages."""
    wait_turn(fence, slot)
    try:
        yield
    except Exception as exc:
        if asks_to_slow_down(exc):
            held = slow_down()
            logger.warning("the mail server asked to slow down (%s); holding for %.0f s", exc, held)
        raise
