"""``/api/v1/subscribers/``: how an administrator's script adds and removes subscribers."""

import pytest

from statusportal.mail import use_mail_server
from subscriptions.models import Subscriber

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
