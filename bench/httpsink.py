"""A webhook sink in its own process: an asyncio HTTP/1.1 server (keep-alive) that answers
every POST with 200, keeps only a count and the time of the last one (shared memory the
harness reads), and one sample request (path, headers, body) for the raw-HTTP limit."""

import asyncio
import json
import os
import time

from bench.sink import CountingSink

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class _Handler:
    def __init__(self, count, last_at, sample_path):
        self.count = count
        self.last_at = last_at
        self.sample_path = sample_path

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name:
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                with self.count.get_lock():
                    self.count.value += 1
                self.last_at.value = time.time()
                if self.sample_path and not os.path.exists(self.sample_path):
                    # Keep one real request: the raw-limit sender replays exactly it.
                    with open(self.sample_path, "w") as f:
                        sample = {"path": lines[0].split(" ")[1], "headers": headers}
                        json.dump({**sample, "body": body.decode()}, f)
                writer.write(ANSWER)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


def _serve(port: int, count, last_at, ready, sample_path) -> None:
    async def main():
        handler = _Handler(count, last_at, sample_path)
        server = await asyncio.start_server(handler.serve, "127.0.0.1", port, backlog=1024)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def read_sample(path: str) -> tuple[str, dict[str, str], bytes]:
    """The (path, headers, body) the sink kept."""
    with open(path) as f:
        sample = json.load(f)
    return sample["path"], sample["headers"], sample["body"].encode()


class HttpSink(CountingSink):
    """Handle on the sink process."""

    serve = staticmethod(_serve)
    name = "HTTP"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"
