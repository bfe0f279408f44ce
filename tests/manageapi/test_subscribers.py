"""Email subscribers of the page and of one incident through the manage API, by
``subscriptions.services``."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from statusportal.mail import use_mail_server
from subscriptions import services
from subscriptions.models import Subscriber
from tests.manageapi.conftest import url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail_in_memory(settings):
    use_mail_server(settings, {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"})


def test_adding_a_subscriber_sends_the_double_opt_in(manage, mailoutbox):
    response = manage.send(
        "POST", url("/subscribers"), {"subscriber": {"email": "ann@example.com"}}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["email"], body["mode"], body["state"]) == (
        "ann@example.com",
        "email",
        "unconfirmed",
    )
    assert "components" not in body  # everything, including components added later
    assert [m.to for m in mailoutbox] == [["ann@example.com"]]
    assert "/confirm/" in mailoutbox[0].body


def test_skipping_the_confirmation_activates_with_chosen_components(manage, rest, mailoutbox):
    response = manage.send(
        "POST",
        url("/subscribers.json"),
        {
            "subscriber": {
                "email": "bob@example.com",
                "component_ids": [rest.code],
                "skip_confirmation_notification": True,
            }
        },
    )
    assert response.status_code == 201, response.json()
    assert response.json()["components"] == [rest.code]
    subscriber = Subscriber.objects.get()
    assert subscriber.state == "active"
    assert not subscriber.all_components
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not an address"}, "email"),
        ({}, "email"),
        ({"email": "a@example.com", "component_ids": ["nope"]}, "components"),
        ({"email": "a@example.com", "component_ids": []}, "component_ids"),
        ({"phone_number": "5555555", "phone_country": "US"}, "phone_number"),
    ],
)
def test_refused_subscribers_are_not_written(manage, rest, fields, field, mailoutbox):
    response = manage.send("POST", url("/subscribers"), {"subscriber": fields})
    assert response.status_code == 422, response.json()
    assert field in response.json()["errors"], response.json()
    assert not Subscriber.objects.exists()
    assert mailoutbox == []


def test_a_webhook_endpoint_is_not_supported_yet(manage):
    response = manage.send(
        "POST",
        url("/subscribers"),
        {"subscriber": {"email": "ops@example.com", "endpoint": "https://example.com/hook"}},
    )
    assert response.status_code == 422
    assert "not supported yet" in response.json()["message"]
    assert not Subscriber.objects.exists()


def test_listing_counting_and_unsubscribing(manage):
    active = services.add_subscriber("a@example.com", confirmed=True, send_confirmation=False)
    services.add_subscriber("u@example.com", send_confirmation=False)
    listed = manage.get(url("/subscribers")).json()
    assert [s["id"] for s in listed] == [active.code]  # active ones by default
    assert len(manage.get(url("/subscribers?state=all")).json()) == 2
    assert manage.get(url("/subscribers?type=sms")).json() == []
    assert manage.get(url("/subscribers?q=u@")).json() == []
    assert manage.get(url("/subscribers?state=bogus")).status_code == 422
    assert manage.get(url("/subscribers/count")).json()["email"] == 2
    assert manage.get(url("/subscribers/count?state=active")).json()["email"] == 1
    assert manage.get(url(f"/subscribers/{active.code}")).json()["email"] == "a@example.com"
    response = manage.delete(url(f"/subscribers/{active.code}"))
    assert response.status_code == 200
    assert response.json()["state"] == "unsubscribed"
    active.refresh_from_db()
    assert active.state == "unsubscribed"
    assert [s["id"] for s in manage.get(url("/subscribers/unsubscribed")).json()] == [active.code]
    assert manage.get(url("/subscribers")).json() == []


def test_changing_a_subscribers_components(manage, rest, graphql):
    subscriber = services.add_subscriber("a@example.com", confirmed=True, send_confirmation=False)
    response = manage.send(
        "PATCH",
        url(f"/subscribers/{subscriber.code}"),
        {"subscriber": {"component_ids": [graphql.code]}},
    )
    assert response.status_code == 200, response.json()
    assert response.json()["components"] == [graphql.code]


def test_support_staff_may_not_read_subscribers(support_manage):
    services.add_subscriber("a@example.com", confirmed=True, send_confirmation=False)
    assert support_manage.get(url("/subscribers")).status_code == 403


def test_incident_subscribers(manage, open_incident, mailoutbox):
    incident = open_incident()
    response = manage.send(
        "POST",
        url(f"/incidents/{incident.code}/subscribers"),
        {"subscriber": {"email": "eve@example.com", "skip_confirmation_notification": True}},
    )
    assert response.status_code == 201, response.json()
    code = response.json()["id"]
    subscriber = Subscriber.objects.get(code=code)
    assert list(subscriber.incidents.all()) == [incident]
    assert not subscriber.all_components
    listed = manage.get(url(f"/incidents/{incident.code}/subscribers")).json()
    assert [s["id"] for s in listed] == [code]
    assert manage.get(url(f"/incidents/{incident.code}/subscribers/{code}")).status_code == 200
    response = manage.delete(url(f"/incidents/{incident.code}/subscribers/{code}.json"))
    assert response.status_code == 200
    assert response.json()["state"] == "unsubscribed"  # it followed nothing else
    assert manage.get(url(f"/incidents/{incident.code}/subscribers")).json() == []
    assert mailoutbox == []


def test_the_subscriber_list_costs_a_fixed_number_of_queries(manage, rest, api_group):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert manage.get(url("/subscribers")).status_code == 200
        return len(captured)

    services.add_subscriber("a@example.com", components=[rest.code, api_group.code], confirmed=True)
    manage.get(url())  # the key's last use is written once a minute: not in the count
    few = queries()
    for n in range(4):
        services.add_subscriber(f"s{n}@example.com", components=[api_group.code], confirmed=True)
    assert queries() == few
