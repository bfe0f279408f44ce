"""Serializer fields shared by the API."""

from datetime import datetime
from typing import Any

from django.db import models
from rest_framework import serializers

from statusportal.timefmt import iso_ms


class IsoMsDateTimeField(serializers.DateTimeField):
    """Writes ``2021-09-09T23:34:00.000Z`` (UTC, milliseconds), the one timestamp
    format of our JSON (Statuspage clients parse it); reads any ISO-8601 time with an offset."""

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
