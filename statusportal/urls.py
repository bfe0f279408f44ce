"""The URL map (see docs/architecture.md, 'The URL map'). Each area keeps its own urls
module."""

from django.contrib import admin
from django.urls import include, path

from statusportal.health import healthz, readyz
from statusportal.metrics import metrics

admin.site.site_header = "Statusportal operator console"
admin.site.site_title = "Statusportal"
admin.site.index_title = "Run incidents"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("api/", include("statusportal.api_urls")),
    path("", include("subscriptions.urls")),
    path("", include("incidents.urls")),
]
