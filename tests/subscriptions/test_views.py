"""The public subscription pages, through the test client."""

import contextlib
import re

import pytest
from django.core import mail, signing
from django.test import Client

from subscriptions import links, services
from subscriptions.models import Subscriber

State = Subscriber.State
pytestmark = pytest.mark.django_db


def confirm_path(message) -> str:
    return re.search(r"https://status\.example\.com(/subscriptions/\S+/confirm/)", message.body)[1]


def test_subscribe_page_lists_components_by_group(client, rest, website):
    page = client.get("/subscribe/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "REST API" in html and "Website" in html and 'name="website"' in html


def test_subscribe_then_confirm(client, rest):
    response = client.post(
        "/subscribe/", {"email": "new@example.com", "scope": "chosen", "components": [rest.code]}
    )
    assert response.status_code == 200
    assert b"Check your inbox" in response.content
    subscriber = Subscriber.objects.get(email="new@example.com")
    assert subscriber.state == State.UNCONFIRMED and list(subscriber.components.all()) == [rest]
    path = confirm_path(mail.outbox[0])
    page = client.get(path)  # a mail scanner following the link confirms nothing
    assert page.status_code == 200
    assert Subscriber.objects.get(pk=subscriber.pk).state == State.UNCONFIRMED
    assert client.post(path).status_code == 200
    assert Subscriber.objects.get(pk=subscriber.pk).state == State.ACTIVE


def test_same_answer_for_known_and_unknown_addresses(client, everything):
    known = client.post("/subscribe/", {"email": "eve@example.com", "scope": "all"})
    unknown = client.post("/subscribe/", {"email": "nobody@example.com", "scope": "all"})

    def strip(response) -> str:
        html = response.content.decode()
        return html.replace("eve@example.com", "X").replace("nobody@example.com", "X")

    assert known.status_code == unknown.status_code == 200
    assert strip(known) == strip(unknown)
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert subjects == {
        "eve@example.com": "[Acme] Your subscription",
        "nobody@example.com": "[Acme] Confirm your subscription",
    }


def test_bad_input_shows_field_errors(client):
    response = client.post("/subscribe/", {"email": "nope", "scope": "chosen"})
    assert response.status_code == 400
    assert b"Enter a valid email address" in response.content
    assert b"Choose at least one component" in response.content
    assert not Subscriber.objects.exists()


def test_honeypot_pretends_success_but_does_nothing(client):
    response = client.post(
        "/subscribe/", {"email": "bot@example.com", "scope": "all", "website": "http://spam"}
    )
    assert response.status_code == 200 and b"Check your inbox" in response.content
    assert not Subscriber.objects.exists() and mail.outbox == []


def test_rate_limit_per_email_sends_no_more_mail(client, settings):
    settings.SUBSCRIPTIONS_RATE_PER_EMAIL = 2
    for _ in range(4):
        response = client.post("/subscribe/", {"email": "victim@example.com", "scope": "all"})
        assert response.status_code == 200
    assert len(mail.outbox) == 2


def test_plus_addressing_does_not_walk_around_the_per_address_limit(client, settings):
    settings.SUBSCRIPTIONS_RATE_PER_EMAIL = 2
    for tag in ("a", "b", "c", "d"):
        email = f"Victim+{tag}@Example.com"
        assert client.post("/subscribe/", {"email": email, "scope": "all"}).status_code == 200
    assert len(mail.outbox) == 2


def test_rate_limit_per_client_address(client, settings):
    settings.SUBSCRIPTIONS_RATE_PER_IP = 3
    codes = [
        client.post("/subscribe/", {"email": f"p{i}@example.com", "scope": "all"}).status_code
        for i in range(5)
    ]
    assert codes == [200, 200, 200, 429, 429]
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.post("/subscribe/", {"email": "q@example.com", "scope": "all"}).status_code == 200


def test_sign_up_limit_counts_the_client_behind_a_trusted_proxy(client, settings):
    # Behind the site's reverse proxy every request comes from 127.0.0.1: the limit must
    # count each visitor, as the proxy's X-Forwarded-For names them.
    settings.SUBSCRIPTIONS_RATE_PER_IP = 2
    settings.TRUSTED_PROXIES = ["127.0.0.1"]

    def sign_up(address, n):
        data = {"email": f"v{n}-{address}@example.com", "scope": "all"}
        return client.post("/subscribe/", data, HTTP_X_FORWARDED_FOR=address).status_code

    assert [sign_up("198.51.100.1", n) for n in range(3)] == [200, 200, 429]
    assert [sign_up("198.51.100.2", n) for n in range(2)] == [200, 200]


def test_sign_up_limit_ignores_a_made_up_forwarded_for(client, settings):
    settings.SUBSCRIPTIONS_RATE_PER_IP = 2
    settings.TRUSTED_PROXIES = []  # nobody's X-Forwarded-For is believed
    codes = [
        client.post(
            "/subscribe/",
            {"email": f"w{n}@example.com", "scope": "all"},
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        ).status_code
        for n in range(3)
    ]
    assert codes == [200, 200, 429]


def test_cache_down_does_not_break_sign_up(client, settings):
    # A Redis cache nobody listens on (django-redis ignores its errors, as in production).
    from tests.services import free_port

    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/4",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    from django.core.cache import caches

    caches._settings = None
    with contextlib.suppress(AttributeError):
        del caches._connections.default
    response = client.post("/subscribe/", {"email": "c@example.com", "scope": "all"})
    assert response.status_code == 200
    assert Subscriber.objects.filter(email="c@example.com").exists()


def test_incident_subscription(client, open_incident):
    incident = open_incident()
    assert client.get(f"/incidents/{incident.code}/subscribe/").status_code == 200
    client.post(f"/incidents/{incident.code}/subscribe/", {"email": "f@example.com"})
    subscriber = Subscriber.objects.get(email="f@example.com")
    assert list(subscriber.incidents.all()) == [incident] and not subscriber.all_components
    assert "API errors" in mail.outbox[0].body
    assert client.get("/incidents/nosuchcode12/subscribe/").status_code == 404


def test_active_subscriber_follows_incident_through_the_emailed_link(
    client, open_incident, everything
):
    incident = open_incident()
    client.post(f"/incidents/{incident.code}/subscribe/", {"email": "eve@example.com"})
    assert mail.outbox[0].subject == "[Acme] Your subscription"
    assert not everything.incidents.exists()
    client.post(confirm_path(mail.outbox[0]))
    assert list(everything.incidents.all()) == [incident]
    everything.refresh_from_db()
    assert everything.all_components  # its scope is untouched


def test_expired_and_bogus_confirm_links(client, settings, everything, monkeypatch):
    import time

    token = links.confirm_token(everything)
    assert client.get("/subscriptions/garbage/confirm/").status_code == 404
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + settings.SUBSCRIPTIONS_CONFIRM_MAX_AGE + 5)
    response = client.get(f"/subscriptions/{token}/confirm/")
    assert response.status_code == 410 and b"expired" in response.content


