"""Our objects as the manage API shows them: the objects of Statuspage's OpenAPI
description, with our codes as ids and ISO-8601 times with milliseconds.

Where an object also exists in the public JSON of ``/api/v2`` (page, component, group,
incident, update), its shape is taken from ``incidents.api.statuspage`` and completed
with what operators see. The description marks no field as nullable, so a field without
a value is left out rather than sent as ``null``.
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from components.models import Component, ComponentGroup
from components.uptime import ComponentUptime, day_start, mean_percent
from incidents.api import statuspage
from incidents.models import Incident, IncidentTemplate, Postmortem
from statusportal.timefmt import iso_ms
from subscriptions.models import Subscriber

Status = Component.Status


def compact(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` without the keys whose value is None."""
    return {key: value for key, value in values.items() if value is not None}


def page() -> dict[str, Any]:
    """The one page; what it allows follows what statusportal offers."""
    return {
        **compact(statuspage.page()),
        "page_description": "",
        "subdomain": "",
        "domain": "",
        "allow_page_subscribers": True,
        "allow_incident_subscribers": True,
        "allow_email_subscribers": True,
        "allow_sms_subscribers": False,
        "allow_webhook_subscribers": False,
        "allow_rss_atom_feeds": True,
        "hidden_from_search": False,
        "viewers_must_be_team_members": False,
    }


def component(c: Component) -> dict[str, Any]:
    return compact(statuspage.component(c))


def group(g: ComponentGroup, children: list[Component]) -> dict[str, Any]:
    """A group: as a component entry (``group: true``) and as a component group, with
    its children's ids in page order."""
    return compact(statuspage.group(g, children))


def components_in_page_order(
    groups: list[ComponentGroup], components: list[Component]
) -> list[dict[str, Any]]:
    """Groups and components in one list, as Statuspage lists a page's components."""
    return [
        compact(item)
        for item in statuspage.components(
            statuspage.Catalogue(groups=groups, components=components)
        )
    ]


def postmortem_fields(i: Incident) -> dict[str, Any]:
    try:
        p = i.postmortem  # select_related: no query
    except Postmortem.DoesNotExist:
        return {}
    if not p.is_published:
        return {"postmortem_ignored": False}
    return {
        "postmortem_body": p.body,
        "postmortem_body_last_updated_at": iso_ms(p.updated_at),
        "postmortem_notified_subscribers": p.notify_subscribers,
        "postmortem_ignored": False,
    }


def incident(i: Incident) -> dict[str, Any]:
    """An incident or scheduled maintenance with its updates (newest first) and affected
    components. The status is the incident's own (the public JSON's ``postmortem`` is not
    a status of the manage API)."""
    shaped = compact(statuspage.incident(i))
    shaped["status"] = i.status
    shaped["components"] = [component(c) for c in i.components.all()]
    shaped["incident_updates"] = [compact(u) for u in shaped["incident_updates"]]
    if i.impact_override:
        shaped["impact_override"] = i.impact_override
    if i.is_maintenance:
        shaped.update(
            compact(
                {
                    "scheduled_remind_prior": i.remind_before is not None,
                    "scheduled_reminded_at": iso_ms(i.reminded_at),
                    "scheduled_auto_in_progress": i.auto_start,
                    "scheduled_auto_completed": i.auto_complete,
                }
            )
        )
    shaped.update(postmortem_fields(i))
    return shaped


def incident_update(update: Any, i: Incident) -> dict[str, Any]:
    return compact(statuspage.incident_update(update, i))


def postmortem(p: Postmortem) -> dict[str, Any]:
    """Statuspage keeps a draft and a published text; statusportal has one text, draft
    until published: ``body_draft`` is always it, ``body`` once published."""
    return compact(
        {
            "body_draft": p.body,
            "body_draft_updated_at": iso_ms(p.updated_at),
            "body": p.body if p.is_published else None,
            "body_updated_at": iso_ms(p.updated_at) if p.is_published else None,
            "published_at": iso_ms(p.published_at),
            "notify_subscribers": p.notify_subscribers,
            "notify_twitter": False,
            "created_at": iso_ms(p.created_at),
            "updated_at": iso_ms(p.updated_at),
        }
    )


# Statuspage's ``mode`` of each channel (it has no Teams subscribers; ours say "teams").
MODES: dict[str, str] = {Subscriber.Channel.EMAIL: "email", Subscriber.Channel.WEBHOOK: "webhook"}


def subscriber(s: Subscriber) -> dict[str, Any]:
    """A subscriber: email, or an endpoint (``endpoint``, with ``email`` its contact for
    a webhook). ``components`` lists what it chose (components, and those
    of chosen groups); it is absent for a subscriber of everything, which includes
    components added later. Needs ``components`` and ``groups__components`` prefetched."""
    chosen: list[str] | None = None
    if not s.all_components:
        codes = [c.code for c in s.components.all()]
        codes += [c.code for g in s.groups.all() for c in g.components.all()]
        chosen = list(dict.fromkeys(codes))
    return compact(
        {
            "id": s.code,
            "mode": MODES.get(s.channel, s.channel),
            "email": s.email or None,
            "endpoint": s.endpoint or None,
            "state": s.state,
            "skip_confirmation_notification": False,
            "components": chosen,
            "quarantined_at": iso_ms(s.updated_at)
            if s.state == Subscriber.State.QUARANTINED
            else None,
            "created_at": iso_ms(s.created_at),
        }
    )


def template(t: IncidentTemplate) -> dict[str, Any]:
    return {
        "id": t.code,
        "name": t.name,
        "title": t.title,
        "body": t.body,
        "update_status": t.status,
        "should_tweet": False,
        "should_send_notifications": True,
        "components": [component(c) for c in t.components.all()],
    }


def uptime_window(first: date, last: date) -> tuple[datetime, datetime]:
    """The instants a window of days (in the page's time zone) starts and ends (now at
    the latest)."""
    return day_start(first), min(day_start(last + timedelta(days=1)), timezone.now())


def _seconds(uptime: ComponentUptime, status: str) -> float:
    return float(sum(day.seconds_by_status.get(status, 0.0) for day in uptime.days))


def uptime(
    code: str, name: str, uptimes: Iterable[ComponentUptime], first: date, last: date
) -> dict[str, Any]:
    """Uptime over ``first`` to ``last`` of one component, or of a group (``uptimes`` of
    its components: the mean of their percentages, and of their outage seconds)."""
    found = list(uptimes)
    start, end = uptime_window(first, last)
    percent = mean_percent(found)
    count = len(found) or 1
    return compact(
        {
            "id": code,
            "name": name,
            "range_start": iso_ms(start),
            "range_end": iso_ms(end),
            "uptime_percentage": round(percent, 4) if percent is not None else None,
            "major_outage": round(sum(_seconds(u, Status.MAJOR_OUTAGE) for u in found) / count),
            "partial_outage": round(sum(_seconds(u, Status.PARTIAL_OUTAGE) for u in found) / count),
            "warnings": "No data: the range is before the component's start date."
            if percent is None
            else None,
        }
    )
