"""A webhook sink in its own process: an asyncio HTTP/1.1 server (keep-alive) that answers
every POST with 200, keeps only a count and the time of the last one (shared memory the
harness reads), and one sample request (path, headers, body) for the raw-HTTP limit."""

import asyncio
import json
import multiprocessing
import os
import time
from dataclasses import dataclass

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


@dataclass
class HttpSink:
    """Handle on the sink process."""

    port: int
    process: multiprocessing.Process
    _count: object
    _last_at: object

    @classmethod
    def start(cls, port: int, sample_path: str = "") -> "HttpSink":
        ctx = multiprocessing.get_context("spawn")
        count = ctx.Value("q", 0)
        last_at = ctx.Value("d", 0.0)
        ready = ctx.Event()
        process = ctx.Process(
            target=_serve,
            args=(port, count, last_at, ready, sample_path),
            name="bench-http-sink",
            daemon=True,
        )
        process.start()
        if not ready.wait(20):
            process.terminate()
            raise RuntimeError("the HTTP sink did not start")
        return cls(port, process, count, last_at)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def count(self) -> int:
        return self._count.value

    @property
    def last_at(self) -> float:
        return self._last_at.value

    def reset(self) -> None:
        with self._count.get_lock():
            self._count.value = 0
        self._last_at.value = 0.0

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)
