"""Webhook, Slack and Teams deliveries against a real HTTP receiver on loopback: the
payloads (Statuspage's webhook JSON key by key and type by type, Block Kit, Adaptive
Card), the signature, failures and their classification, and the address checks."""

import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from components.models import Component
from incidents import services as incident_services
from subscriptions import delivery, egress, outbox, services
from subscriptions.models import Delivery, NotificationEvent, Subscriber
from tests.subscriptions.receiver import HANG, Receiver, Reply

# Statuspage's real webhook payloads (copies of ../shared/fixtures/statuspage/).
FIXTURES = Path(__file__).resolve().parent / "fixtures"

DState = Delivery.State

# Keys Statuspage documents as "a value or null": either side may be null there, and
# when both have a value the types must still match. Everywhere else a null is a type.
NULLABLE = {
    "monitoring_at",
    "resolved_at",
    "postmortem_body",
    "postmortem_body_last_updated_at",
    "postmortem_published_at",
    "scheduled_for",
    "scheduled_until",
    "scheduled_reminded_at",
    "impact_override",
    "description",
    "group_id",
    "twitter_updated_at",
    "custom_tweet",
}


def json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def assert_same_shape(ours, theirs, path: str = "$") -> None:
    """Same keys, same JSON types, same nesting (each item of a list against the
    fixture's first item; an empty list is still an array)."""
    key = path.rsplit(".", 1)[-1]
    if key in NULLABLE and (ours is None or theirs is None):
        return
    assert json_type(ours) == json_type(theirs), f"{path}: {json_type(ours)} vs {json_type(theirs)}"
    if isinstance(theirs, dict):
        assert set(ours) == set(theirs), f"{path}: keys differ: {set(ours) ^ set(theirs)}"
        for name in theirs:
            assert_same_shape(ours[name], theirs[name], f"{path}.{name}")
    elif isinstance(theirs, list) and theirs:
        for i, item in enumerate(ours):
            assert_same_shape(item, theirs[0], f"{path}[{i}]")


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def http(settings):
    """Endpoints on loopback allowed (as an intranet install), short timeouts."""
    settings.SUBSCRIPTIONS_WEBHOOK_ALLOW_PRIVATE = True
    settings.SUBSCRIPTIONS_HTTP_TIMEOUT = 2
    settings.SUBSCRIPTIONS_RETRY_BASE_SECONDS = 1
    with Receiver() as receiver:
        yield receiver


def webhook(http, path="/hook", **kwargs) -> Subscriber:
    kwargs.setdefault("skip_confirmation", True)
    return services.add_webhook_subscriber(http.url(path), "ops@example.com", **kwargs)


def chat(http, channel, path) -> Subscriber:
    return services.add_endpoint_subscriber(channel, http.url(path), confirmed=True)


class Queue(list):
    def __call__(self, ids, channel="email"):
        self.append(list(ids))


def deliver(event) -> delivery.BatchResult:
    """Fan out and run every send batch inline."""
    queue = Queue()
    outbox.fan_out(event.pk, enqueue=queue)
    total = delivery.BatchResult()
    for batch in queue:
        result = delivery.send_batch(batch)
        for name in vars(total):
            setattr(total, name, getattr(total, name) + getattr(result, name))
    return total


def update_event(update) -> NotificationEvent:
    return NotificationEvent.objects.get(update=update)


