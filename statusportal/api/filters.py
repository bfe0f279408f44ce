"""Filter classes shared by the API's FilterSets, and the filter backends that make query
parameters strict: a value the API does not understand is a 400 that lists the accepted
values, never silently ignored (a client asking for ``?unresolved=maybe`` or
``?ordering=nmae`` must not get every row back as if it had asked nothing)."""

from datetime import datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter

from statusportal import limits
from statusportal.api.fields import code_hint

TRUE_VALUES = ("true", "1")
FALSE_VALUES = ("false", "0")


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^[a-z0-9]{12}$",
        "description": "A code (12 lowercase letters and digits), not a name.",
    }
)
class CodeFilter(django_filters.ModelMultipleChoiceFilter):
    """Objects named by their public ``code``; repeat the parameter for any of several.

    ``field_name`` is the path to the code (``group__code``): django-filter filters on
    ``field_name = <value of to_field_name>``. An unknown code is a 400, not an empty list;
    a name given where a code is expected gets the code in the message.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("to_field_name", "code")
        super().__init__(*args, **kwargs)

    def hint(self, value: str) -> str:
        """The message for an unknown ``value``."""
        return code_hint(self.queryset, value)


class SaneIsoDateTimeField(IsoDateTimeField):
    """An ISO-8601 time that passes ``statusportal.limits.check_time`` (1970 onwards, at
    most a few years ahead, a real UTC offset), so the database never sees year 1 at
    +23:59 (which it cannot convert: a 500 before this)."""

    def clean(self, value: str | None) -> datetime | None:
        parsed: datetime | None = super().clean(value)
        try:
            limits.check_time("value", parsed)
        except DjangoValidationError as exc:
            raise forms.ValidationError(exc.message_dict["value"]) from None
        return parsed


@extend_schema_field(OpenApiTypes.DATETIME)
class SaneIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """``IsoDateTimeFilter`` answering a time out of the accepted range with a 400 that
    names the parameter."""

    field_class = SaneIsoDateTimeField


class StrictBooleanField(forms.Field):
    """``true``/``false`` (or ``1``/``0``), any case; anything else is an error."""

    widget = forms.TextInput

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        text = str(value).lower()
        if text in TRUE_VALUES:
            return True
        if text in FALSE_VALUES:
            return False
        raise forms.ValidationError(
            f"“{value}” is not a boolean. Accepted values: true, false (or 1, 0).",
            code="invalid",
        )


@extend_schema_field({"type": "boolean", "description": "`true` or `false` (or `1`, `0`)."})
class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class StrictFilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend whose errors say what is accepted: the choices of a choice
    filter, the code (and not the name) of an object."""

    def filter_queryset(self, request: Any, queryset: Any, view: Any) -> Any:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise ValidationError(self.explain(filterset, request))
        return filterset.qs

    def explain(self, filterset: Any, request: Any) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        for name, messages in filterset.errors.items():
            flt = filterset.filters.get(name)
            values = request.query_params.getlist(name)
            if isinstance(flt, CodeFilter):
                known = set(flt.queryset.filter(code__in=values).values_list("code", flat=True))
                errors[name] = [flt.hint(v) for v in values if v not in known] or list(messages)
            elif isinstance(flt, django_filters.ChoiceFilter | django_filters.MultipleChoiceFilter):
                accepted = ", ".join(str(value) for value, _ in flt.extra["choices"])
                errors[name] = [
                    f"“{v}” is not a valid choice. Accepted values: {accepted}."
                    for v in values
                    if v not in {str(value) for value, _ in flt.extra["choices"]}
                ] or list(messages)
            else:
                errors[name] = list(messages)
        return errors


class StrictOrderingFilter(OrderingFilter):
    """``?ordering=`` with a field the view does not order by is a 400 that lists the
    accepted orderings (DRF's own filter ignores it and keeps the default order)."""

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> Any:
        params = request.query_params.get(self.ordering_param)
        if params:
            fields = [param.strip() for param in params.split(",")]
            valid = {
                item[0] for item in self.get_valid_fields(queryset, view, {"request": request})
            }
            unknown = [f for f in fields if f.lstrip("-") not in valid]
            if unknown:
                accepted = ", ".join(f"{f}, -{f}" for f in sorted(valid))
                raise ValidationError(
                    {
                        self.ordering_param: [
                            f"Unknown ordering “{f}”. Accepted values: {accepted}." for f in unknown
                        ]
                    }
                )
        return super().get_ordering(request, queryset, view)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        params = super().get_schema_operation_parameters(view)
        fields = getattr(view, "ordering_fields", None) or []
        if fields and fields != "__all__":
            for param in params:
                param["schema"] = {
                    "type": "string",
                    "enum": [value for f in fields for value in (f, f"-{f}")],
                }
                param["description"] = (
                    "Order by this field (`-` first for descending). Accepted values: "
                    + ", ".join(f"`{f}`, `-{f}`" for f in fields)
                    + "."
                )
        return params
