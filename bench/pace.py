"""The send rate held under ``SUBSCRIPTIONS_MAX_SEND_RATE`` (section ``pace``).

First the worker's own speed with no limit (the "limit" column: a rate above it cannot be
held), then for each rate the Celery worker (2 pool processes, sharing the limit through the bench's
Redis) is restarted with the limit set, an update is posted to ``rate x 20`` subscribers,
and the sink's count is sampled every 5 ms. The rate is read between 10 % and 90 % of the
messages (start-up and the last batches' tails left out) and compared with the limit:
held within 5 % is the target.
"""

import time

from bench import measure
from bench.report import Row, fmt_ratio, verdict

RATES = (50, 500)
SECONDS = 20  # of sending at each rate
HELD_WITHIN = 0.05


def crossing_times(sink, total: int, timeout: float) -> tuple[float | None, float | None]:
    """When the sink's count passed 10 % and 90 % of ``total``."""
    t10 = t90 = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = sink.count
        now = time.monotonic()
        if t10 is None and count >= total * 0.1:
            t10 = now
        if count >= total * 0.9:
            t90 = now
            break
        time.sleep(0.005)
    else:
        print(f"  pace: only {sink.count:,}/{total:,} accepted after {timeout:.0f} s", flush=True)
    return t10, t90


def paced_run(stack, post_update, token, code, status, rate: int, n: int) -> float | None:
    """Restart the worker with ``rate`` (0: no limit), post to ``n`` subscribers; the
    rate measured between 10 % and 90 % of the mails."""
    stack.stop("celery")
    stack.env["SUBSCRIPTIONS_MAX_SEND_RATE"] = str(rate)
    try:
        stack.start_worker()
    finally:
        del stack.env["SUBSCRIPTIONS_MAX_SEND_RATE"]
    stack.sink.reset()
    request_ms, http_status, _text = post_update(stack, token, code, status)
    t10, t90 = crossing_times(stack.sink, n, timeout=n / max(rate, 100) * 3 + 60)
    measured = (n * 0.8) / (t90 - t10) if t10 is not None and t90 is not None else None
    measure.wait_count(stack.sink, n, timeout=60)
    print(
        f"  pace {rate or 'unlimited'}/s: {n:,} subscribers, POST {http_status} in "
        f"{request_ms:.0f} ms, measured {measured or 0:.1f} messages/s",
        flush=True,
    )
    return measured


def pace(args, rows: list[Row], stack, post_update, api_token, open_current_incident, drain):
    from bench import data

    token = api_token()
    code = open_current_incident().code
    statuses = ["identified", "monitoring"]
    data.empty(data.app_models(["subscriptions"]))
    data.add_subscribers(max(RATES) * SECONDS)
    unlimited = paced_run(stack, post_update, token, code, "monitoring", 0, max(RATES) * SECONDS)
    drain(stack, 60)
    data.empty(data.app_models(["subscriptions"]))
    for index, rate in enumerate(RATES):
        n = rate * SECONDS
        data.add_subscribers(n)
        measured = paced_run(stack, post_update, token, code, statuses[index % 2], rate, n)
        drain(stack, 60)
        off = abs(measured / rate - 1) if measured else None
        rows.append(
            Row(
                f"send rate limited to {rate}/s, {n:,} subscribers, 2 worker processes",
                f"{measured:.1f} messages/s (10 % → 90 % of the mails)" if measured else "—",
                f"{unlimited:.0f}/s with no limit" if unlimited else "—",
                fmt_ratio(measured / rate if measured else None),
                f"within {HELD_WITHIN:.0%} of {rate}/s",
                verdict(off <= HELD_WITHIN if off is not None else None),
            )
        )
    stack.stop("celery")
    stack.start_worker()