def check_signature(request, subscriber: Subscriber) -> None:
    expected = hmac.new(subscriber.secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-statusportal-signature"] == f"sha256={expected}"


# --- Payloads ----------------------------------------------------------------------------


def test_webhook_gets_incident_updates_in_statuspage_format_signed(http, open_incident, rest):
    hook = webhook(http)
    incident = open_incident()
    incident_services.post_update(incident, status="identified", body="Found it.")
    resolving = incident_services.post_update(incident, status="resolved", body="Fixed.")
    assert deliver(update_event(resolving)).sent == 1

    (request,) = http.to("/hook")
    check_signature(request, hook)
    payload = request.json()
    assert_same_shape(payload, fixture("webhook-incident-update.json"))
    assert payload["incident"]["id"] == incident.code
    assert payload["incident"]["status"] == "resolved"
    assert [u["status"] for u in payload["incident"]["incident_updates"]] == [
        "resolved",
        "identified",
        "investigating",
    ]
    assert payload["incident"]["components"][0]["id"] == rest.code
    affected = payload["incident"]["incident_updates"][0]["affected_components"]
    assert affected == [
        {
            "code": rest.code,
            "name": "REST API",
            "old_status": "major_outage",
            "new_status": "operational",
        }
    ]
    assert request.headers["x-statusportal-delivery"]
    assert request.headers["content-type"] == "application/json"


def test_webhook_gets_postmortem_and_maintenance_events_in_statuspage_format(
    http, open_incident, open_maintenance
):
    hook = webhook(http)
    incident = open_incident()
    incident_services.post_update(incident, status="resolved", body="Fixed.")
    incident.refresh_from_db()
    incident_services.save_postmortem_draft(incident, body="What happened.")
    incident_services.publish_postmortem(incident, notify=True)
    event = NotificationEvent.objects.get(kind=NotificationEvent.Kind.POSTMORTEM)
    maintenance = open_maintenance(remind_before=timedelta(hours=1))
    scheduled = update_event(maintenance.updates.get())
    reminder = outbox.record_reminder(maintenance)
    for e in (event, scheduled, reminder):
        assert deliver(e).sent == 1

    bodies = [r.json() for r in http.to("/hook")]
    for body in bodies:
        assert_same_shape(body, fixture("webhook-incident-update.json"))
        check_signature(http.to("/hook")[0], hook)
    assert bodies[0]["incident"]["status"] == "postmortem"
    assert bodies[0]["incident"]["postmortem_body"] == "What happened."
    assert bodies[1]["incident"]["status"] == "scheduled"
    assert bodies[1]["incident"]["scheduled_for"]
    assert bodies[2]["incident"]["scheduled_remind_prior"] is True


def test_webhook_gets_component_status_changes_in_statuspage_format(http, rest, website):
    webhook(http, "/everything")
    webhook(http, "/website", components=[website.code])
    rest.set_status(Component.Status.PARTIAL_OUTAGE)
    event = NotificationEvent.objects.get(kind=NotificationEvent.Kind.COMPONENT)
    assert deliver(event).sent == 1  # the website follower does not hear about REST

    (request,) = http.to("/everything")
    payload = request.json()
    assert_same_shape(payload, fixture("webhook-component-update.json"))
    assert payload["component"]["id"] == rest.code
    assert payload["component_update"] == {
        **payload["component_update"],
        "old_status": "operational",
        "new_status": "partial_outage",
        "component_id": rest.code,
    }
    assert payload["page"]["status_indicator"] == "major"
    assert http.to("/website") == []


def test_component_changes_are_not_recorded_without_webhook_subscribers(rest, everything):
    rest.set_status(Component.Status.MAJOR_OUTAGE)
    assert not NotificationEvent.objects.filter(kind=NotificationEvent.Kind.COMPONENT).exists()


def test_component_changes_go_to_webhooks_only(http, rest, everything):
    webhook(http)
    chat(http, "slack", "/slack")
    rest.set_status(Component.Status.MAJOR_OUTAGE)
    event = NotificationEvent.objects.get(kind=NotificationEvent.Kind.COMPONENT)
    assert deliver(event).sent == 1
    assert http.paths() == ["/hook"]
    assert mail.outbox == []


def test_unsubscribe_link_of_a_webhook_payload_works_in_one_click(http, open_incident):
    hook = webhook(http)
    deliver(update_event(open_incident().updates.get()))
    link = http.to("/hook")[0].json()["meta"]["unsubscribe"]
    assert hook.token in link
    response = Client().post(link.removeprefix("https://status.example.com"))
    assert response.status_code == 200
    hook.refresh_from_db()
    assert hook.state == Subscriber.State.UNSUBSCRIBED


def test_slack_gets_a_block_kit_message(http, open_incident, rest):
    chat(http, "slack", "/slack")
    incident = open_incident(body="Errors & timeouts on the API.")
    assert deliver(update_event(incident.updates.get())).sent == 1
    message = http.to("/slack")[0].json()
    assert message["text"]
    blocks = message["blocks"]
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["type"] == "plain_text"
    assert blocks[0]["text"]["text"] == "Investigating: API errors"
    assert len(blocks[0]["text"]["text"]) <= 150
    sections = [b for b in blocks if b["type"] == "section"]
    assert any("Errors &amp; timeouts" in (b.get("text") or {}).get("text", "") for b in sections)
    context = next(b for b in blocks if b["type"] == "context")
    assert "REST API (Major outage)" in context["elements"][0]["text"]
    (button,) = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert button["url"] == f"https://status.example.com/incidents/{incident.code}/"
    for block in blocks:
        assert block["type"] in {"header", "section", "context", "actions"}


def test_teams_gets_an_adaptive_card_message(http, open_incident):
    chat(http, "teams", "/teams")
    incident = open_incident()
    assert deliver(update_event(incident.updates.get())).sent == 1
    message = http.to("/teams")[0].json()
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["body"][0] == {**card["body"][0], "type": "TextBlock", "text": "API errors"}
    facts = next(b for b in card["body"] if b["type"] == "FactSet")["facts"]
    assert facts == [{"title": "REST API", "value": "Major outage"}]
    assert card["actions"][0]["url"] == f"https://status.example.com/incidents/{incident.code}/"


def test_every_channel_gets_one_delivery_per_event(http, open_incident, everything):
    webhook(http)
    chat(http, "slack", "/slack")
    chat(http, "teams", "/teams")
    event = update_event(open_incident().updates.get())
    result = deliver(event)
    assert result.sent == 4
    assert sorted(http.paths()) == ["/hook", "/slack", "/teams"]
    assert len(mail.outbox) == 1
    channels = sorted(Delivery.objects.filter(event=event).values_list("channel", flat=True))
    assert channels == ["email", "slack", "teams", "webhook"]
    assert deliver(event).sent == 0  # a second fan-out and send adds nothing


# --- Failures -----------------------------------------------------------------------------


def test_500_then_200_is_retried_and_delivered_once(http, open_incident):
    webhook(http)
    http.answer("/hook", 500, 200)
    event = update_event(open_incident().updates.get())
    assert deliver(event).retry == 1
    row = Delivery.objects.get(event=event)
    assert row.state == DState.PENDING and row.last_error.startswith("HTTP 500")
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert delivery.send_batch([row.pk]).sent == 1
    assert delivery.send_batch([row.pk]).sent == 0
    assert len(http.to("/hook")) == 2
    ids = {r.headers["x-statusportal-delivery"] for r in http.to("/hook")}
    assert len(ids) == 1  # the same delivery id on every attempt


def test_429_waits_as_long_as_retry_after_asks(http, open_incident):
    webhook(http)
    http.answer("/hook", Reply(429, {"Retry-After": "600"}))
    event = update_event(open_incident().updates.get())
    before = timezone.now()
    assert deliver(event).retry == 1
    row = Delivery.objects.get(event=event)
    assert row.next_attempt_at >= before + timedelta(seconds=600)


def test_a_hanging_endpoint_times_out_while_the_others_are_served(http, open_incident, settings):
    settings.SUBSCRIPTIONS_HTTP_CONCURRENCY = 4
    webhook(http, "/hang")  # first in the batch
    for i in range(8):
        webhook(http, f"/ok{i}")
    http.answer("/hang", HANG)
    event = update_event(open_incident().updates.get())
    result = deliver(event)
    assert (result.sent, result.retry) == (8, 1)
    row = Delivery.objects.get(event=event, subscriber__endpoint=http.url("/hang"))
    assert row.state == DState.PENDING and row.last_error.startswith("timeout")
    (hung,) = http.to("/hang")
    assert hung.answered is None
    served = [r for r in http.requests if r.path.startswith("/ok")]
    assert len(served) == 8
    # Every healthy endpoint was answered while the hanging request was still open.
    assert all(r.answered is not None for r in served)


def test_410_repeatedly_quarantines_the_endpoint_and_tells_its_contact(
    http, open_incident, settings
):
    settings.SUBSCRIPTIONS_QUARANTINE_AFTER = 2
    hook = webhook(http)
    http.answer("/hook", 410)
    incident = open_incident()
    assert deliver(update_event(incident.updates.get())).failed == 1
    hook.refresh_from_db()
    assert hook.state == Subscriber.State.ACTIVE and mail.outbox == []
    update = incident_services.post_update(incident, status="identified", body="Again.")
    assert deliver(update_event(update)).failed == 1
    hook.refresh_from_db()
    assert hook.state == Subscriber.State.QUARANTINED
    (message,) = mail.outbox
    assert message.to == ["ops@example.com"]
    assert http.url("/hook") in message.body and "410" in message.body
    failed = Delivery.objects.filter(subscriber=hook, state=DState.FAILED)
    assert {row.last_error[:8] for row in failed} == {"HTTP 410"}


def test_404_is_permanent_and_a_redirect_is_not_followed(http, open_incident):
    webhook(http, "/gone")
    webhook(http, "/moved")
    http.answer("/gone", 404)
    http.answer("/moved", Reply(301, {"Location": "http://169.254.169.254/"}))
    event = update_event(open_incident().updates.get())
    assert deliver(event).failed == 2
    errors = sorted(Delivery.objects.values_list("last_error", flat=True))
    assert errors[0].startswith("HTTP 301") and "not followed" in errors[0]
    assert errors[1].startswith("HTTP 404")
    assert http.paths().count("/moved") == 1


# --- Server-side request forgery -------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ],
)
def test_internal_targets_are_refused_at_subscribe_time(url, settings, db):
    settings.SUBSCRIPTIONS_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(ValidationError) as refused:
        services.add_webhook_subscriber(url, "ops@example.com")
    assert "endpoint" in refused.value.message_dict
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "http://user:pw@example.com/", "not a url", "https://"]
)
def test_malformed_endpoints_are_refused(url, settings, db):
    with pytest.raises(ValidationError):
        services.add_webhook_subscriber(url, "ops@example.com")
    assert not Subscriber.objects.exists()


