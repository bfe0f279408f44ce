"""Which addresses may subscribe: one rule in subscriptions.services, for the form, the
API and imports alike."""

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from statusportal.api.tokens import create_token
from subscriptions import services
from subscriptions.models import Subscriber


@pytest.mark.parametrize("address", ["a@[127.0.0.1]", "a@[IPv6:2001:db8::1]"])
def test_addresses_on_an_ip_literal_are_refused(db, address):
    with pytest.raises(ValidationError) as info:
        services.add_subscriber(address, send_confirmation=False)
    assert "email" in info.value.message_dict
    assert not Subscriber.objects.exists()


def test_the_refusal_says_why(db):
    with pytest.raises(ValidationError) as info:
        services.normalize_email("a@[127.0.0.1]")
    assert "domain name" in info.value.message_dict["email"][0]


def test_the_subscribe_form_says_so(client, db):
    response = client.post("/subscribe/", {"email": "a@[10.0.0.1]", "scope": "all"})
    assert not Subscriber.objects.exists()
    assert response.status_code in (200, 400)


def test_the_api_answers_400_naming_email(db, django_user_model):
    admin = django_user_model.objects.create_superuser("ada", "ada@example.com", "pw-123456789")
    _, key = create_token(admin, "provisioning")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = api.post("/api/v1/subscribers/", {"email": "a@[127.0.0.1]"}, format="json")
    assert response.status_code == 400
    assert "email" in response.json()
    assert not Subscriber.objects.exists()