def test_manage_changes_scope(client, everything, rest, api_group):
    path = f"/subscriptions/{everything.token}/"
    assert client.get(path).status_code == 200
    response = client.post(path, {"scope": "chosen", "groups": [api_group.code]})
    assert response.status_code == 200 and b"Saved" in response.content
    everything.refresh_from_db()
    assert not everything.all_components and list(everything.groups.all()) == [api_group]
    assert client.get("/subscriptions/not-a-token/").status_code == 404


def test_one_click_unsubscribe_without_cookies_or_csrf(everything):
    provider = Client(enforce_csrf_checks=True)
    path = f"/subscriptions/{everything.token}/unsubscribe/"
    response = provider.get(path)
    assert response.status_code == 200
    assert Subscriber.objects.get(pk=everything.pk).state == State.ACTIVE  # GET only asks
    response = provider.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200  # no redirect
    assert Subscriber.objects.get(pk=everything.pk).state == State.UNSUBSCRIBED
    assert provider.post(path).status_code == 200  # again: still fine


def test_rotated_token_invalidates_old_links(client, everything):
    old = everything.token
    services.rotate_token(everything)
    assert client.get(f"/subscriptions/{old}/unsubscribe/").status_code == 404
    assert client.get(f"/subscriptions/{everything.token}/unsubscribe/").status_code == 200


def test_a_confirmation_link_works_once(client, mailoutbox):
    client.post("/subscribe/", {"email": "once@example.com", "scope": "all"})
    path = confirm_path(mailoutbox[-1])
    assert client.post(path).status_code == 200
    assert Subscriber.objects.get(email="once@example.com").state == "active"
    again = client.post(path)
    assert again.status_code == 410


def test_an_old_confirmation_link_cannot_undo_an_unsubscribe(client, mailoutbox):
    client.post("/subscribe/", {"email": "gone@example.com", "scope": "all"})
    path = confirm_path(mailoutbox[-1])
    subscriber = Subscriber.objects.get(email="gone@example.com")
    services.unsubscribe(subscriber)
    assert client.post(path).status_code == 410
    assert Subscriber.objects.get(pk=subscriber.pk).state == "unsubscribed"


def test_a_confirmation_link_does_not_carry_the_manage_secret(client, mailoutbox):
    client.post("/subscribe/", {"email": "quiet@example.com", "scope": "all"})
    subscriber = Subscriber.objects.get(email="quiet@example.com")
    path = confirm_path(mailoutbox[-1])
    token = path.split("/")[2]
    assert subscriber.token not in path
    assert (
        subscriber.token
        not in signing.TimestampSigner(salt=links.CONFIRM_SALT).unsign_object(token).values()
    )
