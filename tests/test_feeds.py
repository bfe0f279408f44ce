"""`/history.atom` and `/history.rss`: one entry per incident with its updates, parsed as
a feed reader would (feedparser)."""

from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from django.utils import timezone

from incidents import services


@pytest.fixture
def two_incidents(open_incident, settings):
    settings.STATUSPAGE_URL = "https://status.example.com"
    older = open_incident(
        name="Older outage", body="It broke.", display_at=timezone.now() - timedelta(days=2)
    )
    services.post_update(older, status="identified", body="Cause *found*.")
    services.resolve(older, body="Fixed.")
    newer = open_incident(name="Newer outage", body="Slow again <script>x</script>.")
    return older, newer


@pytest.mark.parametrize(
    ("path", "version"), [("/history.atom", "atom10"), ("/history.rss", "rss20")]
)
def test_feed_has_one_entry_per_incident_with_its_updates(client, two_incidents, path, version):
    older, _newer = two_incidents
    response = client.get(path)
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == version
    assert "incident history" in feed.feed.title
    assert [e.title for e in feed.entries] == ["Newer outage", "Older outage"]
    entry = feed.entries[1]
    assert entry.link == f"https://status.example.com/incidents/{older.code}/"
    # All updates, newest first, with their labels; Markdown rendered and sanitised.
    summary = entry.summary
    assert summary.index("Resolved") < summary.index("Identified") < summary.index("Investigating")
    assert "<em>found</em>" in summary
    assert "<script>" not in feed.entries[0].summary


def test_atom_entries_carry_published_and_updated_times(client, open_incident):
    incident = open_incident(display_at=datetime(2021, 9, 9, 23, 34, tzinfo=UTC))
    services.post_update(incident, status="identified", body="Found.")
    entry = feedparser.parse(client.get("/history.atom").content).entries[0]
    assert entry.published_parsed[:5] == (2021, 9, 9, 23, 34)
    assert entry.updated_parsed[:3] != (2021, 9, 9)  # the latest update's time


def test_feeds_are_cached_and_answer_conditional_requests(client, two_incidents):
    first = client.get("/history.rss")
    assert first["Cache-Control"].startswith("public, max-age=")
    again = client.get("/history.rss", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


def test_feed_query_count_does_not_grow(client, open_incident, django_assert_max_num_queries):
    incident = open_incident()
    with django_assert_max_num_queries(3):
        client.get("/history.atom")
    for i in range(30):
        services.post_update(incident, status="identified", body=f"Note {i}")
    for i in range(60):
        open_incident(name=f"Incident {i}")
    with django_assert_max_num_queries(3):
        feed = feedparser.parse(client.get("/history.atom").content)
    assert len(feed.entries) == 50


@pytest.mark.parametrize("path", ["/history.atom", "/history.rss"])
def test_maintenance_is_dated_when_announced_not_when_it_starts(
    client, open_incident, open_maintenance, path
):
    before = timezone.now()
    maintenance = open_maintenance(scheduled_for=timezone.now() + timedelta(days=9))
    open_incident(name="Earlier outage", display_at=timezone.now() - timedelta(hours=3))
    after = timezone.now()
    entries = feedparser.parse(client.get(path).content).entries
    (entry,) = [e for e in entries if e.title == maintenance.name]
    published = datetime(*entry.published_parsed[:6], tzinfo=UTC)
    # Announced between ``before`` and ``after`` (the feed's dates have whole seconds).
    assert before.replace(microsecond=0) <= published <= after
    (outage,) = [e for e in entries if e.title == "Earlier outage"]
    # An incident keeps its (back-dated) start.
    assert datetime(*outage.published_parsed[:6], tzinfo=UTC) < before - timedelta(hours=2)
