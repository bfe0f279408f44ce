"""A real HTTP receiver on loopback for the webhook, Slack and Teams tests: a threaded
``http.server`` that records every request and answers as the test told it to.

``receiver.answer(path, 500, 200)`` makes the first POST to ``path`` get a 500 and the
next ones a 200 (the last answer repeats); ``HANG`` holds the request open until
``release()`` (or a minute); ``Reply(status, headers)`` adds headers (``Retry-After``)."""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG = "hang"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    # Monotonic times: when the request arrived, when its answer was written (None while
    # it is held open). Used for ordering ("arrived while the other was held"), never as
    # a bound.
    arrived: float
    answered: float | None = None

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        self.answers: dict[str, list[Any]] = {}
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                record = Received(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                    time.monotonic(),
                )
                with receiver.lock:
                    receiver.requests.append(record)
                    plan = receiver.answers.get(self.path) or [200]
                    answer = plan.pop(0) if len(plan) > 1 else plan[0]
                if answer == HANG:
                    receiver.released.wait(60)
                    self.close_connection = True
                    return
                reply = answer if isinstance(answer, Reply) else Reply(int(answer))
                if reply.delay:
                    time.sleep(reply.delay)
                body = b"ok" if 200 <= reply.status < 300 else b"nope"
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass
                record.answered = time.monotonic()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, *answers: Any) -> None:
        with self.lock:
            self.answers[path] = list(answers)

    def release(self) -> None:
        self.released.set()

    def to(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def paths(self) -> list[str]:
        with self.lock:
            return [r.path for r in self.requests]
