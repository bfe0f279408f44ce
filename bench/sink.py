"""The handle both sinks share (``bench.smtpsink``, ``bench.httpsink``): a server in a
process of its own that counts what it accepts and when it accepted the last one, in
shared memory the harness reads without talking to it."""

import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any, ClassVar, Self


@dataclass
class CountingSink:
    """Handle on a sink process. A subclass names its server function (``serve(port,
    count, last_at, ready, sample_path)``, run in the child) and what it is called."""

    serve: ClassVar[Callable[..., None]]
    name: ClassVar[str]

    port: int
    process: BaseProcess
    _count: Any
    _last_at: Any

    @classmethod
    def start(cls, port: int, sample_path: str = "") -> Self:
        ctx = multiprocessing.get_context("spawn")
        count = ctx.Value("q", 0)
        last_at = ctx.Value("d", 0.0)
        ready = ctx.Event()
        process = ctx.Process(
            target=cls.serve,
            args=(port, count, last_at, ready, sample_path),
            name=f"bench-{cls.name}-sink",
            daemon=True,
        )
        process.start()
        if not ready.wait(20):
            process.terminate()
            raise RuntimeError(f"the {cls.name} sink did not start")
        return cls(port, process, count, last_at)

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
