"""`/incidents/<code>/`: updates newest first with their labels and times, the affected
line, the postmortem, maintenance windows, and friendly 404s."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils.html import strip_tags

from components.models import Component, ComponentGroup
from incidents import services
from incidents.models import Incident

S = Component.Status


def text(response) -> str:
    return " ".join(strip_tags(response.content.decode()).split())


def page_of(client, incident):
    response = client.get(f"/incidents/{incident.code}/")
    assert response.status_code == 200
    return response


def test_updates_are_newest_first_with_update_label_when_status_is_kept(client, open_incident):
    incident = open_incident(name="API errors", body="First look.")
    services.post_update(incident, status="investigating", body="Still looking.")
    services.post_update(incident, status="identified", body="Found the cause.")
    services.post_update(incident, status="identified", body="Fix is rolling out.")
    services.resolve(incident, body="All good now.")
    body = text(page_of(client, incident))
    order = [
        "Resolved All good now.",
        "Update Fix is rolling out.",
        "Identified Found the cause.",
        "Update Still looking.",
        "Investigating First look.",
    ]
    positions = [body.index(part) for part in order]
    assert positions == sorted(positions)
    assert "API errors" in body and "Critical impact" in body


def test_posted_time_is_in_the_page_time_zone(client, open_incident, settings):
    settings.STATUSPAGE_TIME_ZONE = "America/Sao_Paulo"
    incident = open_incident(display_at=datetime(2021, 9, 9, 23, 34, tzinfo=UTC))
    response = page_of(client, incident)
    assert "Posted Sep 09, 2021 - 20:34 GMT-03:00" in text(response)
    # Machine-readable time for the reader's-own-time-zone switch.
    assert '<time datetime="2021-09-09T23:34:00.000Z" data-fmt="posted">' in (
        response.content.decode()
    )


def test_body_is_markdown_and_sanitised(client, open_incident):
    incident = open_incident(body="**Bold** move <script>alert(1)</script>")
    html = page_of(client, incident).content.decode()
    assert "<strong>Bold</strong> move" in html
    assert "<script>alert" not in html


def test_affected_line_groups_components_in_page_order(client, db):
    group_a = ComponentGroup.objects.create(name="Group A", position=1)
    comp2 = Component.objects.create(name="Comp 2", group=group_a, position=2)
    comp1 = Component.objects.create(name="Comp 1", group=group_a, position=1)
    comp3 = Component.objects.create(name="Comp 3", position=5)
    first = Component.objects.create(name="Alone first", position=0)
    incident = services.open_incident(
        name="Wide outage",
        status="investigating",
        body="Many things.",
        components={comp3.code: S.MAJOR_OUTAGE, comp2.code: None, comp1.code: None},
    )
    body = text(page_of(client, incident))
    # Ongoing: "affects"; once resolved: "affected".
    assert "This incident affects: Group A (Comp 1, Comp 2), Comp 3" in body
    assert first.name not in body.split("affects:")[1].split("Current status")[0]
    services.resolve(incident)
    body = text(page_of(client, incident))
    assert "This incident affected: Group A (Comp 1, Comp 2), Comp 3" in body
    assert first.name not in body.split("affected:")[1].split("Current status")[0]


def test_published_postmortem_is_shown_above_the_updates(client, open_incident):
    incident = open_incident(body="Looking.")
    services.resolve(incident)
    services.save_postmortem_draft(incident, body="A disk *filled up*.")
    assert "A disk" not in text(page_of(client, incident))  # a draft stays private
    services.publish_postmortem(incident)
    response = page_of(client, incident)
    body = text(response)
    assert body.index("Postmortem A disk filled up.") < body.index(
        "Resolved This incident has been resolved."
    )
    published = Incident.objects.get(pk=incident.pk).postmortem.published_at
    assert f"filled up. Posted {published:%b %d, %Y - %H:%M} GMT+00:00" in body


def test_maintenance_page_shows_the_scheduled_window(client, rest, settings):
    settings.STATUSPAGE_TIME_ZONE = "Europe/Paris"
    start = datetime(2031, 1, 10, 21, 0, tzinfo=UTC)
    maintenance = services.open_incident(
        name="Database upgrade",
        kind=Incident.Kind.MAINTENANCE,
        status="scheduled",
        body="We will upgrade.",
        components={rest.code: None},
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=2),
    )
    body = text(page_of(client, maintenance))
    assert (
        "Scheduled for Jan 10, 2031 - 22:00 GMT+01:00 until Jan 11, 2031 - 00:00 GMT+01:00" in body
    )
    assert "Scheduled We will upgrade." in body
    # Not over yet (scheduled): "affects".
    assert "This maintenance affects: API (REST API)" in body


@pytest.mark.parametrize("path", ["/incidents/doesnotexist/", "/incidents/UPPER-case/"])
def test_unknown_incident_is_a_friendly_404(client, db, path):
    response = client.get(path)
    assert response.status_code == 404
    body = text(response)
    assert "Incident not found" in body
    assert "Go to the status page" in body


def test_unknown_page_uses_the_site_404(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in text(response)


def test_incident_page_query_count_does_not_grow(
    client, open_incident, django_assert_max_num_queries
):
    small = open_incident(name="Small")
    large = open_incident(name="Large")
    for i in range(60):
        services.post_update(large, status="identified", body=f"Note {i}")
    for incident in (small, large):
        with django_assert_max_num_queries(4):
            page_of(client, incident)


def test_server_error_page_is_self_contained(rf):
    from django.views.defaults import server_error

    response = server_error(rf.get("/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    # Styled from a file: an inline <style> (no nonce without a context) would be blocked
    # by the Content-Security-Policy and leave the page unstyled.
    assert "<style" not in html and "style=" not in html
    assert 'rel="stylesheet" href="/static/statusportal/error' in html
