from django.urls import re_path

from monitoring.api.views import AlertmanagerWebhookView, HeartbeatView

# Without a trailing slash, as monitoring tools are usually configured (one also works).
urlpatterns = [
    re_path(
        r"^integrations/alertmanager/?$",
        AlertmanagerWebhookView.as_view(),
        name="integrations-alertmanager",
    ),
    re_path(
        r"^components/(?P<code>[^/]+)/heartbeat/?$",
        HeartbeatView.as_view(),
        name="components-heartbeat",
    ),
]
