"""``python -m bench``: set up the stack, load the data, measure, print one table.

Steps (each section can be skipped with ``--only``):

1. start a private redis-server, create a fresh PostgreSQL database, start the SMTP sink;
   migrate and collect static files as a deployment does;
2. growth: load 1k, 10k, 100k incidents in turn and time cold renders in-process;
3. load the main data set (5,000 incidents, 50,000 subscribers), open one incident;
4. start gunicorn (2 workers) and a Celery worker (2 processes); load each page with wrk,
   interleaved with the constant view so both see the same machine;
5. fan-out: post an update through the API to 10k, 50k and 100k subscribers and wait for
   the sink to accept the last email; compare with one process replaying the same message
   over one SMTP connection;
6. webhooks: the same with 10k and 50k webhook subscribers (each its own endpoint URL on
   one HTTP sink), sent by the HTTP channels' worker; compare with one process POSTing
   the same request over one kept-alive connection; the HTTP worker's peak memory;
7. import: ``manage.py import_statuspage`` of a page with 5,000 incidents of 4 updates each
   from a Statuspage-shaped manage API on loopback (tests/importer/fakeapi.py, in a
   process of its own), then the same import again (nothing to change);
7. print the table (and write it to bench/RESULTS.md after a full run); drop the database.
"""

import argparse
import io
import json
import os
import signal
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from bench import measure, report
from bench.report import Row, fmt_ms, fmt_ratio, verdict
from bench.stack import ROOT, Stack, ensure_wrk

RESULTS = Path(__file__).with_name("RESULTS.md")
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

