"""``Idempotency-Key`` on POST: a retried request returns the first response.

An alerting script that times out does not know whether its incident was opened; it
retries with the same key and gets the first answer back instead of a second incident.
"""

import functools
import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from rest_framework import mixins, status
from rest_framework.request import Request
from rest_framework.response import Response

from statusportal.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
REPLAY_HEADER = "Idempotent-Replayed"

Handler = Callable[..., Response]


def fingerprint(request: Request) -> str:
    """What makes two requests "the same": method, path and body (keys sorted)."""
    try:
        body = json.dumps(request.data, sort_keys=True, default=str)
    except TypeError:  # not JSON data; the handler will refuse it
        body = repr(request.data)
    material = f"{request.method} {request.path}\n{body}"
    return hashlib.sha256(material.encode()).hexdigest()


def _replay(record: IdempotencyRecord, print_: str) -> Response:
    if record.fingerprint != print_:
        return Response(
            {
                "detail": f"This {HEADER} was already used with a different request; "
                "use a new key for a new request."
            },
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    return Response(record.response, status=record.status_code, headers={REPLAY_HEADER: "true"})


def idempotent(handler: Handler) -> Handler:
    """Decorate a POST handler of a DRF view so that a request carrying an
    ``Idempotency-Key`` runs at most once per user and key:

    1. without the header (or without a user) the handler runs as usual;
    2. if a record of this user's key exists, answer its stored response — or 422 when
       the key came with a different request;
    3. otherwise run the handler and, if it succeeded, store its response *in the same
       transaction*: if the write rolls back, so does the record, and vice versa;
    4. two concurrent first attempts race on the unique (user, key) constraint: the loser's
       transaction, its write included, rolls back and it answers the winner's response.
    """

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None or not request.user.is_authenticated:
            return handler(view, request, *args, **kwargs)
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            return Response(
                {HEADER: [f"Give a key of 1 to {MAX_KEY_LENGTH} characters."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        print_ = fingerprint(request)
        existing = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
        if existing is not None:
            return _replay(existing, print_)
        try:
            with transaction.atomic():
                response = handler(view, request, *args, **kwargs)
                if status.is_success(response.status_code):
                    IdempotencyRecord.objects.create(
                        user=request.user,
                        key=key,
                        fingerprint=print_,
                        status_code=response.status_code,
                        response=response.data,
                    )
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
            if existing is None:
                raise
            return _replay(existing, print_)
        return response

    return wrapper


if TYPE_CHECKING:  # what the mixin is mixed into, for its super().create()
    _CreateBase = mixins.CreateModelMixin
else:
    _CreateBase = object


class IdempotentCreateMixin(_CreateBase):
    """For a viewset: makes ``POST`` to the list (create) honour ``Idempotency-Key``."""

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)
