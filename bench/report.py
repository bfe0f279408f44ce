"""The one table: figures, the limit measured in the same run, the ratio, the target and
whether it was met. The targets are the product's performance goals (bench/README.md,
"Targets"); they are reported, never asserted."""

import os
import platform
import subprocess
from dataclasses import dataclass

# Targets (bench/README.md, "Targets").
CACHED_RATIO = 1.0  # cached pages: ≥ 1.0 x the constant view's requests/s (served before
CACHED_P99_MS = 20.0  # the middleware stack it goes through) with p99 under 20 ms
CACHED_API_RATIO = 0.8  # cached /api/v1 reads: ≥ 0.8 x the constant view …
CACHED_API_P99_MS = 50.0  # … with p99 under 50 ms
COLD_API_MS = 15.0  # cold /api/v1 incident list with 5,000 incidents
COLD_STATUS_MS = 25.0  # cold status page with 5,000 incidents (first goal: < 50 ms)
COLD_HISTORY_MS = 50.0  # cold /history/ with 5,000 incidents
COLD_UPTIME_MS = 50.0  # cold /uptime/ with 5,000 incidents
COLD_GROWTH = 1.5  # cold render time growth from the smallest to the largest history
POST_MS = 200.0  # posting an update returns within this, whatever the audience
FANOUT_RATIO = 0.8  # fan-out ≥ 0.8 x the raw SMTP limit at every size (first goal: 0.5)
WEBHOOK_RATIO = 0.5  # webhook fan-out ≥ 0.5 x the raw HTTP limit (one process, one connection)
RSS_SPREAD = 0.10  # worker peak memory within 10 % from the smallest to the largest audience
IMPORT_SECONDS = 60.0  # import_statuspage of 5,000 incidents with 4 updates each


@dataclass
class Row:
    what: str
    figure: str
    limit: str = "—"
    ratio: str = "—"
    target: str = "—"
    verdict: str = ""


def verdict(ok: bool | None) -> str:
    if ok is None:
        return "n/a"
    return "met" if ok else "MISSED"


def fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "—"
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"


def fmt_ratio(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}x"


def table(rows: list[Row]) -> str:
    """A Markdown table, readable as plain text in a terminal."""
    header = Row("what", "figure (median)", "limit (same run)", "ratio", "target", "")
    cells = [[r.what, r.figure, r.limit, r.ratio, r.target, r.verdict] for r in [header, *rows]]
    widths = [max(len(c[i]) for c in cells) for i in range(6)]
    lines = []
    for n, c in enumerate(cells):
        lines.append("| " + " | ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _version(args: list[str]) -> str:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except Exception:
        return "?"


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    import django
    import psutil

    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores (nproc)",
        "RAM": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Django": django.get_version(),
        "PostgreSQL": _version(["psql", "--version"]),
        "Redis": _version(["redis-server", "--version"]),
        "wrk": _version(["wrk", "--version"]),
        "load average at start": f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
    }
