"""Filters of the subscriber list (administrators only)."""

import django_filters
from django.db.models import Q, QuerySet

from subscriptions.models import Subscriber


class SubscriberFilterSet(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(
        choices=Subscriber.State.choices, label="State (repeat for several)"
    )
    channel = django_filters.MultipleChoiceFilter(
        choices=Subscriber.Channel.choices, label="Channel (repeat for several)"
    )
    email = django_filters.CharFilter(
        field_name="email", lookup_expr="icontains", label="Email contains"
    )
    q = django_filters.CharFilter(
        method="search", label="Email (or contact) or endpoint URL contains"
    )

    class Meta:
        model = Subscriber
        fields = ["state", "channel", "email", "q"]

    def search(self, queryset: QuerySet[Subscriber], name: str, value: str) -> QuerySet[Subscriber]:
        return queryset.filter(Q(email__icontains=value) | Q(endpoint__icontains=value))