def test_metadata_addresses_are_refused_even_when_private_targets_are_allowed(settings):
    settings.SUBSCRIPTIONS_WEBHOOK_ALLOW_PRIVATE = True
    with pytest.raises(egress.EndpointRefused):
        egress.resolve("169.254.169.254", 80)
    assert egress.resolve("127.0.0.1", 80) == ["127.0.0.1"]


def test_an_endpoint_that_turns_internal_is_refused_at_send_time(http, open_incident, settings):
    webhook(http)  # accepted while private targets were allowed
    settings.SUBSCRIPTIONS_WEBHOOK_ALLOW_PRIVATE = False
    event = update_event(open_incident().updates.get())
    assert deliver(event).failed == 1
    row = Delivery.objects.get(event=event)
    assert row.last_error.startswith("refused: 127.0.0.1 resolves to")
    assert http.requests == []


# --- Subscribing --------------------------------------------------------------------------


def test_webhook_confirmation_goes_to_the_contact_and_shows_the_secret_once(http, db):
    hook = services.add_webhook_subscriber(http.url("/hook"), "Ops@Example.com")
    assert hook.state == Subscriber.State.UNCONFIRMED
    (message,) = mail.outbox
    assert message.to == ["Ops@example.com"]
    link = next(w for w in message.body.split() if "/confirm/" in w)
    path = link.removeprefix("https://status.example.com")
    client = Client()
    page = client.post(path)
    hook.refresh_from_db()
    assert hook.state == Subscriber.State.ACTIVE
    assert len(hook.secret) == 64 and hook.secret in page.content.decode()
    assert client.post(path).status_code == 410  # shown once: the link is used
    assert http.requests == []  # nothing is sent to the URL until confirmed


