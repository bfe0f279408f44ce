"""API keys: generated here, stored hashed, recognised by hash."""

import hashlib
import secrets

from django.contrib.auth.models import User
from django.db import transaction

from statusportal.models import ApiToken

# 40 URL-safe characters: about 240 bits, far beyond guessing.
KEY_BYTES = 30


def new_key() -> str:
    """A new random key. Never one starting with "-": given on a command line
    (``import_statuspage --api-key KEY``, curl scripts) it would read as an option."""
    while True:
        key = secrets.token_urlsafe(KEY_BYTES)
        if not key.startswith("-"):
            return key


def hash_key(key: str) -> str:
    """The stored form of a key. A fast hash is right here: keys are long and random, so
    there is nothing to brute-force, and every API request needs one lookup."""
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token named ``name`` for ``user``; return it with its key (shown once)."""
    key = new_key()
    token = ApiToken.objects.create(user=user, name=name, key_hash=hash_key(key), prefix=key[:8])
    return token, key


def find_token(key: str) -> ApiToken | None:
    """The token for ``key`` (with its user), revoked or not, or None."""
    return ApiToken.objects.select_related("user").filter(key_hash=hash_key(key)).first()
