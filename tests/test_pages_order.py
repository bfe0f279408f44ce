"""One page order: groups and components outside any group share one ordering, new items
go last, operators reorder in the admin, and every list of components follows it."""

import re

import pytest
from django.urls import reverse

from components import ordering
from components.models import Component, ComponentGroup
from incidents import services
from incidents.pages import affected_line
from statusportal.api.tokens import create_token
from subscriptions import services as subscription_services
from subscriptions.models import NotificationEvent
from subscriptions.rendering import NotificationContext, notification_email
from tests.api.conftest import client_with_key

REFERENCE_LINE = "Channels (WhatsApp, Telegram), Desk, Hosting (Bot Builder, Bot Router)"


@pytest.fixture
def api(django_user_model):
    # An operator's provisioning script: builds the page through the API.
    user = django_user_model.objects.create_superuser("ada", "ada@example.com", "pw")
    _, key = create_token(user, "provisioning")
    return client_with_key(key)


@pytest.fixture
def built_page(api):
    """The reference page, created through the API in page order, with no positions:
    a group, a stand-alone component between two groups, another group."""

    def post(url, **data):
        response = api.post(url, data, format="json")
        assert response.status_code == 201, response.content
        return response.json()["code"]

    channels = post("/api/v1/component-groups/", name="Channels")
    post("/api/v1/components/", name="WhatsApp", group=channels)
    post("/api/v1/components/", name="Telegram", group=channels)
    post("/api/v1/components/", name="Desk")
    hosting = post("/api/v1/component-groups/", name="Hosting")
    post("/api/v1/components/", name="Bot Builder", group=hosting)
    post("/api/v1/components/", name="Bot Router", group=hosting)
    return {c.name: c for c in Component.objects.all()}


def names_in(html: str, names) -> list[str]:
    """``names`` in the order they first appear in ``html``."""
    return sorted(names, key=lambda n: html.index(f">{n}<") if f">{n}<" in html else 10**9)


def test_new_items_are_appended_in_creation_order(built_page):
    groups = ComponentGroup.objects.order_by("position")
    desk = built_page["Desk"]
    assert [g.name for g in groups] == ["Channels", "Hosting"]
    assert groups[0].position < desk.position < groups[1].position
    assert built_page["WhatsApp"].position < built_page["Telegram"].position


def test_an_incident_on_everything_lists_the_page_in_its_order(built_page, client, settings):
    settings.STATUSPAGE_URL = "https://status.example.com"
    everything = {c.code: Component.Status.PARTIAL_OUTAGE for c in built_page.values()}
    incident = services.open_incident(
        name="Outage", status="investigating", body="Looking.", components=everything
    )
    assert affected_line(incident.components.select_related("group")) == REFERENCE_LINE

    page = client.get(f"/incidents/{incident.code}/").content.decode()
    assert f"affects: {REFERENCE_LINE}" in page

    status = client.get("/").content.decode()
    order = ["Channels", "WhatsApp", "Telegram", "Desk", "Hosting", "Bot Builder", "Bot Router"]
    assert names_in(status, order) == order

    v1 = client.get("/api/v1/components/").json()["results"]
    assert [c["name"] for c in v1] == [n for n in order if n not in ("Channels", "Hosting")]
    v1_incident = client.get(f"/api/v1/incidents/{incident.code}/").json()
    assert [c["name"] for c in v1_incident["components"]] == [c["name"] for c in v1]

    v2 = client.get("/api/v2/components.json").json()["components"]
    assert [c["name"] for c in v2] == order
    positions = [c["position"] for c in v2 if not c["group_id"]]
    assert positions == sorted(positions)

    update = incident.updates.get()
    assert [e["name"] for e in update.affected_components] == [
        n for n in order if n not in ("Channels", "Hosting")
    ]
    fan = subscription_services.add_subscriber("eve@example.com", confirmed=True)
    event = NotificationEvent.objects.get(update=update)
    body = notification_email(NotificationContext.for_event(event), fan).body
    assert body.index("WhatsApp:") < body.index("Desk:") < body.index("Bot Builder:")


def test_subscribe_form_lists_choices_in_page_order(built_page, client):
    page = client.get("/subscribe/").content.decode()
    order = ["Channels", "WhatsApp", "Telegram", "Desk", "Hosting", "Bot Builder"]
    positions = [page.index(f"> {n}") for n in order]
    assert positions == sorted(positions)


def test_moving_a_component_between_two_groups(built_page):
    desk = built_page["Desk"]
    assert ordering.move(desk, 1) is True
    line = affected_line(Component.objects.in_page_order())
    assert line.startswith("Channels (WhatsApp, Telegram), Hosting (Bot Builder, Bot Router), Desk")
    assert ordering.move(desk, 1) is False  # already last
    hosting = ComponentGroup.objects.get(name="Hosting")
    ordering.move(hosting, -1)
    ordering.move(hosting, -1)
    assert affected_line(Component.objects.in_page_order()) == (
        "Hosting (Bot Builder, Bot Router), Channels (WhatsApp, Telegram), Desk"
    )
    ordering.move(built_page["Telegram"], -1)
    assert "Channels (Telegram, WhatsApp)" in affected_line(Component.objects.in_page_order())


def test_operators_reorder_the_page_in_the_admin(built_page, admin_client):
    url = reverse("admin:components_page_order")
    page = admin_client.get(url).content.decode()
    assert re.search(r"Channels.*Desk.*Hosting", page, re.S)
    desk = built_page["Desk"]
    response = admin_client.post(url, {"move": f"component:{desk.pk}:up"})
    assert response.status_code == 302
    page = admin_client.get(url).content.decode()
    assert re.search(r"Desk.*Channels.*Hosting", page, re.S)
    assert "Moved “Desk” up." in page
    assert admin_client.post(url, {"move": "nonsense"}).status_code == 400
    assert admin_client.post(url, {"move": "group:999999:up"}).status_code == 404


def test_support_staff_may_not_reorder_the_page(built_page, client, support_user):
    client.force_login(support_user)
    url = reverse("admin:components_page_order")
    desk = built_page["Desk"]
    assert client.post(url, {"move": f"component:{desk.pk}:up"}).status_code == 403
    desk.refresh_from_db()
    assert ordering.page_items()[1].component == desk


def test_migrated_positions_keep_the_old_order(db):
    # An explicit position still wins; equal positions fall back to names.
    ComponentGroup.objects.create(name="Zeta", position=5)
    Component.objects.create(name="Alpha", position=5)
    Component.objects.create(name="First", position=1)
    items = [entry.item.name for entry in ordering.page_items()]
    assert items == ["First", "Alpha", "Zeta"]