def test_slack_confirmation_is_posted_into_the_channel(http, db):
    subscriber = services.add_endpoint_subscriber("slack", http.url("/slack"))
    assert subscriber.state == Subscriber.State.UNCONFIRMED
    (request,) = http.to("/slack")
    message = request.json()
    button = next(b for b in message["blocks"] if b["type"] == "actions")["elements"][0]
    assert button["text"]["text"] == "Confirm"
    response = Client().post(button["url"].removeprefix("https://status.example.com"))
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.state == Subscriber.State.ACTIVE


def test_subscribing_the_same_endpoint_twice_keeps_one_row(http, db):
    first = services.add_webhook_subscriber(http.url("/hook"), "a@example.com")
    second = services.add_webhook_subscriber(http.url("/hook"), "b@example.com")
    assert first.pk == second.pk
    assert Subscriber.objects.get().email == "b@example.com"
    # The same address as an email subscriber is another subscription.
    services.add_subscriber("a@example.com", confirmed=True)
    assert Subscriber.objects.count() == 2


def test_a_webhook_needs_a_contact_email(http, db):
    with pytest.raises(ValidationError) as refused:
        services.add_webhook_subscriber(http.url("/hook"), "")
    assert "email" in refused.value.message_dict


# --- The subscribe page ---------------------------------------------------------------------


