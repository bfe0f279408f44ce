"""Filter classes shared by the API's FilterSets."""

from typing import Any

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field


@extend_schema_field(OpenApiTypes.STR)
class CodeFilter(django_filters.ModelMultipleChoiceFilter):
    """Objects named by their public ``code``; repeat the parameter for any of several.

    ``field_name`` is the path to the code (``group__code``): django-filter filters on
    ``field_name = <value of to_field_name>``. An unknown code is a 400, not an empty list.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("to_field_name", "code")
        super().__init__(*args, **kwargs)
