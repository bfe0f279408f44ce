"""Deployment check of the demo app (``manage.py check --deploy``).

``demo_login`` warns while the demo operator login exists: its username and password are
public (README, ``make run`` prints them), so a portal reachable from the internet with it
is a portal anyone can run. Registered in ``DemoConfig.ready()``.
"""

from django.contrib.auth import get_user_model
from django.core.checks import CheckMessage, Warning
from django.db import DatabaseError

from demo.catalogue import DEMO_PASSWORD, DEMO_USERNAME

DEMO_LOGIN_WARNING = (
    f"The demo operator login ({DEMO_USERNAME} / {DEMO_PASSWORD}) exists. Its password is "
    "public: never expose this portal with it. Delete it (manage.py shell, or the admin's "
    "Users page) before going live."
)


def demo_login(app_configs=None, **kwargs) -> list[CheckMessage]:
    """A warning while an active user named ``DEMO_USERNAME`` exists."""
    try:
        exists = get_user_model().objects.filter(username=DEMO_USERNAME, is_active=True).exists()
    except DatabaseError:  # no database yet (before migrate): nothing to warn about
        return []
    if not exists:
        return []
    return [
        Warning(
            DEMO_LOGIN_WARNING,
            hint='Run: manage.py shell -c "from django.contrib.auth.models import User; '
            f"User.objects.filter(username='{DEMO_USERNAME}').delete()\"",
            id="demo.W001",
        )
    ]