def test_subscribe_page_offers_every_channel(client, rest):
    page = client.get("/subscribe/").content.decode()
    for value in ("email", "webhook", "slack", "teams"):
        assert f'name="channel" value="{value}"' in page
    assert 'name="endpoint"' in page


def test_subscribe_page_signs_up_a_webhook_for_chosen_components(client, http, rest):
    response = client.post(
        "/subscribe/",
        {
            "channel": "webhook",
            "endpoint": http.url("/hook"),
            "email": "ops@example.com",
            "scope": "chosen",
            "components": [rest.code],
        },
    )
    assert response.status_code == 200
    assert "confirm the webhook" in response.content.decode()
    hook = Subscriber.objects.get(channel="webhook")
    assert hook.state == Subscriber.State.UNCONFIRMED and list(hook.components.all()) == [rest]
    (message,) = mail.outbox
    assert message.to == ["ops@example.com"] and http.url("/hook") in message.body


def test_subscribe_page_signs_up_a_teams_channel_with_a_message_into_it(client, http, db):
    response = client.post(
        "/subscribe/", {"channel": "teams", "endpoint": http.url("/teams"), "scope": "all"}
    )
    assert response.status_code == 200
    assert "Check the channel" in response.content.decode()
    card = http.to("/teams")[0].json()["attachments"][0]["content"]
    assert card["actions"][0]["title"] == "Confirm"
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (
            {"channel": "webhook", "endpoint": "http://127.0.0.1/x", "email": "a@example.com"},
            "endpoint",
        ),
        (
            {"channel": "webhook", "endpoint": "http://169.254.169.254/", "email": "a@example.com"},
            "endpoint",
        ),
        ({"channel": "webhook", "endpoint": "https://example.com/"}, "email"),
        ({"channel": "slack"}, "endpoint"),
        ({"channel": "slack", "endpoint": "javascript:alert(1)"}, "endpoint"),
        ({"channel": "pager", "email": "a@example.com"}, "channel"),
    ],
)
def test_subscribe_page_refuses_a_bad_endpoint_with_a_form_error(client, settings, db, data, field):
    settings.SUBSCRIPTIONS_WEBHOOK_ALLOW_PRIVATE = False
    response = client.post("/subscribe/", {**data, "scope": "all"})
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not Subscriber.objects.exists()
    assert mail.outbox == []


# --- The operator console ------------------------------------------------------------------


def test_admin_lists_filters_and_searches_every_channel(admin_client, http, everything):
    hook = webhook(http)
    slack = chat(http, "slack", "/slack")
    page = admin_client.get("/admin/subscriptions/subscriber/").content.decode()
    assert http.url("/hook") in page and http.url("/slack") in page and everything.email in page
    only = admin_client.get("/admin/subscriptions/subscriber/", {"channel__exact": "slack"})
    assert list(only.context["cl"].queryset) == [slack]
    found = admin_client.get("/admin/subscriptions/subscriber/", {"q": "/hook"})
    assert list(found.context["cl"].queryset) == [hook]


