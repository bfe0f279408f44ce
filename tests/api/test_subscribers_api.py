"""``/api/v1/subscribers/``: how an administrator's script adds and removes subscribers."""

import pytest

from statusportal.mail import use_mail_server
from subscriptions.models import Subscriber
from tests.subscriptions.receiver import Receiver

URL = "/api/v1/subscribers/"


@pytest.fixture(autouse=True)
def _mail_in_memory(settings):
    use_mail_server(settings, {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"})


def test_post_subscribes_to_everything_and_sends_the_double_opt_in(admin_api, mailoutbox):
    response = admin_api.post(URL, {"email": "Ann@Example.com"}, format="json")

    assert response.status_code == 201
    body = response.json()
    # The domain is case-insensitive and stored lower case; the local part is kept as typed.
    assert body["email"] == "Ann@example.com"
    assert body["state"] == "unconfirmed"
    assert body["all_components"] is True
    assert "token" not in body and "secret" not in body
    assert [m.to for m in mailoutbox] == [["Ann@example.com"]]
    assert "/confirm/" in mailoutbox[0].body


def test_post_with_skip_confirmation_activates_chosen_components_without_mail(
    admin_api, rest, api_group, mailoutbox
):
    response = admin_api.post(
        URL,
        {
            "email": "bob@example.com",
            "components": [rest.code, api_group.code],
            "skip_confirmation": True,
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["state"] == "active"
    assert body["all_components"] is False
    assert body["components"] == [rest.code]
    assert body["groups"] == [api_group.code]
    assert mailoutbox == []


def test_post_for_one_incident(admin_api, open_incident):
    incident = open_incident()

    response = admin_api.post(
        URL,
        {"email": "cy@example.com", "incident": incident.code, "skip_confirmation": True},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["incidents"] == [incident.code]


def test_posting_a_known_address_again_does_not_duplicate_it(admin_api):
    first = admin_api.post(
        URL, {"email": "dee@example.com", "skip_confirmation": True}, format="json"
    )
    again = admin_api.post(
        URL, {"email": "DEE@example.com", "skip_confirmation": True}, format="json"
    )

    assert again.status_code == 201
    assert again.json()["code"] == first.json()["code"]
    assert Subscriber.objects.filter(email="dee@example.com").count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"email": "eve@example.com", "incident": "nosuchcode00"}, "incident"),
        ({"email": "eve@example.com", "components": ["nosuchcode00"]}, "components"),
    ],
)
def test_bad_subscriber_is_a_400_naming_the_field_and_writes_nothing(admin_api, db, payload, field):
    response = admin_api.post(URL, payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Subscriber.objects.exists()


def test_delete_forgets_the_subscriber(admin_api):
    code = admin_api.post(URL, {"email": "fay@example.com"}, format="json").json()["code"]

    response = admin_api.delete(f"{URL}{code}/")

    assert response.status_code == 204
    assert admin_api.get(f"{URL}{code}/").status_code == 404
    assert not Subscriber.objects.filter(code=code).exists()


def test_delete_of_an_unknown_subscriber_is_a_404(admin_api, db):
    response = admin_api.delete(f"{URL}nosuchcode00/")

    assert response.status_code == 404
    assert "detail" in response.json()


def test_support_staff_may_neither_add_nor_remove_subscribers(support_api, admin_api):
    code = admin_api.post(URL, {"email": "gus@example.com"}, format="json").json()["code"]

    assert support_api.post(URL, {"email": "hal@example.com"}, format="json").status_code == 403
    assert support_api.delete(f"{URL}{code}/").status_code == 403
    assert Subscriber.objects.filter(code=code).exists()
    assert not Subscriber.objects.filter(email="hal@example.com").exists()


@pytest.fixture
def receiver(settings):
    settings.SUBSCRIPTIONS_WEBHOOK_ALLOW_PRIVATE = True
    settings.SUBSCRIPTIONS_HTTP_TIMEOUT = 2
    with Receiver() as receiver:
        yield receiver


def test_post_a_webhook_active_at_once_answers_its_secret_once(admin_api, receiver, rest):
    response = admin_api.post(
        URL,
        {
            "channel": "webhook",
            "endpoint": receiver.url("/hook"),
            "email": "ops@example.com",
            "components": [rest.code],
            "skip_confirmation": True,
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    subscriber = Subscriber.objects.get(code=body["code"])
    assert body["channel"] == "webhook" and body["endpoint"] == receiver.url("/hook")
    assert body["state"] == "active" and body["components"] == [rest.code]
    assert body["secret"] == subscriber.secret and len(subscriber.secret) == 64
    listed = admin_api.get(URL, {"channel": "webhook"}).json()["results"]
    assert [s["code"] for s in listed] == [body["code"]]
    assert "secret" not in listed[0]
    assert admin_api.get(URL, {"q": "/hook"}).json()["results"][0]["code"] == body["code"]


def test_post_a_slack_channel_posts_its_confirmation_into_it(admin_api, receiver, mailoutbox):
    response = admin_api.post(
        URL, {"channel": "slack", "endpoint": receiver.url("/slack")}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["state"] == "unconfirmed" and "secret" not in response.json()
    assert len(receiver.to("/slack")) == 1 and mailoutbox == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (
            {"channel": "webhook", "endpoint": "http://127.0.0.1/x", "email": "a@b.example"},
            "endpoint",
        ),
        (
            {"channel": "webhook", "endpoint": "http://169.254.169.254/", "email": "a@b.example"},
            "endpoint",
        ),
        ({"channel": "webhook", "endpoint": "https://example.com/"}, "email"),
        ({"channel": "teams"}, "endpoint"),
        ({"channel": "pager", "email": "a@b.example"}, "channel"),
        (
            {"channel": "webhook", "endpoint": "ftp://x.example/", "email": "a@b.example"},
            "endpoint",
        ),
    ],
)
def test_bad_endpoint_subscriber_is_a_400_naming_the_field_and_writes_nothing(
    admin_api, db, settings, payload, field
):
    settings.SUBSCRIPTIONS_WEBHOOK_ALLOW_PRIVATE = False
    response = admin_api.post(URL, payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Subscriber.objects.exists()