PAGES = [  # (label, path; "{incident}" is the code of a resolved incident with a postmortem)
    ("status page `/`", "/"),
    ("incident page", "/incidents/{incident}/"),
    ("`/history/`", "/history/"),
    ("`/uptime/`", "/uptime/"),
    ("`/api/v2/summary.json`", "/api/v2/summary.json"),
    ("`/api/v1/incidents/?status=resolved`", "/api/v1/incidents/?status=resolved"),
    (
        "`/api/v1/incidents/?kind=maintenance&status=completed`",
        "/api/v1/incidents/?kind=maintenance&status=completed",
    ),
    (
        "`/api/v1/incidents/?has_postmortem=true&impact=major`",
        "/api/v1/incidents/?has_postmortem=true&impact=major",
    ),
]
CONSTANT = "/bench/constant/"
SECTIONS = ["growth", "cold", "load", "fanout", "webhooks", "pace", "import"]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="small sizes and short runs (about 3 minutes): a check, not a result",
    )
    p.add_argument("--duration", type=float, help="seconds of wrk per page and run (10)")
    p.add_argument("--runs", type=int, help="runs per figure; the median is shown (3)")
    p.add_argument("--incidents", type=int, help="incidents in the main data set (5000)")
    p.add_argument("--subscribers", type=int, help="subscribers in the main data set (50000)")
    p.add_argument("--growth", help="history sizes for cold-render growth (1000,10000,100000)")
    p.add_argument("--fanout", help="audiences for the fan-out (10000,50000,100000)")
    p.add_argument("--fanout-runs", type=int, help="posts per audience (2)")
    p.add_argument("--raw-count", type=int, help="messages for the raw SMTP limit (10000)")
    p.add_argument("--webhooks", help="webhook audiences (10000,50000)")
    p.add_argument("--raw-http-count", type=int, help="requests for the raw HTTP limit (10000)")
    p.add_argument("--import-incidents", type=int, help="incidents imported (5000)")
    p.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help="comma-separated sections to run: " + ",".join(SECTIONS),
    )
    p.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server where a database may be created (BENCH_PG_URL)",
    )
    p.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    p.add_argument(
        "--profile", action="store_true", help="print a pyinstrument profile of each cold render"
    )
    p.add_argument(
        "--write-results",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write the table to bench/RESULTS.md (default: on for full runs of every section)",
    )
    args = p.parse_args(argv)
    quick = args.quick
    defaults = {
        "duration": 3 if quick else 10,
        "runs": 2 if quick else 3,
        "incidents": 1000 if quick else 5000,
        "subscribers": 5000 if quick else 50_000,
        "growth": "1000,10000" if quick else "1000,10000,100000",
        "fanout": "1000,5000" if quick else "10000,50000,100000",
        "fanout_runs": 1 if quick else 2,
        "raw_count": 2000 if quick else 10_000,
        "webhooks": "1000,5000" if quick else "10000,50000",
        "raw_http_count": 2000 if quick else 10_000,
        "import_incidents": 1000 if quick else 5000,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.growth = [int(x) for x in str(args.growth).split(",") if x]
    args.fanout = sorted(int(x) for x in str(args.fanout).split(",") if x)
    args.webhooks = sorted(int(x) for x in str(args.webhooks).split(",") if x)
    args.only = set(args.only.split(","))
    if args.write_results is None:
        # A run of some sections only would replace the full table with its few rows.
        args.write_results = not quick and args.only >= set(SECTIONS)
    return args


def say(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def setup_django(stack: Stack) -> None:
    os.environ.update(stack.env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    # Manifest static storage (DEBUG off) needs collected files, as in a deployment.
    call_command("collectstatic", verbosity=0, interactive=False)


def open_current_incident():
    """One unresolved incident, so the status page shows what it shows in a bad hour."""
    from components.models import Component
    from incidents import services

    components = list(Component.objects.order_by("pk")[:2])
    return services.open_incident(
        name="Elevated error rates on the API",
        status="investigating",
        body="We are investigating elevated error rates on **the API**.",
        components={c.code: "partial_outage" for c in components},
        deliver_notifications=False,
    )


def sample_incident_code() -> str:
    """A recent resolved incident with a published postmortem (the richest page)."""
    from incidents.models import Incident

    found = (
        Incident.objects.filter(status="resolved", postmortem__published_at__isnull=False)
        .order_by("-started_at")
        .values_list("code", flat=True)
        .first()
    )
    return found or Incident.objects.order_by("-started_at").values_list("code", flat=True)[0]


def pages(code: str) -> list[tuple[str, str]]:
    return [(label, path.format(incident=code)) for label, path in PAGES]


def is_api_v1(label: str) -> bool:
    """/api/v1 reads have their own targets: cached ≥ 0.8x, cold < 15 ms."""
    return "/api/v1/" in label


def cold_section(paths, runs: int, profile: bool) -> dict[str, measure.ColdResult]:
    results = {}
    for label, path in paths:
        results[label] = measure.cold_render(path, runs=runs)
        if profile:
            profile_render(path)
    return results


def profile_render(path: str) -> None:
    from django.test import Client
    from pyinstrument import Profiler

    client = Client(SERVER_NAME="127.0.0.1")
    measure.empty_caches()
    profiler = Profiler(interval=0.0005)
    with profiler:
        client.get(path)
    print(profiler.output_text(unicode=True, color=False, show_all=False))


# --- sections ----------------------------------------------------------------------------


def growth(args, rows: list[Row]) -> None:
    from bench import data

    by_size = {}
    for size in args.growth:
        data.empty()
        # History grows by lasting longer, at the main data set's density (5,000 incidents
        # in two years): what the pages show of the recent past stays the same size.
        loaded = data.load(size, days=data.HISTORY_DAYS * size / args.incidents)
        say(
            f"growth: loaded {size:,} incidents ({loaded['updates']:,} updates, "
            f"{loaded['status_changes']:,} status changes) in {loaded['seconds']:.1f} s"
        )
        open_current_incident()
        by_size[size] = cold_section(pages(sample_incident_code()), max(args.runs, 5), False)
        for label, r in by_size[size].items():
            say(f"  cold {label}: {r.ms:.1f} ms, {r.queries} queries (HTTP {r.status})")
    first, last = min(by_size), max(by_size)
    sizes = "/".join(f"{s // 1000}k" for s in sorted(by_size))
    for label, _ in PAGES:
        ms = [by_size[s][label].ms for s in sorted(by_size)]
        qs = [by_size[s][label].max_queries for s in sorted(by_size)]
        growth_x = by_size[last][label].ms / by_size[first][label].ms
        ok = len(set(qs)) == 1 and growth_x < report.COLD_GROWTH
        rows.append(
            Row(
                f"{label} cold, growth {sizes} incidents",
                " / ".join(f"{m:.1f}" for m in ms)
                + " ms; "
                + " / ".join(map(str, qs))
                + " queries",
                "—",
                fmt_ratio(growth_x),
                f"queries fixed, time < {report.COLD_GROWTH}x",
                verdict(ok),
            )
        )


def cold_target(label: str) -> float | None:
    """The cold-render target of a page at 5k incidents, if it has one."""
    if label.startswith("status page"):
        return report.COLD_STATUS_MS
    if label.startswith("`/history/`"):
        return report.COLD_HISTORY_MS
    if label.startswith("`/uptime/`"):
        return report.COLD_UPTIME_MS
    return report.COLD_API_MS if is_api_v1(label) else None


def cold(args, rows: list[Row], code: str) -> None:
    results = cold_section(pages(code), max(args.runs, 5), args.profile)
    for label, r in results.items():
        limit_ms = cold_target(label)
        bad = f" (HTTP {r.status})" if r.status != 200 else ""
        rows.append(
            Row(
                f"{label} cold, {args.incidents // 1000}k incidents",
                f"{fmt_ms(r.ms)}, {r.queries} queries{bad}",
                target=f"< {limit_ms:.0f} ms" if limit_ms else "—",
                verdict=verdict(r.ms < limit_ms and not bad) if limit_ms else "",
            )
        )


def load(args, rows: list[Row], stack: Stack, wrk: str, code: str) -> None:
    paths = pages(code)
    cached = {}
    for label, path in paths:  # fill the cache as the first reader would
        with urllib.request.urlopen(stack.url(path), timeout=30) as response:
            response.read()
            cached[label] = "public" in response.headers.get("Cache-Control", "")
    constant, per_page = [], {label: [] for label, _ in paths}
    for run in range(args.runs):
        # Interleaved: the limit and the pages see the same background load.
        constant.append(measure.run_wrk(wrk, stack.url(CONSTANT), seconds=args.duration))
        for label, path in paths:
            per_page[label].append(measure.run_wrk(wrk, stack.url(path), seconds=args.duration))
        say(
            f"load: run {run + 1}/{args.runs}, constant view {constant[-1].rps:.0f} req/s, "
            + ", ".join(f"{label.split()[0]} {r[-1].rps:.0f}" for label, r in per_page.items())
        )
    limit = measure.load_medians(constant)
    rows.append(
        Row(
            "constant view (the limit)",
            f"{limit.rps:.0f} req/s, p50 {fmt_ms(limit.p50_ms)}, p99 {fmt_ms(limit.p99_ms)}",
        )
    )
    for label, results in per_page.items():
        r = measure.load_medians(results)
        # Per run, page and limit saw the same background load: the median of the per-run
        # ratios is steadier than a ratio of medians when the machine is shared.
        ratio = measure.median(p.rps / c.rps for p, c in zip(results, constant, strict=True))
        errors = f", {r.errors} errors" if r.errors else ""
        want_ratio, want_p99 = (
            (report.CACHED_API_RATIO, report.CACHED_API_P99_MS)
            if is_api_v1(label)
            else (report.CACHED_RATIO, report.CACHED_P99_MS)
        )
        ok = ratio >= want_ratio and r.p99_ms < want_p99 and not r.errors
        # The target is for cached pages; an uncached endpoint is shown against the same
        # limit, for information.
        rows.append(
            Row(
                f"{label} {'cached' if cached[label] else 'UNCACHED'}, wrk 10 conn.",
                f"{r.rps:.0f} req/s, p50 {fmt_ms(r.p50_ms)}, p99 {fmt_ms(r.p99_ms)}{errors}",
                f"{limit.rps:.0f} req/s",
                fmt_ratio(ratio),
                f"≥ {want_ratio}x, p99 < {want_p99:.0f} ms"
                if cached[label]
                else "— (not a cached page)",
                verdict(ok) if cached[label] else "",
            )
        )


def api_token() -> str:
    from django.contrib.auth import get_user_model

    from statusportal.api.tokens import create_token

    user, _ = get_user_model().objects.get_or_create(
        username="bench-operator", defaults={"is_staff": True, "is_superuser": True}
    )
    return create_token(user, f"bench-{time.time_ns()}")[1]


def post_update(
    stack: Stack, token: str, code: str, status: str, notify: bool = True
) -> tuple[float, int, str]:
    """POST an update through the API; (milliseconds until it returned, HTTP status, body)."""
    body = json.dumps(
        {
            "status": status,
            "body": "We are still working on **the API** errors; next update in 30 minutes.",
            "deliver_notifications": notify,
        }
    ).encode()
    request = urllib.request.Request(
        stack.url(f"/api/v1/incidents/{code}/updates/"),
        data=body,
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            text, status_code = response.read().decode(), response.status
    except urllib.error.HTTPError as exc:
        text, status_code = exc.read().decode(errors="replace"), exc.code
    return (time.perf_counter() - started) * 1000, status_code, text


def drain(stack: Stack, timeout: float) -> None:
    """Wait until no delivery is pending or sending (the worker finished bookkeeping)."""
    from subscriptions.models import Delivery

    deadline = time.monotonic() + timeout
    while Delivery.objects.filter(state__in=["pending", "sending"]).exists():
        if time.monotonic() > deadline:
            # Leave a clean slate for the next run: drop queued tasks, give up the rest.
            import redis

            redis.Redis(port=stack.redis_port, db=1).flushdb()
            Delivery.objects.filter(state__in=["pending", "sending"]).update(state="failed")
            return
        time.sleep(0.2)


def post_and_count(
    stack: Stack,
    sink,
    worker_pid: int | None,
    token: str,
    code: str,
    n: int,
    status: str,
    timeout: float,
    what: str = "accepted",
) -> measure.FanoutResult:
    """Post an update to ``n`` subscribers and wait until ``sink`` counted ``n`` messages,
    sampling the memory of the worker tree ``worker_pid`` meanwhile."""
    sink.reset()
    with measure.RssSampler(worker_pid) as rss:
        started = time.time()
        request_ms, http_status, text = post_update(stack, token, code, status)
        if http_status != 201:
            say(f"  POST answered {http_status}: {text[:300]}")
        done = measure.wait_count(sink, n, timeout=timeout)
    delivered = sink.count
    elapsed = (sink.last_at - started) if sink.last_at else None
    result = measure.FanoutResult(
        subscribers=n,
        request_ms=request_ms,
        last_email_s=elapsed if done else None,
        emails_per_s=(delivered / elapsed) if elapsed else None,
        peak_rss_mb=rss.peak / 2**20,
        delivered=delivered,
        status=http_status,
    )
    if not done:
        result.notes.append(f"timeout after {timeout:.0f} s: {delivered:,}/{n:,} {what}")
    drain(stack, 60 if done else 5)
    return result


def fanout(args, rows: list[Row], stack: Stack) -> None:
    from bench import data

    token = api_token()
    incident = open_current_incident()
    statuses = ["identified", "monitoring", "identified", "monitoring"]
    # Start from an empty audience; it only grows from one size to the next.
    data.empty(data.app_models(["subscriptions"]))
    # Warm both gunicorn workers' API code paths (a first request imports and connects).
    for _ in range(4):
        post_update(stack, token, incident.code, "investigating", notify=False)
    by_size, raw_by_size = {}, {}
    for n in args.fanout:
        added = data.add_subscribers(n)
        say(f"fan-out: {n:,} subscribers ({added['added']:,} added in {added['seconds']:.1f} s)")
        results, raw = [], []
        for run in range(args.fanout_runs):
            # Generous, yet bounded: 25 emails/s at worst before giving up.
            r = post_and_count(
                stack,
                stack.sink,
                stack.worker_pid(),
                token,
                incident.code,
                n,
                statuses[run % 4],
                30 + n / 25,
            )
            results.append(r)
            say(
                f"  post returned in {r.request_ms:.0f} ms (HTTP {r.status}); "
                f"{r.delivered:,} emails, last after {r.last_email_s or float('nan'):.1f} s, "
                f"{r.emails_per_s or 0:.0f}/s; worker peak RSS {r.peak_rss_mb:.0f} MB "
                + " ".join(r.notes)
            )
            # The limit right after each post, so both see the same background load.
            if stack.sample_path.exists():
                from bench.smtpsink import read_sample

                sender, message = read_sample(str(stack.sample_path))
                raw.append(
                    measure.raw_smtp_rate(
                        stack.smtp_port, sender, message, args.raw_count, stack.sink
                    )
                )
                say(
                    f"  raw SMTP limit: {raw[-1]:.0f} messages/s over one connection "
                    f"({len(message):,}-byte message)"
                )
        by_size[n] = results
        raw_by_size[n] = measure.median(raw)
    for n, results in by_size.items():
        req = measure.median(r.request_ms for r in results)
        rows.append(
            Row(
                f"post update → {n // 1000}k subscribers: request",
                fmt_ms(req),
                "—",
                "—",
                f"< {report.POST_MS:.0f} ms",
                verdict(req < report.POST_MS),
            )
        )
        rows.append(
            throughput_row(
                f"post update → {n // 1000}k subscribers: fan-out",
                "email",
                "worker",
                results,
                raw_by_size[n],
                report.FANOUT_RATIO,
            )
        )
    if len(by_size) > 1:
        rows.append(rss_spread_row("worker peak RSS ", "subscribers", by_size))


def throughput_row(
    what: str, item: str, worker: str, results: list, raw_rate: float | None, target: float
) -> Row:
    """A fan-out row: the medians of an audience's runs (time to the last ``item``,
    ``item``s/s, the ``worker``'s peak memory) against the raw limit measured beside them."""
    last = measure.median(r.last_email_s for r in results)
    rate = measure.median(r.emails_per_s for r in results)
    rss = measure.median(r.peak_rss_mb for r in results)
    notes = "; ".join(note for r in results for note in r.notes)
    ratio = rate / raw_rate if rate and raw_rate else None
    return Row(
        what,
        (f"last {item} {last:.1f} s, " if last else "")
        + f"{rate or 0:.0f} {item}s/s, {worker} peak RSS {rss:.0f} MB"
        + (f" ({notes})" if notes else ""),
        f"{raw_rate:.0f} {item}s/s raw" if raw_rate else "—",
        fmt_ratio(ratio),
        f"≥ {target}x raw",
        verdict(ratio >= target if ratio else None),
    )


def rss_spread_row(what: str, unit: str, by_size: dict) -> Row:
    """The peak-memory row from the smallest to the largest audience: flat is the target."""
    small, large = min(by_size), max(by_size)
    rss_small = measure.median(r.peak_rss_mb for r in by_size[small])
    rss_large = measure.median(r.peak_rss_mb for r in by_size[large])
    spread = rss_large / rss_small - 1
    return Row(
        f"{what}{small // 1000}k → {large // 1000}k {unit}",
        f"{rss_small:.0f} → {rss_large:.0f} MB ({spread:+.0%})",
        "—",
        fmt_ratio(rss_large / rss_small),
        f"within {report.RSS_SPREAD:.0%}",
        verdict(abs(spread) <= report.RSS_SPREAD),
    )


def webhooks(args, rows: list[Row], stack: Stack) -> None:
    """Webhook subscribers end to end: post an update, wait for the sink to have every
    endpoint's POST; against one process POSTing the same request on one connection."""
    from bench import data
    from bench.httpsink import read_sample

    stack.start_http_worker()
    say(f"webhooks: HTTP worker pid {stack.http_worker_pid()}, sink :{stack.http_port}")
    token = api_token()
    incident = open_current_incident()
    statuses = ["identified", "monitoring", "identified", "monitoring"]
    data.empty(data.app_models(["subscriptions"]))
    by_size, raw_by_size = {}, {}
    for n in args.webhooks:
        added = data.add_webhook_subscribers(n, stack.http_sink.url(""))
        say(f"webhooks: {n:,} endpoints ({added['added']:,} added in {added['seconds']:.1f} s)")
        results, raw = [], []
        for run in range(args.fanout_runs):
            r = post_and_count(
                stack,
                stack.http_sink,
                stack.http_worker_pid(),
                token,
                incident.code,
                n,
                statuses[run % 4],
                30 + n / 25,
                what="received",
            )
            results.append(r)
            say(
                f"  post returned in {r.request_ms:.0f} ms (HTTP {r.status}); "
                f"{r.delivered:,} POSTs, last after {r.last_email_s or float('nan'):.1f} s, "
                f"{r.emails_per_s or 0:.0f}/s; HTTP worker peak RSS {r.peak_rss_mb:.0f} MB "
                + " ".join(r.notes)
            )
            if stack.http_sample_path.exists():
                path, headers, body = read_sample(str(stack.http_sample_path))
                raw.append(
                    measure.raw_http_rate(
                        stack.http_port, path, headers, body, args.raw_http_count, stack.http_sink
                    )
                )
                say(
                    f"  raw HTTP limit: {raw[-1]:.0f} POSTs/s over one connection "
                    f"({len(body):,}-byte body)"
                )
        by_size[n] = results
        raw_by_size[n] = measure.median(raw)
    for n, results in by_size.items():
        rows.append(
            throughput_row(
                f"post update → {n // 1000}k webhook subscribers",
                "POST",
                "HTTP worker",
                results,
                raw_by_size[n],
                report.WEBHOOK_RATIO,
            )
        )
    if len(by_size) > 1:
        rows.append(rss_spread_row("HTTP worker peak RSS ", "webhook endpoints", by_size))


def import_section(args, rows: list[Row]) -> None:
    """Import a whole page through the manage API, then again (nothing changes)."""
    from django.core.management import call_command

    from bench import data
    from incidents.models import Incident, IncidentUpdate
    from tests.importer.fakeapi import API_KEY, PAGE_ID, serve_in_process

    data.empty()
    url, stop = serve_in_process(args.import_incidents)
    seconds = []
    try:
        for _ in range(2):
            started = time.monotonic()
            call_command(
                "import_statuspage",
                "--url",
                url,
                "--page-id",
                PAGE_ID,
                "--api-key",
                API_KEY,
                stdout=io.StringIO(),
            )
            seconds.append(time.monotonic() - started)
    finally:
        stop()
    incidents, updates = Incident.objects.count(), IncidentUpdate.objects.count()
    say(
        f"import: {incidents:,} incidents, {updates:,} updates in {seconds[0]:.1f} s; "
        f"again in {seconds[1]:.1f} s"
    )
    rows.append(
        Row(
            f"`import_statuspage`, {args.import_incidents // 1000}k incidents x 4 updates",
            f"{seconds[0]:.1f} s ({incidents:,} incidents, {updates:,} updates); "
            f"re-run {seconds[1]:.1f} s",
            target=f"< {report.IMPORT_SECONDS:.0f} s",
            verdict=verdict(seconds[0] < report.IMPORT_SECONDS),
        )
    )
    data.empty()


# --- main --------------------------------------------------------------------------------


def write_results(text: str) -> None:
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        current = head + block + rest.split(END, 1)[1]
    else:
        current = current.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(current)


def main(argv=None) -> int:
    args = parse_args(argv)
    # A plain `kill` (or a timeout) still stops the services and drops the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    machine = report.machine()
    wrk = ensure_wrk() if "load" in args.only else None
    rows: list[Row] = []
    with Stack(pg_url=args.pg_url, keep_db=args.keep_db) as stack:
        say(
            f"stack: database {stack.db_name}, redis :{stack.redis_port}, "
            f"SMTP sink :{stack.smtp_port}, var {stack.var_dir}"
        )
        setup_django(stack)
        from bench import data

        if "import" in args.only:
            import_section(args, rows)
        if "growth" in args.only:
            growth(args, rows)
        if not args.only & {"growth", "cold", "load", "fanout", "webhooks", "pace"}:
            return finish(args, argv, started, machine, rows)
        data.empty()
        loaded = data.load(args.incidents)
        subs = data.add_subscribers(args.subscribers)
        say(
            f"main data set: {loaded['incidents']:,} incidents, {loaded['updates']:,} updates, "
            f"{loaded['status_changes']:,} status changes in {loaded['seconds']:.1f} s; "
            f"{subs['added']:,} subscribers in {subs['seconds']:.1f} s"
        )
        open_current_incident()
        code = sample_incident_code()
        if "cold" in args.only:
            cold(args, rows, code)
        if args.only & {"load", "fanout", "webhooks", "pace"}:
            stack.start_web()
            stack.start_worker()
            say(f"gunicorn :{stack.web_port} (2 workers), celery worker pid {stack.worker_pid()}")
        if "load" in args.only:
            load(args, rows, stack, wrk, code)
        if "fanout" in args.only:
            fanout(args, rows, stack)
        if "webhooks" in args.only:
            webhooks(args, rows, stack)
        if "pace" in args.only:
            from bench.pace import pace

            pace(args, rows, stack, post_update, api_token, open_current_incident, drain)
    return finish(args, argv, started, machine, rows)


def finish(args, argv, started: float, machine: dict, rows: list[Row]) -> int:
    minutes = (time.monotonic() - started) / 60
    load_now = os.getloadavg()
    machine["load average at end"] = f"{load_now[0]:.2f} {load_now[1]:.2f} {load_now[2]:.2f}"
    header = (
        f"Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {minutes:.1f} min, "
        f"`{' '.join(['python -m bench', *(sys.argv[1:] if argv is None else argv)])}`"
        + f"; wrk {args.duration:g} s x {args.runs} runs per page, 10 connections.\n\n"
        + "\n".join(f"- {k}: {v}" for k, v in machine.items())
    )
    text = header + "\n\n" + report.table(rows)
    print("\n" + text)
    if args.write_results:
        write_results(text)
        say(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
