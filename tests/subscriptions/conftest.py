"""Subscribers in each state and scope, for the subscription tests."""

import pytest
from django.core import mail

from statusportal.mail import use_mail_server
from subscriptions import services
from subscriptions.models import Subscriber


@pytest.fixture(autouse=True)
def _locmem_mail(settings):
    # Mail goes to django.core.mail.outbox unless a test starts a real SMTP server.
    use_mail_server(settings, {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"})
    settings.STATUSPAGE_URL = "https://status.example.com"
    settings.STATUSPAGE_NAME = "Acme"
    # A "slow down" answer (451 greylisting in the outbox tests) holds senders 1 s, not 5.
    settings.SUBSCRIPTIONS_SLOW_DOWN_SECONDS = 1
    mail.outbox = []


@pytest.fixture
def everything(db):
    # Eve follows everything.
    return services.add_subscriber("eve@example.com", confirmed=True)


@pytest.fixture
def rest_fan(rest):
    # Rita follows only the REST API component.
    return services.add_subscriber("rita@example.com", components=[rest], confirmed=True)


@pytest.fixture
def group_fan(api_group):
    # Greg follows the API group (all of its components, present and future).
    return services.add_subscriber("greg@example.com", components=[api_group], confirmed=True)


@pytest.fixture
def website_fan(website):
    # Wendy follows only the Website: API incidents are none of her business.
    return services.add_subscriber("wendy@example.com", components=[website], confirmed=True)


@pytest.fixture
def unconfirmed(db):
    # Uma signed up but never clicked the link.
    return services.add_subscriber("uma@example.com", send_confirmation=False)


@pytest.fixture
def gone(db):
    # Ulf unsubscribed.
    subscriber = services.add_subscriber("ulf@example.com", confirmed=True)
    return services.unsubscribe(subscriber)


def state(subscriber: Subscriber) -> str:
    subscriber.refresh_from_db()
    return subscriber.state
