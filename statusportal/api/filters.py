"""Filter classes shared by the API's FilterSets."""

from datetime import datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from statusportal import limits


@extend_schema_field(OpenApiTypes.STR)
class CodeFilter(django_filters.ModelMultipleChoiceFilter):
    """Objects named by their public ``code``; repeat the parameter for any of several.

    ``field_name`` is the path to the code (``group__code``): django-filter filters on
    ``field_name = <value of to_field_name>``. An unknown code is a 400, not an empty list.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("to_field_name", "code")
        super().__init__(*args, **kwargs)


class SaneIsoDateTimeField(IsoDateTimeField):
    """An ISO-8601 time that passes ``statusportal.limits.check_time`` (1970 onwards, at
    most a few years ahead, a real UTC offset), so the database never sees year 1 at
    +23:59 (which it cannot convert: a 500 before this)."""

    def clean(self, value: str | None) -> datetime | None:
        parsed: datetime | None = super().clean(value)
        try:
            limits.check_time("value", parsed)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["value"]) from None
        return parsed


@extend_schema_field(OpenApiTypes.DATETIME)
class SaneIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """``IsoDateTimeFilter`` answering a time out of the accepted range with a 400 that
    names the parameter."""

    field_class = SaneIsoDateTimeField
