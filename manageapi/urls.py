"""``/v1/``: Statuspage's manage API paths, each with or without ``.json``; any other
path is a JSON 404 that says it is not supported."""

from django.urls import URLPattern, re_path
from django.views import View

from manageapi.views import components, incidents, pages, subscribers

# Ids are codes (letters and digits; Statuspage's too) or a page id (STATUSPAGE_PAGE_ID
# allows "-" and "_"); lazy, so that a trailing ".json" is the suffix. Anything else (a
# NUL the database cannot compare) never reaches a view: it is a 404.
ID = r"[A-Za-z0-9_-]+?"


def route(pattern: str, view: type[View], name: str) -> URLPattern:
    """``pages/{page_id}/components/{code}`` → a regex matching it with an optional
    ``.json`` and an optional trailing slash."""
    regex = pattern
    for param in ("page_id", "code", "update_code", "subscriber_code"):
        regex = regex.replace("{" + param + "}", f"(?P<{param}>{ID})")
    return re_path(rf"^{regex}(?:\.json)?/?$", view.as_view(), name=name)


app_name = "manageapi"
urlpatterns = [
    route("pages", pages.PageList, "pages"),
    route("pages/{page_id}", pages.PageDetail, "page"),
    route("pages/{page_id}/components", components.ComponentList, "components"),
    route("pages/{page_id}/components/{code}", components.ComponentDetail, "component"),
    route(
        "pages/{page_id}/components/{code}/uptime", components.ComponentUptime, "component-uptime"
    ),
    route("pages/{page_id}/component-groups", components.ComponentGroupList, "groups"),
    route("pages/{page_id}/component-groups/{code}", components.ComponentGroupDetail, "group"),
    route(
        "pages/{page_id}/component-groups/{code}/uptime",
        components.ComponentGroupUptime,
        "group-uptime",
    ),
    route("pages/{page_id}/incidents", incidents.IncidentList, "incidents"),
    route("pages/{page_id}/incidents/unresolved", incidents.UnresolvedIncidents, "unresolved"),
    route("pages/{page_id}/incidents/upcoming", incidents.UpcomingIncidents, "upcoming"),
    route("pages/{page_id}/incidents/scheduled", incidents.ScheduledIncidents, "scheduled"),
    route(
        "pages/{page_id}/incidents/active_maintenance",
        incidents.ActiveMaintenance,
        "active-maintenance",
    ),
    route("pages/{page_id}/incidents/{code}", incidents.IncidentDetail, "incident"),
    route(
        "pages/{page_id}/incidents/{code}/incident_updates/{update_code}",
        incidents.IncidentUpdateDetail,
        "incident-update",
    ),
    route("pages/{page_id}/incidents/{code}/postmortem", incidents.PostmortemView, "postmortem"),
    route(
        "pages/{page_id}/incidents/{code}/postmortem/publish",
        incidents.PostmortemPublish,
        "postmortem-publish",
    ),
    route(
        "pages/{page_id}/incidents/{code}/postmortem/revert",
        incidents.PostmortemRevert,
        "postmortem-revert",
    ),
    route(
        "pages/{page_id}/incidents/{code}/subscribers",
        subscribers.IncidentSubscriberList,
        "incident-subscribers",
    ),
    route(
        "pages/{page_id}/incidents/{code}/subscribers/{subscriber_code}",
        subscribers.IncidentSubscriberDetail,
        "incident-subscriber",
    ),
    route("pages/{page_id}/incident_templates", incidents.TemplateList, "templates"),
    route("pages/{page_id}/subscribers", subscribers.SubscriberList, "subscribers"),
    route("pages/{page_id}/subscribers/count", subscribers.SubscriberCount, "subscriber-count"),
    route(
        "pages/{page_id}/subscribers/unsubscribed",
        subscribers.UnsubscribedList,
        "unsubscribed-subscribers",
    ),
    # Bulk and SMS actions of Statuspage: not a subscriber id.
    re_path(
        r"^pages/[^/]+/subscribers/(histogram_by_state|resend_confirmation|reactivate|unsubscribe)",
        pages.not_supported,
    ),
    route("pages/{page_id}/subscribers/{code}", subscribers.SubscriberDetail, "subscriber"),
    re_path(r"^.*$", pages.not_supported, name="not-supported"),
]
