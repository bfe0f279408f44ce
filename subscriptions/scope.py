"""What a subscription covers, in words: the scope shown on every subscription page and in
every email's footer ("You follow: Checkout, Payments"), and the reason line of a
notification ("because you follow Checkout").

One place for the wording, so pages and emails never disagree (docs/architecture.md,
"Subscriptions").
"""

from collections.abc import Collection, Iterable

from django.conf import settings
from django.db.models import prefetch_related_objects

from components.models import Component, ComponentGroup, group_page_key, page_key
from incidents.models import Incident
from subscriptions.models import Subscriber


def _load(subscriber: Subscriber) -> None:
    # A no-op when the caller prefetched them already (a batch of subscribers).
    prefetch_related_objects([subscriber], "components__group", "groups__components", "incidents")


def followed_names(subscriber: Subscriber) -> list[str]:
    """Groups, components (in page order) and incidents the subscriber chose; empty when
    they follow everything."""
    if subscriber.all_components:
        return []
    _load(subscriber)
    return [
        *_in_page_order(subscriber.groups.all(), subscriber.components.all()),
        *(f"the incident “{i.name}”" for i in subscriber.incidents.all()),
    ]


def _in_page_order(groups: Iterable[ComponentGroup], components: Iterable[Component]) -> list[str]:
    """Names of followed groups and components, in page order (a group before its
    members)."""
    named = [(group_page_key(g), f"{g.name} (all of it)") for g in groups]
    named += [(page_key(c), c.name) for c in components]
    return [name for _, name in sorted(named, key=lambda pair: pair[0])]


def follows_nothing(subscriber: Subscriber) -> bool:
    """Neither everything, nor a component, group or incident: such a subscription would
    never hear anything, so it is ended (``services.unfollow_incident``)."""
    return not subscriber.all_components and not followed_names(subscriber)


def describe(subscriber: Subscriber, *, incident: Incident | None = None) -> str:
    """``everything on Acme status`` or ``Checkout, Payments and the incident “…”``; with
    ``incident``, as it will be once that incident is followed too (a confirm link)."""
    if subscriber.all_components:
        return f"everything on {settings.STATUSPAGE_NAME} status"
    names = followed_names(subscriber)
    if incident is not None and not subscriber.incidents.filter(pk=incident.pk).exists():
        names.append(f"the incident “{incident.name}”")
    return join(names) or "nothing"


def describe_choice(chosen: list | None, incident: Incident | None = None) -> str:
    """What a sign-up form asked for (before anything is stored): the check-your-inbox
    page repeats it."""
    if incident is not None:
        return f"the incident “{incident.name}”"
    if chosen is None:
        return f"everything on {settings.STATUSPAGE_NAME} status"
    groups = [i for i in chosen if isinstance(i, ComponentGroup)]
    components = [i for i in chosen if isinstance(i, Component)]
    prefetch_related_objects(components, "group")
    return join(_in_page_order(groups, components))


def reason(subscriber: Subscriber, component_ids: Collection[int], incident_id: int) -> str:
    """Why this subscriber gets a notification about an event that concerns
    ``component_ids`` (and incident ``incident_id``): ``because you follow Checkout``."""
    if subscriber.all_components:
        return f"because you follow everything on {settings.STATUSPAGE_NAME} status"
    _load(subscriber)
    named = [
        (group_page_key(g), g.name)
        for g in subscriber.groups.all()
        if any(c.pk in component_ids for c in g.components.all())
    ]
    named += [(page_key(c), c.name) for c in subscriber.components.all() if c.pk in component_ids]
    matched = [name for _, name in sorted(named, key=lambda pair: pair[0])]
    if any(i.pk == incident_id for i in subscriber.incidents.all()):
        matched.append("this incident")
    return f"because you follow {join(matched)}" if matched else "because you subscribed"


def join(names: list[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"
