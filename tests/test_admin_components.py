"""The component console: status changes from the list and the change page write history;
groups edit their components inline; the history is read-only and names the incident
update that caused each change."""

import pytest
from django.urls import reverse

from components.models import Component, ComponentGroup, ComponentStatusChange
from incidents import services

CS = Component.Status


@pytest.fixture
def admin_client_(client, admin_user):
    client.force_login(admin_user)
    return client


def list_edit_data(components, statuses) -> dict:
    data = {
        "form-TOTAL_FORMS": str(len(components)),
        "form-INITIAL_FORMS": str(len(components)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for i, (component, status) in enumerate(zip(components, statuses, strict=True)):
        data[f"form-{i}-id"] = str(component.pk)
        data[f"form-{i}-status"] = status
    return data


def test_changing_status_from_the_list_writes_history(admin_client_, rest, graphql):
    url = reverse("admin:components_component_changelist")
    page = admin_client_.get(url)
    components = list(page.context["cl"].result_list)
    statuses = [CS.MAJOR_OUTAGE if c == rest else c.status for c in components]  # only REST changes
    response = admin_client_.post(url, list_edit_data(components, statuses))
    assert response.status_code == 302
    assert Component.objects.get(pk=rest.pk).status == CS.MAJOR_OUTAGE
    change = ComponentStatusChange.objects.filter(component=rest).latest("at")
    assert (change.old_status, change.new_status) == (CS.OPERATIONAL, CS.MAJOR_OUTAGE)
    # GraphQL did not change: no new row for it beyond its creation.
    assert ComponentStatusChange.objects.filter(component=graphql).count() == 1


def test_component_list_query_count_does_not_grow(
    admin_client_, api_group, django_assert_max_num_queries
):
    for n in range(30):
        Component.objects.create(name=f"Component {n}", group=api_group, position=n)
    with django_assert_max_num_queries(12):
        response = admin_client_.get(reverse("admin:components_component_changelist"))
    assert response.status_code == 200


def test_group_page_edits_components_inline(admin_client_, api_group, rest, graphql):
    url = reverse("admin:components_componentgroup_change", args=[api_group.pk])
    assert admin_client_.get(url).status_code == 200
    inline = {
        "components-TOTAL_FORMS": "2",
        "components-INITIAL_FORMS": "2",
        "components-MIN_NUM_FORMS": "0",
        "components-MAX_NUM_FORMS": "1000",
    }
    for i, (component, position, status) in enumerate(
        [(rest, 2, CS.PARTIAL_OUTAGE), (graphql, 1, CS.OPERATIONAL)]
    ):
        inline.update(
            {
                f"components-{i}-id": str(component.pk),
                f"components-{i}-group": str(api_group.pk),
                f"components-{i}-name": component.name,
                f"components-{i}-status": status,
                f"components-{i}-position": str(position),
                f"components-{i}-showcase": "on",
            }
        )
    response = admin_client_.post(
        url, {"name": "API", "description": "", "position": "1", **inline}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(api_group.components.order_by("position")) == [graphql, rest]
    assert Component.objects.get(pk=rest.pk).status == CS.PARTIAL_OUTAGE
    assert ComponentStatusChange.objects.filter(
        component=rest, new_status=CS.PARTIAL_OUTAGE
    ).exists()


def test_groups_are_listed_by_position(admin_client_):
    ComponentGroup.objects.create(name="Zeta", position=1)
    ComponentGroup.objects.create(name="Alpha", position=2)
    response = admin_client_.get(reverse("admin:components_componentgroup_changelist"))
    assert [g.name for g in response.context["cl"].result_list] == ["Zeta", "Alpha"]


def test_history_cannot_be_edited_even_by_a_superuser(admin_client_, rest):
    change = ComponentStatusChange.objects.get(component=rest)
    assert (
        admin_client_.get(reverse("admin:components_componentstatuschange_changelist")).status_code
        == 200
    )
    response = admin_client_.post(
        reverse("admin:components_componentstatuschange_change", args=[change.pk]),
        {"new_status": CS.MAJOR_OUTAGE},
    )
    assert response.status_code == 403
    assert ComponentStatusChange.objects.get(pk=change.pk).new_status == CS.OPERATIONAL
    delete = reverse("admin:components_componentstatuschange_delete", args=[change.pk])
    assert admin_client_.post(delete, {"post": "yes"}).status_code == 403


@pytest.mark.parametrize("incidents", [1, 8])
def test_history_names_the_incident_that_caused_each_change(
    admin_client_, open_incident, rest, incidents, django_assert_max_num_queries
):
    for n in range(incidents):
        services.resolve(open_incident(name=f"API errors {n}"))
    rest.set_status(CS.PARTIAL_OUTAGE)  # by hand: no incident caused it
    url = reverse("admin:components_componentstatuschange_changelist")
    with django_assert_max_num_queries(8):  # the same for 1 incident or 8
        response = admin_client_.get(url, {"component__id__exact": rest.pk})
    assert response.status_code == 200
    changes = list(response.context["cl"].result_list)
    assert len(changes) == 1 + 2 * incidents + 1  # creation, each incident's two, by hand
    html = response.content.decode()
    last = rest.incidents.get(name=f"API errors {incidents - 1}")
    link = reverse("admin:incidents_incident_change", args=[last.pk])
    assert f'<a href="{link}">API errors {incidents - 1}</a> (Resolved)' in html
    assert f'<a href="{link}">API errors {incidents - 1}</a> (Investigating)' in html
    # The creation row and the change made by hand were caused by no update.
    assert html.count('<td class="field-caused_by">—</td>') == 2


def test_changing_status_on_the_change_page_writes_one_row(admin_client_, rest):
    url = reverse("admin:components_component_change", args=[rest.pk])
    data = {"name": "REST API v2", "status": CS.MAJOR_OUTAGE, "position": "1"}
    data.update({"group": str(rest.group_id), "description": "", "showcase": "on"})
    response = admin_client_.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    rest.refresh_from_db()
    assert (rest.name, rest.status) == ("REST API v2", CS.MAJOR_OUTAGE)
    rows = rest.status_changes.order_by("pk").values_list("old_status", "new_status")
    assert list(rows) == [(None, CS.OPERATIONAL), (CS.OPERATIONAL, CS.MAJOR_OUTAGE)]
