"""How the outbox is doing, for people and machines (see docs/architecture.md,
'The outbox'): the lag of waiting deliveries and when the sweeper last ran, read by the
admin index notice, /readyz and the Prometheus collector at /metrics."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from subscriptions.models import Delivery, NotificationEvent, Subscriber, SweeperRun

DState = Delivery.State


@dataclass(frozen=True)
class OutboxStatus:
    waiting: int  # due and not being sent, or held by a lease that ran out
    oldest_due: datetime | None
    last_sweep: datetime | None
    sweeps: int
    now: datetime

    @property
    def lag_seconds(self) -> float:
        return (self.now - self.oldest_due).total_seconds() if self.oldest_due else 0.0

    @property
    def sweeper_late(self) -> bool:
        late = timedelta(seconds=settings.SUBSCRIPTIONS_SWEEP_LATE_SECONDS)
        return self.last_sweep is None or self.now - self.last_sweep > late

    @property
    def lagging(self) -> bool:
        """Mail waits longer than a sweep interval and a lease: nobody is sending it."""
        grace = max(60, 2 * settings.SUBSCRIPTIONS_LEASE_SECONDS)
        return self.lag_seconds > grace

    def summary(self) -> str:
        if not self.lagging:
            text = "healthy"
        else:
            text = f"{self.waiting} waiting for {int(self.lag_seconds // 60)} min"
        if self.sweeper_late:
            text += "; the sweeper has not run recently (is celery beat running?)"
        return text


def outbox_status(now: datetime | None = None) -> OutboxStatus:
    now = now or timezone.now()
    stuck = Q(state=DState.PENDING, next_attempt_at__lte=now) | Q(
        state=DState.SENDING, lease_until__lt=now
    )
    waiting = Delivery.objects.filter(stuck).aggregate(n=Count("pk"), oldest=Min("next_attempt_at"))
    # An event whose fan-out never ran (its task was lost) waits too: with its recipients.
    unfanned = NotificationEvent.objects.filter(fanned_out_at__isnull=True).aggregate(
        oldest=Min("created_at")
    )["oldest"]
    oldest = min((t for t in (waiting["oldest"], unfanned) if t is not None), default=None)
    run = SweeperRun.objects.filter(pk=1).first()
    return OutboxStatus(
        waiting=waiting["n"],
        oldest_due=oldest,
        last_sweep=run.finished_at if run else None,
        sweeps=run.runs if run else 0,
        now=now,
    )


def readiness() -> tuple[bool, str]:
    """/readyz: the lag in one line; not ready only when it exceeds
    SUBSCRIPTIONS_LAG_ALERT_SECONDS (0: never, mail lag does not take web out of a load
    balancer by default)."""
    status = outbox_status()
    alert = settings.SUBSCRIPTIONS_LAG_ALERT_SECONDS
    ready = not alert or status.lag_seconds <= alert
    line = (
        f"{status.waiting} waiting, oldest {int(status.lag_seconds)} s; last sweep {_ago(status)}"
    )
    return ready, line


def _ago(status: OutboxStatus) -> str:
    if status.last_sweep is None:
        return "never"
    return f"{int((status.now - status.last_sweep).total_seconds())} s ago"


def failure_reason(last_error: str) -> str:
    """A bounded label for a failed row's answer (an SMTP 5xx, or an endpoint's refusal)."""
    if last_error.startswith("gave up after"):
        return "gave_up"
    if last_error[:1] == "5" or last_error.startswith(("HTTP ", "refused:")):
        return "rejected"
    return "other"


class OutboxCollector(Collector):
    """Read at scrape time from the database (the same numbers from every process)."""

    def collect(self) -> Iterator[Metric]:
        by_state = GaugeMetricFamily(
            "statusportal_deliveries", "Deliveries by state.", labels=["state", "channel"]
        )
        counts = {
            (channel, state): n
            for channel, state, n in Delivery.objects.order_by()
            .values_list("channel", "state")
            .annotate(n=Count("pk"))
        }
        channels = Subscriber.Channel.values
        for channel in channels:
            for state in DState.values:
                by_state.add_metric([state, channel], counts.get((channel, state), 0))
        yield by_state
        sent = CounterMetricFamily(
            "statusportal_deliveries_sent",
            "Messages the mail server or the endpoint accepted.",
            labels=["channel"],
        )
        for channel in channels:
            sent.add_metric([channel], counts.get((channel, DState.SENT), 0))
        yield sent
        failures = CounterMetricFamily(
            "statusportal_delivery_failures",
            "Deliveries that failed for good, by reason.",
            labels=["reason", "channel"],
        )
        reasons = {(c, r): 0 for c in channels for r in ("gave_up", "rejected", "other")}
        for channel, error in (
            Delivery.objects.filter(state=DState.FAILED)
            .values_list("channel", "last_error")
            .iterator()
        ):
            reasons[(channel, failure_reason(error))] += 1
        for (channel, reason), n in reasons.items():
            failures.add_metric([reason, channel], n)
        yield failures
        status = outbox_status()
        yield GaugeMetricFamily(
            "statusportal_outbox_waiting", "Deliveries due and not being sent.", status.waiting
        )
        yield GaugeMetricFamily(
            "statusportal_outbox_oldest_pending_age_seconds",
            "How long the oldest due delivery has waited.",
            status.lag_seconds,
        )
        yield CounterMetricFamily(
            "statusportal_sweeper_runs", "Sweeps of the outbox.", status.sweeps
        )
        yield GaugeMetricFamily(
            "statusportal_sweeper_last_run_timestamp_seconds",
            "When the sweeper last finished (Unix time; 0: never).",
            status.last_sweep.timestamp() if status.last_sweep else 0,
        )


COLLECTOR = OutboxCollector()
