"""``Authorization: Token <key>`` (or ``Bearer <key>``) for API writes."""

from datetime import timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from statusportal.api.tokens import find_token
from statusportal.models import ApiToken

# last_used_at is a hint for operators, not an audit log: write it at most once a minute
# per token so a busy script does not turn every read into a write.
LAST_USED_PRECISION = timedelta(minutes=1)


def authenticate_key(key: str) -> tuple[AbstractBaseUser, ApiToken]:
    """The user and token of an API key, recording its use; ``AuthenticationFailed`` for
    an unknown or revoked key or an inactive user. Every way of sending a key (this
    module's header, the manage API's ``OAuth`` header and ``api_key``) ends here."""
    token = find_token(key)
    if token is None:
        raise exceptions.AuthenticationFailed("Invalid token.")
    if not token.is_active:
        raise exceptions.AuthenticationFailed("This token has been revoked.")
    if not token.user.is_active:
        raise exceptions.AuthenticationFailed("The token's user is inactive.")
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token


class TokenAuthentication(authentication.BaseAuthentication):
    """Authenticate with a named, revocable ApiToken of a user."""

    keywords = ("token", "bearer")

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header: use 'Token <key>' or 'Bearer <key>'."
            )
        try:
            key = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        return authenticate_key(key)

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) to a write without credentials.
        return 'Token realm="api"'
