"""/api/v1/ (the project's REST API) and /api/v2/ (Statuspage-compatible JSON)."""

from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from statusportal.api.views import not_found

# No Redoc page: its template loads fonts from Google; Swagger UI is fully local.
v1: list[URLPattern | URLResolver] = [
    path("", include("monitoring.api.urls")),
    path("", include("components.api.urls")),
    path("", include("incidents.api.urls")),
    path("", include("subscriptions.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("v2/", include("incidents.api.v2urls")),
    re_path(r"^.*$", not_found),
]
