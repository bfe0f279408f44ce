"""Subscriptions say what they are: the form stores exactly what was ticked, and every
page and email states what the subscription follows (and why a notification came)."""

import re

import pytest
from django.core import mail

from incidents import services as incident_services
from subscriptions import services
from subscriptions.models import NotificationEvent, Subscriber
from subscriptions.rendering import NotificationContext, notification_email
from tests.subscriptions.test_views import confirm_path

pytestmark = pytest.mark.django_db


def test_ticked_boxes_are_stored_even_with_everything_left_selected(client, rest, website):
    # The radio defaults to "Everything"; ticking boxes means "these".
    response = client.post(
        "/subscribe/", {"email": "tia@example.com", "scope": "all", "components": [website.code]}
    )
    assert response.status_code == 200
    subscriber = Subscriber.objects.get(email="tia@example.com")
    assert subscriber.all_components is False
    assert list(subscriber.components.all()) == [website]
    page = response.content.decode()
    assert "Once you confirm, you will follow: <strong>Website</strong>." in page
    assert "Once confirmed, you will follow: Website." in mail.outbox[0].body


def test_group_and_component_scope_is_described_in_page_order(client, rest, website, api_group):
    client.post(
        "/subscribe/",
        {
            "email": "gus@example.com",
            "scope": "all",
            "groups": [api_group.code],
            "components": [website.code],
        },
    )
    # Website (position 0) comes before the API group (position 1) on the page.
    assert "you will follow: Website and API (all of it)." in mail.outbox[0].body


def test_confirmed_page_says_what_is_followed(client, rest):
    data = {"email": "ron@example.com", "scope": "all", "components": [rest.code]}
    client.post("/subscribe/", data)
    page = client.post(confirm_path(mail.outbox[0])).content.decode()
    assert "You follow: <strong>REST API</strong>." in page


def test_manage_page_names_the_address_and_the_scope(client, rest_fan):
    page = client.get(f"/subscriptions/{rest_fan.token}/").content.decode()
    assert "For <strong>rita@example.com</strong>. You follow: <strong>REST API</strong>." in page


def test_choosing_everything_on_the_manage_page_drops_the_old_boxes(client, rest_fan, rest):
    url = f"/subscriptions/{rest_fan.token}/"
    page = client.post(url, {"scope": "all", "components": [rest.code]}).content.decode()
    rest_fan.refresh_from_db()
    assert rest_fan.all_components is True and not rest_fan.components.exists()
    assert "Saved. You follow: everything on Acme status." in page


def test_ticking_a_box_on_the_manage_page_of_an_everything_subscriber(client, everything, website):
    url = f"/subscriptions/{everything.token}/"
    client.post(url, {"scope": "all", "components": [website.code]})
    everything.refresh_from_db()
    assert everything.all_components is False
    assert list(everything.components.all()) == [website]


def test_stopping_the_last_followed_incident_is_unsubscribing(client, open_incident):
    incident = open_incident()
    subscriber = services.add_subscriber("ivy@example.com", incident=incident, confirmed=True)
    assert subscriber.state == Subscriber.State.ACTIVE
    page = client.post(f"/subscriptions/{subscriber.token}/", {"unfollow": incident.code})
    html = page.content.decode()
    assert "You no longer follow anything, and following nothing is unsubscribing." in html
    assert "No more status emails will be sent to ivy@example.com." in html
    assert "Saved." not in html
    subscriber.refresh_from_db()
    assert subscriber.state == Subscriber.State.UNSUBSCRIBED


def test_stopping_one_incident_keeps_a_subscription_that_follows_more(
    client, open_incident, rest_fan
):
    incident = open_incident()
    rest_fan.incidents.add(incident)
    page = client.post(f"/subscriptions/{rest_fan.token}/", {"unfollow": incident.code})
    assert "Saved. You follow: REST API." in page.content.decode()
    rest_fan.refresh_from_db()
    assert rest_fan.state == Subscriber.State.ACTIVE


def _footer(event, subscriber) -> str:
    body = notification_email(NotificationContext.for_event(event), subscriber).body
    return body.split("\n--\n", 1)[1]


def test_each_notification_says_why_it_came(open_incident, rest, graphql, website, api_group):
    greg = services.add_subscriber("greg@example.com", components=[api_group], confirmed=True)
    rita = services.add_subscriber("rita@example.com", components=[rest, website], confirmed=True)
    incident = open_incident()  # REST API
    ivy = services.add_subscriber("ivy@example.com", incident=incident, confirmed=True)
    event = NotificationEvent.objects.get(update=incident.updates.get())
    assert _footer(event, greg).startswith(
        "You get this email because you follow API.\nYou follow: API (all of it).\n"
    )
    assert _footer(event, rita).startswith(
        "You get this email because you follow REST API.\nYou follow: Website and REST API.\n"
    )
    assert _footer(event, ivy).startswith(
        "You get this email because you follow this incident.\n"
        "You follow: the incident “API errors”.\n"
    )
    # Postmortems and reminders carry the same footer.
    incident_services.resolve(incident)
    incident_services.save_postmortem_draft(incident, body="Root cause: DNS.")
    incident_services.publish_postmortem(incident, notify=True)
    postmortem = NotificationEvent.objects.get(kind="postmortem")
    footer = _footer(postmortem, rita)
    assert re.match(r"You get this email because you follow REST API\.\n", footer)
