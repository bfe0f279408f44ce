"""Support staff run incidents from the console, and nothing else: allowed and refused."""

import re
from html import unescape

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.urls import NoReverseMatch, reverse

from components.models import Component, ComponentStatusChange
from incidents.models import Incident
from statusportal.roles import SUPPORT_STAFF, SUPPORT_STAFF_PERMISSIONS, sync_support_staff_group
from subscriptions import outbox
from subscriptions import services as subscription_services
from subscriptions.models import Delivery, NotificationEvent

CS = Component.Status


@pytest.fixture
def sam(client, support_user):
    client.force_login(support_user)
    return client


@pytest.fixture
def olga(client, outsider):
    client.force_login(outsider)
    return client


def test_every_listed_permission_exists_and_is_granted(db):
    group = sync_support_staff_group()  # strict: raises on a missing permission
    granted = {
        (p.content_type.app_label, p.codename)
        for p in group.permissions.select_related("content_type")
    }
    expected = {(label, c) for label, codes in SUPPORT_STAFF_PERMISSIONS.items() for c in codes}
    assert granted == expected
    # The migrations granted the same (the Maintenance proxy's ones included).
    assert (
        Group.objects.get(name=SUPPORT_STAFF)
        .permissions.filter(codename="add_maintenance")
        .exists()
    )


# -- allowed ---------------------------------------------------------------------------


def test_support_staff_see_the_console(sam):
    for name in [
        "admin:index",
        "admin:incidents_incident_changelist",
        "admin:incidents_incident_add",
        "admin:incidents_maintenance_changelist",
        "admin:incidents_maintenance_add",
        "admin:incidents_incidenttemplate_changelist",
        "admin:incidents_postmortem_changelist",
        "admin:components_component_changelist",
        "admin:components_componentgroup_changelist",
        "admin:components_componentstatuschange_changelist",
    ]:
        assert sam.get(reverse(name)).status_code == 200, name


def test_support_staff_post_updates(sam, open_incident, rest):
    incident = open_incident()
    url = reverse("admin:incidents_incident_post", args=[incident.pk])
    response = sam.get(url)
    assert "Post an update" in response.content.decode()
    data = {
        "update_status": "monitoring",
        "update_body": "Fix deployed.",
        "notify": "on",
        f"component_{rest.code}": CS.DEGRADED_PERFORMANCE,
    }
    response = sam.post(url, data)
    assert response.status_code == 302
    assert Incident.objects.get(pk=incident.pk).status == Incident.Status.MONITORING
    assert Component.objects.get(pk=rest.pk).status == CS.DEGRADED_PERFORMANCE


def test_support_staff_change_a_component_status_and_only_its_status(sam, rest):
    url = reverse("admin:components_component_change", args=[rest.pk])
    page = sam.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert set(form.fields) == {"status"}  # everything else is shown read-only
    response = sam.post(
        url, {"status": CS.PARTIAL_OUTAGE, "name": "Renamed by Sam", "position": "99"}
    )
    assert response.status_code == 302
    rest.refresh_from_db()
    assert rest.status == CS.PARTIAL_OUTAGE
    assert rest.name == "REST API" and rest.position == 1
    assert ComponentStatusChange.objects.filter(
        component=rest, new_status=CS.PARTIAL_OUTAGE
    ).exists()


def test_support_staff_change_status_from_the_component_list(sam, rest):
    url = reverse("admin:components_component_changelist")
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(rest.pk),
        "form-0-status": CS.MAJOR_OUTAGE,
        "_save": "Save",
    }
    assert sam.post(url, data).status_code == 302
    assert Component.objects.get(pk=rest.pk).status == CS.MAJOR_OUTAGE


# -- refused ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "admin:auth_user_changelist",
        "admin:auth_user_add",
        "admin:auth_group_changelist",
        "admin:components_component_add",
        "admin:components_componentgroup_add",
    ],
)
def test_support_staff_cannot_reach_users_or_catalogue_setup(sam, name):
    assert sam.get(reverse(name)).status_code == 403


def test_support_staff_cannot_see_subscribers(sam, support_user):
    # Of the subscriptions app they see deliveries and retry them, nothing else.
    granted = {p for p in support_user.get_all_permissions() if p.startswith("subscriptions.")}
    assert granted == {"subscriptions.view_delivery", "subscriptions.change_delivery"}
    # Whatever subscriber models the subscriptions app registers, none but the deliveries
    # is open to them.
    for model in apps.get_app_config("subscriptions").get_models():
        if model._meta.model_name == "delivery":
            continue
        try:
            url = reverse(f"admin:subscriptions_{model._meta.model_name}_changelist")
        except NoReverseMatch:
            continue  # not in the admin at all
        assert sam.get(url).status_code == 403, url


