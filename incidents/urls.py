"""Public pages and feeds (see docs/architecture.md, "The URL map"). Subscription pages live
in subscriptions.urls."""

from django.urls import path

from incidents import feeds, views
from statusportal.pagecache import public_cache

app_name = "status"

urlpatterns = [
    path("", views.status_page, name="index"),
    path("incidents/<slug:code>/", views.incident_detail, name="incident"),
    path("history/", views.history, name="history"),
    path("uptime/", views.uptime, name="uptime"),
    path("history.atom", public_cache(feeds.HistoryAtomFeed()), name="feed-atom"),
    path("history.rss", public_cache(feeds.HistoryRssFeed()), name="feed-rss"),
]
