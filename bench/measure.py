"""The measurements: load with wrk, cold renders in-process, the notification fan-out
end to end, and the raw SMTP limit."""

import contextlib
import http.client
import re
import smtplib
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# --- wrk ---------------------------------------------------------------------------------


@dataclass
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int = 0
    errors: int = 0  # non-2xx/3xx responses plus socket errors


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS[unit]


def parse_wrk(output: str) -> LoadResult:
    """Requests/s, p50, p99 and errors from ``wrk --latency`` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output):
        errors += int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        # read errors are the server closing after each response (gunicorn sync workers
        # do not keep connections alive); connect/write/timeout errors are real failures.
        errors += int(match.group(1)) + int(match.group(3)) + int(match.group(4))
    return LoadResult(rps=rps, p50_ms=p50, p99_ms=p99, requests=requests, errors=errors)


def run_wrk(
    wrk: str, url: str, *, seconds: float, connections: int = 10, threads: int = 2
) -> LoadResult:
    args = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "5s",
        # What browsers and CDNs send: a server that compresses gets the credit.
        "-H",
        "Accept-Encoding: gzip, deflate, br",
        url,
    ]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def load_medians(results: list[LoadResult]) -> LoadResult:
    return LoadResult(
        rps=median(r.rps for r in results),
        p50_ms=median(r.p50_ms for r in results),
        p99_ms=median(r.p99_ms for r in results),
        requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results),
    )


# --- cold renders ------------------------------------------------------------------------


@dataclass
class ColdResult:
    ms: float
    queries: int
    max_queries: int
    status: int


def empty_caches() -> None:
    """Forget every rendering: the shared cache, this process's page LRU and its
    remembered revision (what the first reader after a write meets)."""
    from django.core.cache import cache

    from statusportal import pagecache, revision

    cache.clear()
    process_cache = getattr(pagecache, "process_cache", None)
    if process_cache is not None:
        process_cache.clear()
    forget = getattr(revision, "forget", None)
    if forget is not None:
        forget()


def cold_render(path: str, *, runs: int) -> ColdResult:
    """Render ``path`` in this process with the cache emptied before each request: the
    median time, and the SQL queries counted by Django."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME="127.0.0.1")
    empty_caches()
    client.get(path)  # imports, template compilation, connection: not what we measure
    times, counts, status = [], [], 0
    for _ in range(runs):
        empty_caches()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        counts.append(len(queries))
        status = response.status_code
    return ColdResult(
        ms=median(times), queries=int(median(counts)), max_queries=max(counts), status=status
    )


# --- memory --------------------------------------------------------------------------------


class RssSampler:
    """Peak resident memory of a process tree (sum over the tree), sampled every 20 ms.

    The tree's members are looked up again only every half second: finding a process's
    children reads every process of the machine (``/proc``, about 1 ms of CPU), which
    every 20 ms took ~5 % of a core from the fan-out being measured, and nothing from the
    raw limit it is compared with. Reading a known process's memory costs ~15 µs."""

    def __init__(self, pid: int, interval: float = 0.02, tree_every: float = 0.5):
        self.pid = pid
        self.interval = interval
        self.tree_every = tree_every
        self.peak = 0
        self._tree: list = []
        self._tree_at = float("-inf")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def tree_rss(self) -> int:
        import psutil

        if time.monotonic() - self._tree_at >= self.tree_every:
            root = psutil.Process(self.pid)
            self._tree = [root, *root.children(recursive=True)]
            self._tree_at = time.monotonic()
        total = 0
        for proc in self._tree:
            with contextlib.suppress(psutil.Error):  # a child that just exited
                total += proc.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                self.peak = max(self.peak, self.tree_rss())
            self._stop.wait(self.interval)

    def __enter__(self) -> "RssSampler":
        self.peak = self.tree_rss()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


# --- the raw SMTP limit ------------------------------------------------------------------


def raw_smtp_rate(port: int, sender: str, message: bytes, count: int, sink) -> float:
    """Messages/s for one process sending ``message`` ``count`` times over ONE SMTP
    connection to the sink, until the sink accepted the last one."""
    sink.reset()
    started = time.time()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        for n in range(count):
            smtp.sendmail(sender, [f"raw{n}@example.test"], message)
    wait_count(sink, count, timeout=60)
    return count / (sink.last_at - started)


def raw_http_rate(port: int, path: str, headers: dict, body: bytes, count: int, sink) -> float:
    """POSTs/s for one process sending the same request ``count`` times over ONE
    kept-alive HTTP connection to the sink, until the sink counted the last one."""
    sink.reset()
    keep = {k: v for k, v in headers.items() if k not in ("host", "content-length")}
    started = time.time()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for _ in range(count):
            connection.request("POST", path, body=body, headers=keep)
            connection.getresponse().read()
    finally:
        connection.close()
    wait_count(sink, count, timeout=60)
    return count / (sink.last_at - started)


def wait_count(sink, count: int, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while sink.count < count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# --- the fan-out -------------------------------------------------------------------------


@dataclass
class FanoutResult:
    subscribers: int
    request_ms: float
    last_email_s: float | None
    emails_per_s: float | None
    peak_rss_mb: float
    delivered: int
    status: int = 0
    notes: list = field(default_factory=list)
