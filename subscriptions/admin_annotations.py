"""Delivery counts shown under each update on the incident admin page, per channel."""

from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from subscriptions.models import Delivery, Subscriber

STATES = (("pending", "pending"), ("sent", "sent"), ("failed", "failed"))
LABELS = {
    Subscriber.Channel.EMAIL: "Emails",
    Subscriber.Channel.WEBHOOK: "Webhooks",
    Subscriber.Channel.SLACK: "Slack",
    Subscriber.Channel.TEAMS: "Teams",
}


def delivery_annotations(updates) -> dict[int, str]:
    """{update_pk: "Emails: N pending · N sent · N failed · all" and one such line per
    other channel that has deliveries, each number linking to those deliveries}.

    One aggregate query for the whole page, whatever the number of updates."""
    rows = (
        Delivery.objects.filter(event__update__in=[u.pk for u in updates])
        .values_list("event__update_id", "event_id", "channel", "state")
        .order_by()
        .annotate(n=Count("pk"))
    )
    counts: dict[int, dict] = {}
    for update_id, event_id, channel, state, n in rows:
        entry = counts.setdefault(update_id, {"event": event_id, "channels": {}})
        entry["channels"].setdefault(channel, {})[state] = n
    url = reverse("admin:subscriptions_delivery_changelist")
    result: dict[int, str] = {}
    for update_id, entry in counts.items():
        lines = []
        for channel, label in LABELS.items():
            by_state = entry["channels"].get(channel)
            if by_state is None:
                continue
            base = f"{url}?event__id__exact={entry['event']}&channel__exact={channel}"
            parts = [
                (f"{base}&state__exact={state}", by_state.get(state, 0), name)
                for state, name in STATES
            ]
            lines.append(
                format_html(
                    '<span class="delivery-counts" data-channel="{}">{}: {} · '
                    '<a href="{}">all</a></span>',
                    channel,
                    label,
                    format_html_join(" · ", '<a href="{}">{} {}</a>', parts),
                    base,
                )
            )
        result[update_id] = format_html_join(" ", "{}", ((line,) for line in lines))
    return result
