"""Errors shared by the apps and the API layer.

The core defines them so that ``statusportal.api`` can answer them without importing any
app: a service raises ``ConflictError`` and the API's exception handler turns it into a
409, whichever app the service belongs to.
"""

from django.core.exceptions import ValidationError


class ConflictError(ValidationError):
    """The request is well-formed but the object's state forbids it (HTTP 409): e.g. an
    update on completed maintenance, or publishing the postmortem of an open incident."""