def test_admin_send_test_posts_to_the_endpoint_and_reports_the_answer(admin_client, http, rest):
    hook = webhook(http)
    gone = webhook(http, "/gone")
    http.answer("/gone", 410)
    response = admin_client.post(
        "/admin/subscriptions/subscriber/",
        {"action": "send_test", "_selected_action": [hook.pk, gone.pk]},
        follow=True,
    )
    text = [str(m) for m in response.context["messages"]]
    assert any("Test accepted" in m and "/hook" in m for m in text)
    assert any("HTTP 410" in m for m in text)
    (request,) = http.to("/hook")
    check_signature(request, hook)
    assert_same_shape(request.json(), fixture("webhook-component-update.json"))
    assert not Delivery.objects.exists()  # a test is not a delivery


def test_admin_adding_a_webhook_shows_its_secret_and_checks_the_url(admin_client, settings, db):
    settings.SUBSCRIPTIONS_WEBHOOK_ALLOW_PRIVATE = False
    form = {
        "channel": "webhook",
        "email": "ops@example.com",
        "endpoint": "http://169.254.169.254/latest/",
        "state": "active",
        "all_components": "on",
        "incidents": "",
        "hard_bounces": "0",
    }
    refused = admin_client.post("/admin/subscriptions/subscriber/add/", form)
    assert refused.status_code == 200 and refused.context["adminform"].form.errors["endpoint"]
    assert not Subscriber.objects.exists()
    settings.SUBSCRIPTIONS_WEBHOOK_ALLOW_PRIVATE = True
    added = admin_client.post(
        "/admin/subscriptions/subscriber/add/",
        {**form, "endpoint": "http://127.0.0.1:9/hook"},
        follow=True,
    )
    hook = Subscriber.objects.get()
    assert len(hook.secret) == 64
    assert any(hook.secret in str(m) for m in added.context["messages"])


def test_incident_page_shows_delivery_counts_per_channel(
    admin_client, http, open_incident, everything
):
    webhook(http)
    chat(http, "slack", "/slack")
    http.answer("/slack", 404)
    incident = open_incident()
    deliver(update_event(incident.updates.get()))
    page = admin_client.get(f"/admin/incidents/incident/{incident.pk}/post/").content.decode()
    assert 'data-channel="email">Emails:' in page
    assert 'data-channel="webhook">Webhooks:' in page
    assert "channel__exact=slack&amp;state__exact=failed" in page
    slack_counts = page.split('data-channel="slack">')[1].split("</span>")[0]
    assert ">1 failed<" in slack_counts and ">0 sent<" in slack_counts


def test_retry_failed_deliveries_of_a_webhook(admin_client, http, open_incident):
    webhook(http)
    http.answer("/hook", 404, 200)
    event = update_event(open_incident().updates.get())
    assert deliver(event).failed == 1
    row = Delivery.objects.get()
    response = admin_client.post(
        "/admin/subscriptions/delivery/",
        {"action": "retry", "_selected_action": [row.pk]},
        follow=True,
    )
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.state == DState.PENDING
    assert delivery.send_batch([row.pk]).sent == 1


def test_csv_export_leaves_endpoints_out(admin_client, http, everything):
    hook = webhook(http)
    response = admin_client.post(
        "/admin/subscriptions/subscriber/",
        {"action": "export_csv", "_selected_action": [everything.pk, hook.pk]},
    )
    lines = response.content.decode().splitlines()
    assert len(lines) == 2 and lines[1].startswith(everything.email)


def test_rate_limit_per_endpoint_posts_no_more_confirmations_into_a_channel(
    client, http, settings, db
):
    settings.SUBSCRIPTIONS_RATE_PER_EMAIL = 2
    for i in range(4):  # another contact address each time: the channel is what is counted
        data = {"channel": "slack", "endpoint": http.url("/slack"), "email": f"x{i}@example.com"}
        assert client.post("/subscribe/", {**data, "scope": "all"}).status_code == 200
    assert len(http.to("/slack")) == 2
