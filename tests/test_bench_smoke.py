"""The benchmark harness's own pieces, at toy size: the data loader writes a consistent
history, wrk's output is read right, the SMTP sink counts what it accepts. No timing is
asserted here (benchmarks report targets; they never fail a test run)."""

import smtplib
from collections import defaultdict
from itertools import pairwise

import pytest

from bench import data, measure, report
from bench.httpsink import HttpSink
from bench.httpsink import read_sample as read_http_sample
from bench.smtpsink import SmtpSink, read_sample
from components.models import Component, ComponentStatusChange
from incidents.models import Incident, IncidentUpdate
from subscriptions import egress
from subscriptions.models import Subscriber
from tests.services import free_port

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:8000/
  2 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.12ms    1.03ms  31.20ms   90.00%
    Req/Sec   980.00     50.00     1.10k    70.00%
  Latency Distribution
     50%  850.00us
     75%    5.50ms
     90%    6.20ms
     99%    1.20s
  19512 requests in 10.01s, 2.31MB read
  Socket errors: connect 0, read 19512, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:   1949.30
Transfer/sec:    236.12KB
"""


def test_wrk_output_is_read_with_units_and_real_errors_only():
    result = measure.parse_wrk(WRK_OUTPUT)
    assert result.rps == pytest.approx(1949.30)
    assert result.p50_ms == pytest.approx(0.85)
    assert result.p99_ms == pytest.approx(1200.0)
    assert result.requests == 19512
    # read errors are connections closed by a non-keep-alive server, not failures
    assert result.errors == 7 + 3


def test_table_has_one_line_per_row_and_aligned_columns():
    rows = [
        report.Row(
            "status page", "900 req/s", "1000 req/s", report.fmt_ratio(0.9), "≥ 0.8x", "met"
        ),
        report.Row("post update", report.fmt_ms(12.345)),
    ]
    lines = report.table(rows).splitlines()
    assert len(lines) == 2 + len(rows)
    assert len({len(line) for line in lines}) == 1
    assert "0.90x" in lines[2] and "12.3 ms" in lines[3]


# reset_sequences: SQLite keeps its id counters across transactional tests otherwise.
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_loader_writes_a_consistent_history():
    loaded = data.load(40, days=30)

    assert loaded["incidents"] == Incident.objects.count() == 40
    assert IncidentUpdate.objects.count() == 40 * data.UPDATES_PER_INCIDENT
    assert Component.objects.count() == 30
    assert set(Component.objects.values_list("status", flat=True)) == {"operational"}
    assert not Incident.objects.filter(Incident.open_filter()).exists()
    # Each change starts from where the component's previous change left it.
    chains = defaultdict(list)
    for change in ComponentStatusChange.objects.order_by("at", "pk"):
        chains[change.component_id].append(change)
    for changes in chains.values():
        assert changes[0].old_status is None
        for before, after in pairwise(changes):
            assert after.old_status == before.new_status
        assert changes[-1].new_status == "operational"
    # New rows after the bulk load get fresh primary keys (sequences were reset).
    component = Component.objects.create(name="Added later")
    assert component.pk == 31


@pytest.mark.django_db(transaction=True)
def test_subscribers_are_only_added_up_to_the_total():
    data.add_subscribers(5)
    data.add_subscribers(8)
    data.add_subscribers(3)
    assert Subscriber.objects.filter(state=Subscriber.State.ACTIVE).count() == 8
    assert Subscriber.objects.values("email").distinct().count() == 8


def test_smtp_sink_counts_messages_and_keeps_one_sample(tmp_path):
    sample = tmp_path / "sample.eml"
    sink = SmtpSink.start(free_port(), str(sample))
    try:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
            for n in range(3):
                smtp.sendmail(
                    "status@example.test", [f"r{n}@example.test"], b"Subject: hi\r\n\r\nx"
                )
        assert measure.wait_count(sink, 3, timeout=10)
        sender, message = read_sample(str(sample))
        assert sender == "status@example.test"
        assert b"Subject: hi" in message
        rate = measure.raw_smtp_rate(sink.port, sender, message, 5, sink)
        assert sink.count == 5 and rate > 0
    finally:
        sink.stop()


def test_http_sink_counts_posts_and_keeps_one_sample(tmp_path, settings):
    settings.SUBSCRIPTIONS_WEBHOOK_ALLOW_PRIVATE = True
    sample = tmp_path / "sample-request.json"
    sink = HttpSink.start(free_port(), str(sample))
    try:
        session = egress.Session(5)
        try:
            for n in range(3):  # one kept-alive connection, as the HTTP channels use it
                answer = session.post(sink.url(f"/hooks/{n}"), b'{"n": 1}', {"X-Test": "yes"})
                assert answer.ok
        finally:
            session.close()
        assert measure.wait_count(sink, 3, timeout=10)
        path, headers, body = read_http_sample(str(sample))
        assert path == "/hooks/0" and headers["x-test"] == "yes" and body == b'{"n": 1}'
        rate = measure.raw_http_rate(sink.port, path, headers, body, 5, sink)
        assert sink.count == 5 and rate > 0
    finally:
        sink.stop()


def test_webhook_subscribers_are_added_up_to_a_total_with_endpoints_of_their_own(db):
    data.add_webhook_subscribers(4, "http://127.0.0.1:9")
    data.add_webhook_subscribers(6, "http://127.0.0.1:9")
    hooks = Subscriber.objects.filter(channel="webhook", state="active")
    assert hooks.count() == 6
    assert hooks.values("endpoint").distinct().count() == 6
    assert all(len(s) == 64 for s in hooks.values_list("secret", flat=True))
