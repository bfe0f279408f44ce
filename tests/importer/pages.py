"""What a reader sees of a page, for comparing two servers (the round trip): the public
JSON without its ``page`` object, the incident pages, each component's uptime over the
last 90 days, and who is subscribed to what. Runs in the test process (server A) or a
subprocess (server B)."""

import re
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from components import uptime
from components.models import Component
from subscriptions.models import Subscriber

JSON_PAGES = [
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json",
    "/api/v2/summary.json",
]


def read_pages(codes, client=None):
    client = client or Client()
    seen = {}
    for path in JSON_PAGES:
        body = client.get(path).json()
        body.pop("page", None)
        seen[path] = body
    for code in codes:
        html = client.get(f"/incidents/{code}/").content.decode()
        seen[f"/incidents/{code}/"] = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    today = timezone.localdate()
    components = list(Component.objects.all())
    days = uptime.daily_uptime(components, today - timedelta(days=89), today)
    seen["uptime"] = {
        c.code: None if days[c.pk].percent is None else round(days[c.pk].percent, 2)
        for c in components
    }
    seen["subscribers"] = sorted(
        [
            s.code,
            s.email,
            s.all_components,
            sorted(c.code for c in s.components.all()),
            sorted(g.code for g in s.groups.all()),
        ]
        for s in Subscriber.objects.filter(state=Subscriber.State.ACTIVE)
    )
    return seen
