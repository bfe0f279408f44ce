"""Filters of the incident list: ``/api/v1/incidents/?status=…&component=…&q=…``."""

from typing import Any, TypeVar

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from components.models import Component, ComponentGroup
from incidents.models import Incident, IncidentUpdate
from statusportal.api.filters import CodeFilter, SaneIsoDateTimeFilter, StrictBooleanFilter


def _affected() -> QuerySet[Any]:
    """The incident's rows in its components table (the incident as OuterRef)."""
    return Incident.components.through.objects.filter(incident=OuterRef("pk"))


T = TypeVar("T")
# What a code filter's method gets: the objects named, or an empty queryset.
Codes = QuerySet[T] | list[T]


def _given(value: Codes[Any]) -> bool:
    """Whether a code filter was given: the objects named (a list), or, when it was not,
    the form's empty ``none()`` queryset (asked without a query)."""
    if isinstance(value, QuerySet):
        return not value.query.is_empty()
    return bool(value)


class IncidentFilterSet(django_filters.FilterSet):
    # No filter here makes a row per match (columns of the incident, or EXISTS for its
    # components), so none asks for DISTINCT: django-filter's default for "several
    # values" would sort every matching incident of the history before the cursor's
    # ORDER BY ... LIMIT could stop early (docs/architecture.md, "The REST API").
    status = django_filters.MultipleChoiceFilter(
        choices=Incident.Status.choices, label="Status (repeat for several)", distinct=False
    )
    impact = django_filters.MultipleChoiceFilter(
        choices=Incident.Impact.choices, label="Impact (repeat for several)", distinct=False
    )
    kind = django_filters.ChoiceFilter(
        choices=Incident.Kind.choices, label="Incident or maintenance"
    )
    component = CodeFilter(
        field_name="components__code",
        method="filter_components",
        queryset=Component.objects.all(),
        label="Affects the component with this code (repeat for any of several)",
    )
    group = CodeFilter(
        field_name="components__group__code",
        method="filter_groups",
        queryset=ComponentGroup.objects.all(),
        label="Affects a component of the group with this code (repeat for several)",
    )
    started_after = SaneIsoDateTimeFilter(
        field_name="started_at", lookup_expr="gte", label="Started at or after (ISO-8601)"
    )
    started_before = SaneIsoDateTimeFilter(
        field_name="started_at", lookup_expr="lt", label="Started before (ISO-8601)"
    )
    resolved_after = SaneIsoDateTimeFilter(
        field_name="resolved_at", lookup_expr="gte", label="Resolved at or after (ISO-8601)"
    )
    resolved_before = SaneIsoDateTimeFilter(
        field_name="resolved_at", lookup_expr="lt", label="Resolved before (ISO-8601)"
    )
    unresolved = StrictBooleanFilter(
        method="filter_unresolved", label="Still open (not resolved or completed)"
    )
    has_postmortem = StrictBooleanFilter(
        method="filter_has_postmortem", label="Has a published postmortem"
    )
    q = django_filters.CharFilter(
        method="filter_text", label="Text in the name or in the body of an update"
    )

    class Meta:
        model = Incident
        fields = [
            "status",
            "impact",
            "kind",
            "component",
            "group",
            "started_after",
            "started_before",
            "resolved_after",
            "resolved_before",
            "unresolved",
            "has_postmortem",
            "q",
        ]

    def filter_components(
        self, queryset: QuerySet[Incident], name: str, value: Codes[Component]
    ) -> QuerySet[Incident]:
        if not _given(value):
            return queryset
        return queryset.filter(Exists(_affected().filter(component__in=value)))

    def filter_groups(
        self, queryset: QuerySet[Incident], name: str, value: Codes[ComponentGroup]
    ) -> QuerySet[Incident]:
        if not _given(value):
            return queryset
        return queryset.filter(Exists(_affected().filter(component__group__in=value)))

    def filter_unresolved(
        self, queryset: QuerySet[Incident], name: str, value: bool | None
    ) -> QuerySet[Incident]:
        if value:
            return queryset.filter(Incident.open_filter())
        return queryset.exclude(Incident.open_filter())

    def filter_has_postmortem(
        self, queryset: QuerySet[Incident], name: str, value: bool | None
    ) -> QuerySet[Incident]:
        published = Q(postmortem__isnull=False, postmortem__published_at__isnull=False)
        return queryset.filter(published) if value else queryset.exclude(published)

    def filter_text(
        self, queryset: QuerySet[Incident], name: str, value: str
    ) -> QuerySet[Incident]:
        value = value.strip()
        if not value:
            return queryset
        # EXISTS rather than a join: one row per incident however many updates match,
        # so no DISTINCT (which would fight the cursor pagination's ORDER BY).
        in_updates = IncidentUpdate.objects.filter(incident=OuterRef("pk"), body__icontains=value)
        return queryset.filter(Q(name__icontains=value) | Exists(in_updates))
