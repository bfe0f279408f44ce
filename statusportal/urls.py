"""The URL map (see docs/architecture.md, "URL map"). Each area keeps its own urls
module."""

from django.contrib import admin
from django.urls import include, path

from statusportal import twofactor
from statusportal.health import healthz, readyz
from statusportal.metrics import metrics

# JSON instead of Django's HTML error pages for /api/ paths; the HTML pages elsewhere.
handler400 = "statusportal.api.views.bad_request"
handler500 = "statusportal.api.views.server_error"

admin.site.site_header = "Statusportal operator console"
admin.site.site_title = "Statusportal"
admin.site.index_title = "Run incidents"

urlpatterns = [
    path("admin/2fa/setup/", twofactor.setup, name="twofactor-setup"),
    path("admin/2fa/verify/", twofactor.verify_view, name="twofactor-verify"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("api/", include("statusportal.api_urls")),
    # Statuspage's manage API (docs/architecture.md, "The manage API").
    path("v1/", include("manageapi.urls")),
    path("", include("subscriptions.urls")),
    path("", include("incidents.urls")),
]
