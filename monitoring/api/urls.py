from django.urls import path

from monitoring.api.views import AlertmanagerWebhookView, HeartbeatView

# Without a trailing slash, as monitoring tools are usually configured.
urlpatterns = [
    path(
        "integrations/alertmanager",
        AlertmanagerWebhookView.as_view(),
        name="integrations-alertmanager",
    ),
    path(
        "components/<str:code>/heartbeat",
        HeartbeatView.as_view(),
        name="components-heartbeat",
    ),
]
