"""Links and headers that carry a subscriber's secret: the manage and one-click
unsubscribe URLs, the signed confirm link, the list headers of every notification.

Every link holds the subscriber's random token (or a signed payload of it), never the
email address, so a forwarded mail or a leaked URL reveals nobody.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

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


class LinkUsed(signing.BadSignature):
    """A confirm link whose subscriber has moved on since it was sent (confirmed,
    unsubscribed, signed up again): each link works once, for the state it was sent in."""


def _state_digest(subscriber: Subscriber) -> str:
    """What a confirm link was issued for: the subscriber's state and its timestamps."""
    basis = (
        f"{subscriber.pk}:{subscriber.state}:"
        f"{subscriber.confirmed_at.isoformat() if subscriber.confirmed_at else ''}:"
        f"{subscriber.unsubscribed_at.isoformat() if subscriber.unsubscribed_at else ''}"
    )
    return salted_hmac(CONFIRM_SALT, basis, algorithm="sha256").hexdigest()[:20]


def confirm_token(subscriber: Subscriber, incident: Incident | None = None) -> str:
    """A signed, expiring, single-use token for the confirm link; it may carry an incident
    to follow.

    It names the subscriber by its public code and holds a digest of its state, never the
    manage secret nor the email: once the subscriber is confirmed or unsubscribes, the
    link stops working (an unsubscribed address comes back only through a new sign-up)."""
    payload = {
        "c": subscriber.code,
        "v": _state_digest(subscriber),
        "i": incident.code if incident else None,
    }
    return signing.TimestampSigner(salt=CONFIRM_SALT).sign_object(payload, compress=True)


def confirm_url(subscriber: Subscriber, incident: Incident | None = None) -> str:
    return absolute(reverse("subscriptions:confirm", args=[confirm_token(subscriber, incident)]))


def read_confirm_token(token: str) -> tuple[Subscriber, Incident | None]:
    """The subscriber (and incident to follow) a confirm token names.

    Raises ``signing.SignatureExpired`` for an expired link, :class:`LinkUsed` for one
    whose subscriber moved on since, and ``signing.BadSignature`` (or
    ``Subscriber.DoesNotExist``) for anything else invalid."""
    payload = signing.TimestampSigner(salt=CONFIRM_SALT).unsign_object(
        token, max_age=settings.SUBSCRIPTIONS_CONFIRM_MAX_AGE
    )
    if not isinstance(payload, dict):
        raise signing.BadSignature("malformed payload")
    subscriber = Subscriber.objects.get(code=str(payload.get("c")))
    if not constant_time_compare(str(payload.get("v")), _state_digest(subscriber)):
        raise LinkUsed("the subscriber's state changed since the link was sent")
    incident = None
    if payload.get("i"):
        incident = Incident.objects.filter(code=str(payload["i"])).first()
    return subscriber, incident