def test_support_staff_see_and_retry_failed_deliveries_and_do_nothing_else(
    sam, open_incident, support_user
):
    subscriber = subscription_services.add_subscriber("eve@example.com", confirmed=True)
    update = open_incident().updates.get()
    event = NotificationEvent.objects.get(update=update)
    outbox.fan_out(event.pk, enqueue=lambda ids: None)
    Delivery.objects.update(state="failed", last_error="550 5.1.1 unknown user")
    delivery = Delivery.objects.get(subscriber=subscriber)

    # The delivery counts under the update link to the list: it opens.
    page = sam.get(reverse("admin:incidents_incident_post", args=[update.incident_id]))
    links = re.findall(r'href="(/admin/subscriptions/delivery/\?[^"]+)"', page.content.decode())
    assert links
    for link in links:
        assert sam.get(unescape(link)).status_code == 200, link
    listing = sam.get(reverse("admin:subscriptions_delivery_changelist"), {"state": "failed"})
    assert "eve@example.com" in listing.content.decode()
    actions = [name for name, _ in listing.context["action_form"].fields["action"].choices]
    assert "retry" in actions and "delete_selected" not in actions
    detail = sam.get(reverse("admin:subscriptions_delivery_change", args=[delivery.pk]))
    assert detail.status_code == 200

    response = sam.post(
        reverse("admin:subscriptions_delivery_changelist"),
        {"action": "retry", "_selected_action": [delivery.pk]},
    )
    assert response.status_code == 302
    assert Delivery.objects.get(pk=delivery.pk).state == Delivery.State.PENDING

    # Nothing more: no editing, no deleting a delivery; subscribers stay out of reach.
    change = sam.post(
        reverse("admin:subscriptions_delivery_change", args=[delivery.pk]), {"state": "sent"}
    )
    assert change.status_code == 403
    delete = sam.post(
        reverse("admin:subscriptions_delivery_delete", args=[delivery.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    assert Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.PENDING).exists()
    assert sam.get(reverse("admin:subscriptions_subscriber_changelist")).status_code == 403


def test_support_staff_cannot_delete_incidents(sam, open_incident):
    incident = open_incident()
    url = reverse("admin:incidents_incident_delete", args=[incident.pk])
    assert sam.get(url).status_code == 403
    assert sam.post(url, {"post": "yes"}).status_code == 403
    assert Incident.objects.filter(pk=incident.pk).exists()
    listing = sam.get(reverse("admin:incidents_incident_changelist"))
    actions = [name for name, _ in listing.context["action_form"].fields["action"].choices]
    assert "resolve_selected" in actions
    assert "delete_selected" not in actions


def test_support_staff_cannot_rename_or_delete_components(sam, rest):
    response = sam.post(
        reverse("admin:components_component_delete", args=[rest.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert Component.objects.filter(pk=rest.pk, name="REST API").exists()


def test_staff_without_a_group_can_change_nothing(olga, open_incident, rest):
    incident = open_incident()
    assert olga.get(reverse("admin:incidents_incident_changelist")).status_code == 403
    url = reverse("admin:incidents_incident_change", args=[incident.pk])
    response = olga.post(url, {"name": "x", "update_status": "resolved", "update_body": "x"})
    assert response.status_code == 403
    post = reverse("admin:incidents_incident_post", args=[incident.pk])
    assert olga.get(post).status_code == 403
    assert olga.post(post, {"update_status": "resolved", "update_body": "x"}).status_code == 403
    assert Incident.objects.get(pk=incident.pk).status == Incident.Status.INVESTIGATING
    assert Incident.objects.get(pk=incident.pk).name != "x"
    postmortem = reverse("admin:incidents_incident_postmortem", args=[incident.pk])
    assert olga.get(postmortem).status_code == 403
    status = reverse("admin:components_component_change", args=[rest.pk])
    assert olga.post(status, {"status": CS.MAJOR_OUTAGE}).status_code == 403
    assert Component.objects.get(pk=rest.pk).status == CS.MAJOR_OUTAGE  # set by the incident


def test_reading_an_incident_without_change_permission_offers_no_post_form(
    client, open_incident, django_user_model
):
    """Vera may read incidents (view permission only): she sees the incident's page and
    its timeline, but gets no form, and posting to it is refused."""
    incident = open_incident()
    vera = django_user_model.objects.create_user("vera", password="x", is_staff=True)
    vera.user_permissions.add(Permission.objects.get(codename="view_incident"))
    client.force_login(vera)
    url = reverse("admin:incidents_incident_post", args=[incident.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "Timeline" in page.content.decode()
    assert 'value="Post update"' not in page.content.decode()
    response = client.post(url, {"update_status": "resolved", "update_body": "Done."})
    assert response.status_code == 403
    assert Incident.objects.get(pk=incident.pk).status == Incident.Status.INVESTIGATING
    assert incident.updates.count() == 1
    add = client.post(
        reverse("admin:incidents_incident_add"),
        {"name": "x", "update_status": "investigating", "update_body": "x"},
    )
    assert add.status_code == 403
    assert not Incident.objects.filter(name="x").exists()
