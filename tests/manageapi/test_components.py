"""Components and component groups through the manage API: what a provisioning script
does, and what the page and its history show afterwards."""

from datetime import timedelta

import pytest
from django.utils import timezone

from components.models import ChangeSource, Component, ComponentGroup, ComponentStatusChange
from tests.manageapi.conftest import url

pytestmark = pytest.mark.django_db


def test_creating_a_component_answers_it_and_records_its_first_status(manage):
    response = manage.send(
        "POST",
        url("/components"),
        {
            "component": {
                "name": "Search",
                "description": "Full-text",
                "status": "degraded_performance",
            }
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    component = Component.objects.get(code=body["id"])
    assert body["name"] == "Search"
    assert body["status"] == "degraded_performance"
    assert body["created_at"].endswith("Z") and "." in body["created_at"]
    assert "group_id" not in body  # no value: left out, as the description allows no null
    change = component.status_changes.get()
    assert change.source == ChangeSource.API
    assert change.actor == "deploy scripts (ada)"


def test_a_status_change_writes_history_with_the_key_and_bumps_the_page(manage, rest, client):
    before = client.get("/api/v2/components.json").json()
    response = manage.send(
        "PUT", url(f"/components/{rest.code}.json"), {"component": {"status": "major_outage"}}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "major_outage"
    change = ComponentStatusChange.objects.filter(component=rest).first()
    assert (change.old_status, change.new_status) == ("operational", "major_outage")
    assert change.source == ChangeSource.API
    after = client.get("/api/v2/components.json").json()
    assert after["page"]["updated_at"] >= before["page"]["updated_at"]
    shown = next(c for c in after["components"] if c["id"] == rest.code)
    assert shown["status"] == "major_outage"


def test_patching_other_fields_and_moving_between_groups(manage, rest, website, api_group):
    response = manage.send(
        "PATCH",
        url(f"/components/{website.code}"),
        {"component": {"name": "Web", "group_id": api_group.code, "showcase": False}},
    )
    assert response.status_code == 200, response.json()
    website.refresh_from_db()
    assert (website.name, website.group, website.showcase) == ("Web", api_group, False)
    assert website.position > rest.position  # last in its new group
    response = manage.send(
        "PATCH", url(f"/components/{website.code}"), {"component": {"group_id": None}}
    )
    website.refresh_from_db()
    assert website.group is None


def test_an_unknown_group_is_a_422_and_nothing_changes(manage, website):
    response = manage.send(
        "PATCH",
        url(f"/components/{website.code}"),
        {"component": {"name": "X", "group_id": "nope"}},
    )
    assert response.status_code == 422
    website.refresh_from_db()
    assert website.name == "Website"


def test_listing_components_gives_groups_and_components_in_page_order(
    manage, website, api_group, rest, graphql
):
    listed = manage.get(url("/components.json")).json()
    assert [c["id"] for c in listed] == [website.code, api_group.code, rest.code, graphql.code]
    assert listed[1]["group"] is True
    assert listed[2]["group_id"] == api_group.code
    assert [c["id"] for c in manage.get(url("/components?per_page=2&page=2")).json()] == [
        rest.code,
        graphql.code,
    ]


def test_deleting_a_component(manage, website):
    response = manage.delete(url(f"/components/{website.code}"))
    assert response.status_code == 204
    assert not Component.objects.filter(pk=website.pk).exists()
    assert manage.get(url(f"/components/{website.code}")).status_code == 404


def test_creating_a_group_takes_its_components_in_order(manage, rest, graphql, website):
    response = manage.send(
        "POST",
        url("/component-groups"),
        {
            "description": "Customer-facing",
            "component_group": {"name": "Front", "components": [website.code, graphql.code]},
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["components"] == [website.code, graphql.code]
    group = ComponentGroup.objects.get(code=body["id"])
    assert group.description == "Customer-facing"
    graphql.refresh_from_db()
    website.refresh_from_db()
    assert (website.group, website.position, graphql.group, graphql.position) == (
        group,
        0,
        group,
        1,
    )


def test_a_group_with_an_unknown_component_is_refused_whole(manage, rest):
    response = manage.send(
        "POST",
        url("/component-groups"),
        {"component_group": {"name": "Front", "components": [rest.code, "unknown12345"]}},
    )
    assert response.status_code == 422
    assert ComponentGroup.objects.count() == 1  # the api_group of rest
    rest.refresh_from_db()
    assert rest.group.name == "API"


def test_updating_a_group_sets_exactly_its_members(manage, api_group, rest, graphql, website):
    response = manage.send(
        "PATCH",
        url(f"/component-groups/{api_group.code}"),
        {"component_group": {"name": "Platform", "components": [graphql.code, website.code]}},
    )
    assert response.status_code == 200, response.json()
    assert response.json()["components"] == [graphql.code, website.code]
    rest.refresh_from_db()
    assert rest.group is None
    api_group.refresh_from_db()
    assert api_group.name == "Platform"


def test_deleting_a_group_keeps_its_components(manage, api_group, rest):
    response = manage.delete(url(f"/component-groups/{api_group.code}"))
    assert response.status_code == 200
    assert response.json()["id"] == api_group.code
    rest.refresh_from_db()
    assert rest.group is None


def test_uptime_of_a_component_and_of_a_group(manage, rest, graphql, api_group):
    now = timezone.now()
    start = now - timedelta(days=2)
    Component.objects.filter(pk__in=[rest.pk, graphql.pk]).update(created_at=start)
    ComponentStatusChange.objects.filter(component__in=[rest, graphql]).update(at=start)
    ComponentStatusChange.objects.create(
        component=rest,
        old_status="operational",
        new_status="major_outage",
        at=now - timedelta(hours=2),
    )
    ComponentStatusChange.objects.create(
        component=rest,
        old_status="major_outage",
        new_status="operational",
        at=now - timedelta(hours=1),
    )
    body = manage.get(url(f"/components/{rest.code}/uptime")).json()
    assert body["id"] == rest.code
    assert 3590 <= body["major_outage"] <= 3610
    assert body["partial_outage"] == 0
    assert 97 < body["uptime_percentage"] < 99
    group = manage.get(url(f"/component-groups/{api_group.code}/uptime.json")).json()
    assert group["uptime_percentage"] == pytest.approx((100 + body["uptime_percentage"]) / 2)


def test_bad_uptime_ranges_are_refused(manage, rest):
    assert manage.get(url(f"/components/{rest.code}/uptime?start=nope")).status_code == 422
    assert manage.get(url(f"/components/{rest.code}/uptime?start=2020-01-01")).status_code == 422
    assert (
        manage.get(
            url(f"/components/{rest.code}/uptime?start=2026-01-02&end=2026-01-01")
        ).status_code
        == 422
    )
