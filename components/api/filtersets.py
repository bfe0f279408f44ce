"""Filters of the component lists (``?status=…&group=…``)."""

import django_filters

from components.models import Component, ComponentGroup
from statusportal.api.filters import CodeFilter, StrictBooleanFilter


class ComponentFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=Component.Status.choices, label="Status (repeat for several)"
    )
    group = CodeFilter(
        field_name="group__code",
        queryset=ComponentGroup.objects.all(),
        label="Group code (repeat for several)",
    )
    ungrouped = StrictBooleanFilter(
        field_name="group", lookup_expr="isnull", label="Only components without a group"
    )
    showcase = StrictBooleanFilter(label="Shows uptime bars")
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")

    class Meta:
        model = Component
        fields = ["status", "group", "ungrouped", "showcase", "q"]


class ComponentGroupFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")

    class Meta:
        model = ComponentGroup
        fields = ["q"]
