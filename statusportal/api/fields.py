"""Serializer fields shared by the API."""

from datetime import datetime
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from statusportal.timefmt import iso_ms


class IsoMsDateTimeField(serializers.DateTimeField):
    """Writes ``2021-09-09T23:34:00.000Z`` (UTC, milliseconds), the one timestamp
    format of our JSON (Statuspage clients parse it); reads any ISO-8601 time with an
    offset, and refuses one without (which zone was meant cannot be known)."""

    default_error_messages = {
        "naive": "Give the time with its offset (2021-09-09T20:34:00-03:00, or Z for "
        "UTC): a time without one is ambiguous.",
    }

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:  # well formed but out of range ("12:99"): DRF's "invalid"
                parsed = None
            if parsed is not None and timezone.is_naive(parsed):
                self.fail("naive")
        return super().to_internal_value(value)

    # DRF's own returns None for no value too; the stubs say str.
    def to_representation(self, value: datetime | str | None) -> str | None:  # type: ignore[override]
        if value is None or isinstance(value, str):
            return value
        return iso_ms(value)


class TimestampedModelSerializer(serializers.ModelSerializer[Any]):
    """A ModelSerializer whose model DateTimeFields use :class:`IsoMsDateTimeField`."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: IsoMsDateTimeField,
    }


def code_hint(queryset: models.QuerySet[Any], value: str) -> str:
    """The message for ``value`` given where a code of ``queryset``'s model is expected:
    the object's code when ``value`` is its name."""
    noun = queryset.model._meta.verbose_name
    named = list(queryset.filter(name__iexact=str(value)).values_list("code", flat=True)[:1])
    if named:
        return f"“{value}” is the name of a {noun}; use its code “{named[0]}”."
    return f"No {noun} has the code “{value}” (codes are 12 lowercase letters and digits)."


class CodeRelatedField(serializers.SlugRelatedField):  # type: ignore[type-arg]
    """An object named by its ``code``; a name given instead gets the code in the error."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("slug_field", "code")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError:
            queryset = self.get_queryset()
            if isinstance(data, str) and queryset is not None:
                raise serializers.ValidationError(code_hint(queryset, data)) from None
            raise
