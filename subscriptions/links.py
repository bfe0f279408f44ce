"""Links and headers that carry a subscriber's secret: the manage and one-click
unsubscribe URLs, the signed confirm link, the list headers of every notification.

Every link holds the subscriber's random token (or a signed payload of it), never the
email address, so a forwarded mail or a leaked URL reveals nobody.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse

from incidents.models import Incident
from subscriptions.models import Subscriber

CONFIRM_SALT = "subscriptions.confirm"


def absolute(path: str) -> str:
    """``path`` on the public site (``STATUSPAGE_URL``)."""
    return settings.STATUSPAGE_URL + path


def mail_domain() -> str:
    """The domain of the site, used in Message-IDs and the List-Id."""
    return urlsplit(settings.STATUSPAGE_URL).hostname or "localhost"


def manage_url(token: str) -> str:
    return absolute(reverse("subscriptions:manage", args=[token]))


def unsubscribe_url(token: str) -> str:
    return absolute(reverse("subscriptions:unsubscribe", args=[token]))


def list_headers(token: str) -> dict[str, str]:
    """Headers that let mail clients show "Unsubscribe" and unsubscribe in one click
    (RFC 2369, RFC 8058)."""
    return {
        "List-Id": f"{settings.STATUSPAGE_NAME} status <status.{mail_domain()}>",
        "List-Unsubscribe": f"<{unsubscribe_url(token)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
    }


def confirm_token(subscriber: Subscriber, incident: Incident | None = None) -> str:
    """A signed, expiring token for the confirm link; it may carry an incident to follow.

    It holds the subscriber's random secret, never the email."""
    payload = {"s": subscriber.token, "i": incident.code if incident else None}
    return signing.TimestampSigner(salt=CONFIRM_SALT).sign_object(payload, compress=True)


def confirm_url(subscriber: Subscriber, incident: Incident | None = None) -> str:
    return absolute(reverse("subscriptions:confirm", args=[confirm_token(subscriber, incident)]))


def read_confirm_token(token: str) -> tuple[Subscriber, Incident | None]:
    """The subscriber (and incident to follow) a confirm token names.

    Raises ``signing.SignatureExpired`` for an expired link and ``signing.BadSignature``
    (or ``Subscriber.DoesNotExist``) for anything else invalid."""
    payload = signing.TimestampSigner(salt=CONFIRM_SALT).unsign_object(
        token, max_age=settings.SUBSCRIPTIONS_CONFIRM_MAX_AGE
    )
    if not isinstance(payload, dict):
        raise signing.BadSignature("malformed payload")
    subscriber = Subscriber.objects.get(token=str(payload.get("s")))
    incident = None
    if payload.get("i"):
        incident = Incident.objects.filter(code=str(payload["i"])).first()
    return subscriber, incident
