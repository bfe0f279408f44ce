"""An SMTP sink in its own process: accepts every message, keeps only a count and the time
the last one was accepted (shared memory the harness reads without talking SMTP)."""

import asyncio
import os
import time

from bench.sink import CountingSink


class _Counter:
    """aiosmtpd handler: count each accepted message, remember when."""

    def __init__(self, count, last_at, sample_path):
        self.count = count
        self.last_at = last_at
        self.sample_path = sample_path

    async def handle_DATA(self, server, session, envelope):
        # Each shared Value carries its own lock; the harness only reads them.
        with self.count.get_lock():
            self.count.value += 1
        self.last_at.value = time.time()
        if self.sample_path and not os.path.exists(self.sample_path):
            # Keep one real message: the raw-limit sender replays exactly these bytes.
            with open(self.sample_path, "wb") as f:
                f.write(envelope.mail_from.encode() + b"\n" + envelope.original_content)
        return "250 Message accepted for delivery"


def _serve(port: int, count, last_at, ready, sample_path) -> None:
    from aiosmtpd.smtp import SMTP

    async def main():
        loop = asyncio.get_running_loop()
        handler = _Counter(count, last_at, sample_path)
        # hostname given so that aiosmtpd does not look up the machine's FQDN per session.
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="bench-sink", decode_data=False),
            host="127.0.0.1",
            port=port,
        )
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def read_sample(path: str) -> tuple[str, bytes]:
    """The (sender, message bytes) the sink kept."""
    with open(path, "rb") as f:
        sender, _, content = f.read().partition(b"\n")
    return sender.decode(), content


class SmtpSink(CountingSink):
    """Handle on the sink process."""

    serve = staticmethod(_serve)
    name = "SMTP"
