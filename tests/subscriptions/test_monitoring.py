"""Visible lag: /metrics (protected), /readyz and the admin index say how delivery is
doing, and warn when mail waits or the sweeper stopped."""

from datetime import timedelta

import pytest
from django.utils import timezone

from subscriptions import delivery, outbox, services
from subscriptions.models import Delivery
from tests.subscriptions.test_outbox import Queue, post

DState = Delivery.State
TOKEN = "metrics-secret-token"


@pytest.fixture
def waiting(open_incident, db):
    """Three deliveries whose send task was lost ten minutes ago, and one sent."""
    for i in range(4):
        services.add_subscriber(f"w{i}@example.com", confirmed=True)
    event = post(open_incident())
    queue = Queue()
    outbox.fan_out(event.pk, enqueue=queue)
    delivery.send_batch(queue[0][:1])
    Delivery.objects.filter(state=DState.PENDING).update(
        next_attempt_at=timezone.now() - timedelta(minutes=10)
    )


def scrape(client, **headers):
    return client.get("/metrics", **headers)


def test_metrics_are_off_until_a_token_or_network_is_set(client, settings, db):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = []
    assert scrape(client).status_code == 404


def test_metrics_need_the_token(client, settings, db):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []
    assert scrape(client).status_code == 403
    assert scrape(client, HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    response = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")


def test_metrics_from_an_allowed_network_without_a_token(client, settings, db):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert scrape(client).status_code == 403  # the test client is 127.0.0.1
    assert scrape(client, REMOTE_ADDR="10.1.2.3").status_code == 200
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    assert scrape(client).status_code == 200


def test_behind_a_trusted_proxy_the_metrics_network_is_the_clients(client, settings, db):
    # A local reverse proxy must not open /metrics to everyone it forwards.
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.1/32", "10.0.0.0/8"]
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    assert scrape(client, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403
    assert scrape(client, HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 200


def test_metrics_show_the_lag_the_states_and_the_sweeper(client, settings, waiting):
    settings.METRICS_TOKEN = TOKEN
    text = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert 'statusportal_deliveries{channel="email",state="pending"} 3.0' in text
    assert 'statusportal_deliveries{channel="email",state="sent"} 1.0' in text
    assert 'statusportal_deliveries_sent_total{channel="email"} 1.0' in text
    assert "statusportal_outbox_waiting 3.0" in text
    age = float(text.split("\nstatusportal_outbox_oldest_pending_age_seconds ")[1].split()[0])
    assert 590 < age < 900
    assert "statusportal_sweeper_runs_total 0.0" in text
    outbox.sweep(enqueue=Queue())
    text = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert "statusportal_sweeper_runs_total 1.0" in text
    # Re-enqueued: still waiting, but due again from now.
    age = float(text.split("\nstatusportal_outbox_oldest_pending_age_seconds ")[1].split()[0])
    assert age < 60


def test_metrics_count_failures_by_reason(client, settings, waiting):
    settings.METRICS_TOKEN = TOKEN
    rows = list(Delivery.objects.filter(state=DState.PENDING))
    rows[0].state, rows[0].last_error = DState.FAILED, "550 5.1.1 User unknown"
    rows[1].state, rows[1].last_error = DState.FAILED, "gave up after 8: 451 later"
    Delivery.objects.bulk_update(rows[:2], ["state", "last_error"])
    text = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert 'statusportal_delivery_failures_total{channel="email",reason="rejected"} 1.0' in text
    assert 'statusportal_delivery_failures_total{channel="email",reason="gave_up"} 1.0' in text


def test_metrics_count_page_cache_hits_and_misses(client, settings, db):
    settings.METRICS_TOKEN = TOKEN

    def count(result):
        text = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
        line = f'statusportal_page_cache_requests_total{{result="{result}"}} '
        return float(text.split(line)[1].split()[0]) if line in text else 0.0

    hits, misses = count("hit"), count("miss")
    client.get("/")
    client.get("/")
    assert count("miss") == misses + 1
    assert count("hit") == hits + 1


def test_metrics_time_every_request_cache_hits_and_refusals_included(client, settings, db):
    settings.METRICS_TOKEN = TOKEN

    def counts():
        text = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
        found = {}
        for method, status in [("GET", "2xx"), ("GET", "4xx"), ("other", "4xx")]:
            labels = f'method="{method}",status="{status}"'
            line = f"statusportal_request_duration_seconds_count{{{labels}}} "
            found[method, status] = float(text.split(line)[1].split()[0]) if line in text else 0.0
        return found

    before = counts()
    client.get("/")
    client.get("/")  # a hit, answered before the middleware stack
    client.get("/no-such-page/")
    client.generic("BREW", "/no-such-page/")
    after = counts()
    # The first scrape is itself a timed GET 2xx (observed once it has answered).
    assert after["GET", "2xx"] == before["GET", "2xx"] + 1 + 2
    assert after["GET", "4xx"] == before["GET", "4xx"] + 1
    assert after["other", "4xx"] == before["other", "4xx"] + 1


def test_readyz_reports_the_lag_and_stays_ready_by_default(client, waiting, settings):
    settings.SUBSCRIPTIONS_LAG_ALERT_SECONDS = 0
    response = client.get("/readyz")
    assert response.status_code == 200
    assert "outbox: 3 waiting, oldest 6" in response.content.decode()  # 600 s and more
    assert "last sweep never" in response.content.decode()


def test_readyz_fails_when_the_lag_passes_the_alert_threshold(client, waiting, settings):
    settings.SUBSCRIPTIONS_LAG_ALERT_SECONDS = 300
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.content.decode().startswith("not ready")
    outbox.sweep(enqueue=Queue())  # the sweeper ran: the rows are on their way again
    assert client.get("/readyz").status_code == 200


def test_admin_index_says_healthy(admin_client, open_incident):
    outbox.sweep(enqueue=Queue())
    page = admin_client.get("/admin/").content.decode()
    assert "Notifications: healthy" in page
    assert "beat" not in page


def test_admin_index_warns_of_waiting_mail_and_a_silent_sweeper(admin_client, waiting):
    page = admin_client.get("/admin/").content.decode()
    assert "Notifications: 3 waiting for 10 min" in page
    assert "the sweeper has not run recently (is celery beat running?)" in page


def test_admin_index_without_delivery_permission_says_nothing(client, outsider, waiting):
    client.force_login(outsider)
    assert "Notifications:" not in client.get("/admin/").content.decode()
