"""Integration tokens: made here, stored hashed (as API tokens are), checked per kind.

An integration token opens only its integration's endpoint: ``/api/v1``'s own
authentication does not know it (a write there answers 401), and an API token sent to an
integration endpoint is refused with a 403 that says so."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from monitoring.models import Integration, IntegrationToken
from statusportal.api.tokens import find_token, hash_key, new_key

# A hint for operators, written at most once a minute per token (as for API tokens).
LAST_USED_PRECISION = timedelta(minutes=1)


@transaction.atomic
def create_token(integration: Integration, name: str) -> tuple[IntegrationToken, str]:
    """A new token of ``integration`` named ``name``, with its key (shown once)."""
    key = new_key()
    token = IntegrationToken.objects.create(
        integration=integration, name=name.strip(), key_hash=hash_key(key), prefix=key[:8]
    )
    return token, key


def revoke(token: IntegrationToken) -> bool:
    """Refuse ``token`` from now on; False when it already was."""
    return token.revoke()


@dataclass(frozen=True)
class Refusal(Exception):
    """Why a key was refused: ``status`` is 401 (not a key we know) or 403 (a key of
    something else)."""

    status: int
    reason: str
    code: str


def authenticate(key: str, kind: str) -> IntegrationToken:
    """The active token for ``key`` of an integration of ``kind``, or a ``Refusal``."""
    token = (
        IntegrationToken.objects.select_related("integration")
        .filter(key_hash=hash_key(key))
        .first()
    )
    if token is None:
        if find_token(key) is not None:
            raise Refusal(
                403,
                "This is an API token; integrations post with an integration token "
                "(Automation in the admin, or manage.py createintegration).",
                "api_token",
            )
        raise Refusal(401, "Invalid token.", "invalid_token")
    if not token.is_active:
        raise Refusal(401, "This token has been revoked.", "revoked_token")
    if token.integration.kind != kind:
        wanted = Integration.Kind(kind).label
        raise Refusal(
            403,
            f"This token belongs to “{token.integration.name}” "
            f"({token.integration.get_kind_display()}); this endpoint takes a token of "
            f"a {wanted} integration.",
            "wrong_integration",
        )
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        IntegrationToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
