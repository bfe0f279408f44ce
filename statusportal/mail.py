"""The mail server on every supported Django line.

Django 6.1 replaces the ``EMAIL_*`` settings and ``get_connection()`` with ``MAILERS`` and
``django.core.mail.mailers``; Django 5.2 knows only the former. The portal describes its
mail server once, with the ``EMAIL_*`` names (``statusportal.env.email_config`` returns
them), and this module turns that description into the settings of the running Django and
opens connections the way that Django wants, so no deprecated path is ever taken.
"""

from typing import Any

from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

#: Whether the running Django configures mail through ``MAILERS``.
HAS_MAILERS = hasattr(mail, "mailers")

# EMAIL_* setting -> the backend option of the same meaning under MAILERS.
_OPTIONS = {
    "EMAIL_HOST": "host",
    "EMAIL_PORT": "port",
    "EMAIL_HOST_USER": "username",
    "EMAIL_HOST_PASSWORD": "password",
    "EMAIL_USE_TLS": "use_tls",
    "EMAIL_USE_SSL": "use_ssl",
    "EMAIL_TIMEOUT": "timeout",
    "EMAIL_SSL_CERTFILE": "ssl_certfile",
    "EMAIL_SSL_KEYFILE": "ssl_keyfile",
    "EMAIL_FILE_PATH": "file_path",
}


def mail_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The settings that make ``config`` (``EMAIL_BACKEND`` plus ``EMAIL_*`` options) the
    default mail server of the running Django."""
    if not HAS_MAILERS:
        return dict(config)
    options = {_OPTIONS[name]: value for name, value in config.items() if name in _OPTIONS}
    return {"MAILERS": {"default": {"BACKEND": config["EMAIL_BACKEND"], "OPTIONS": options}}}


def use_mail_server(settings: Any, config: dict[str, Any]) -> None:
    """Point ``settings`` (a settings object that accepts attribute writes, such as
    pytest-django's ``settings`` fixture) at ``config``."""
    for name, value in mail_settings(config).items():
        setattr(settings, name, value)


def open_connection() -> BaseEmailBackend:
    """A new connection to the default mail server (not yet opened), raising on errors."""
    if HAS_MAILERS:
        return mail.mailers.default
    return mail.get_connection(fail_silently=False)
