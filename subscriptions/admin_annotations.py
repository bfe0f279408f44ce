"""Delivery counts shown under each update on the incident admin page."""

from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from subscriptions.models import Delivery


def delivery_annotations(updates) -> dict[int, str]:
    """{update_pk: "N pending · N sent · N failed" linking to the update's deliveries}.

    One aggregate query for the whole page, whatever the number of updates."""
    rows = (
        Delivery.objects.filter(event__update__in=[u.pk for u in updates])
        .values_list("event__update_id", "event_id", "state")
        .order_by()
        .annotate(n=Count("pk"))
    )
    counts: dict[int, dict] = {}
    for update_id, event_id, state, n in rows:
        entry = counts.setdefault(update_id, {"event": event_id})
        entry[state] = n
    url = reverse("admin:subscriptions_delivery_changelist")
    result: dict[int, str] = {}
    for update_id, entry in counts.items():
        parts = [
            (
                f"{url}?event__id__exact={entry['event']}&state__exact={state}",
                entry.get(state, 0),
                label,
            )
            for state, label in (("pending", "pending"), ("sent", "sent"), ("failed", "failed"))
        ]
        result[update_id] = format_html(
            '<span class="delivery-counts">Emails: {} · '
            '<a href="{}?event__id__exact={}">all</a></span>',
            format_html_join(" · ", '<a href="{}">{} {}</a>', parts),
            url,
            entry["event"],
        )
    return result
