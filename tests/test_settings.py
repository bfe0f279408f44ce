"""Configuration: typed environment helpers, .env.example in step, deploy checks."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.db import connection

from statusportal import env, mail

ROOT = Path(__file__).resolve().parent.parent


def variables_read_by_settings() -> set[str]:
    source = (ROOT / "statusportal" / "settings.py").read_text()
    return set(re.findall(r"env_\w+\(\s*\"([A-Z0-9_]+)\"", source))


def variables_in_env_example() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_env_example_lists_exactly_the_variables_settings_read():
    read = variables_read_by_settings()
    listed = variables_in_env_example()
    assert read, "settings.py reads no variables? the regex is broken"
    assert read - listed == set(), "variables missing from .env.example"
    assert listed - read == set(), "variables in .env.example that settings.py never reads"


@pytest.mark.parametrize(
    ("helper", "value"),
    [
        (lambda: env.env_bool("X_TEST"), "maybe"),
        (lambda: env.env_int("X_TEST", 1), "ten"),
        (lambda: env.env_int("X_TEST", 1, minimum=0), "-1"),
        (lambda: env.env_time_zone("X_TEST"), "Mars/Olympus_Mons"),
        (lambda: env.env_url("X_TEST", schemes=("https",)), "ftp://x"),
    ],
)
def test_bad_values_fail_loudly_naming_the_variable(monkeypatch, helper, value):
    monkeypatch.setenv("X_TEST", value)
    with pytest.raises(ImproperlyConfigured, match="X_TEST"):
        helper()


def test_helpers_parse_good_values(monkeypatch):
    monkeypatch.setenv("X_BOOL", "Yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a.example, b.example,,")
    assert env.env_bool("X_BOOL") is True
    assert env.env_int("X_INT", 0) == 42
    assert env.env_list("X_LIST") == ["a.example", "b.example"]
    assert env.env_str("X_UNSET_FOR_SURE", "fallback") == "fallback"


def test_email_url_variants():
    smtp = env.email_config("smtp+tls://me%40x.org:p%2Fw@mail.example.com")
    assert smtp["EMAIL_HOST"] == "mail.example.com"
    assert smtp["EMAIL_PORT"] == 587
    assert smtp["EMAIL_USE_TLS"] is True
    assert smtp["EMAIL_HOST_USER"] == "me@x.org"
    assert smtp["EMAIL_HOST_PASSWORD"] == "p/w"
    assert env.email_config("smtp+ssl://h")["EMAIL_PORT"] == 465
    assert env.email_config("file:///tmp/mail")["EMAIL_FILE_PATH"] == "/tmp/mail"
    with pytest.raises(ImproperlyConfigured):
        env.email_config("carrier-pigeon://coop")


def test_cache_url_variants():
    assert env.cache_config("redis://h:6379/1")["BACKEND"] == "django_redis.cache.RedisCache"
    assert env.cache_config("locmem://")["BACKEND"].endswith("LocMemCache")
    with pytest.raises(ImproperlyConfigured):
        env.cache_config("memcached://h")


def run_manage(*args, **environ):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **environ},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy_without_warnings(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY="k" * 20 + "-production-secret-0123456789abcdefghijklmnop",
        STATUSPAGE_URL="https://status.example.com",
        ALLOWED_HOSTS="status.example.com",
        EMAIL_URL="smtp+tls://status%40example.com:secret@mail.example.com",
        STATUSPORTAL_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_mail_server_is_configured_the_way_the_running_django_wants(monkeypatch):
    server = env.email_config("smtp+tls://me%40x.org:pw@mail.example.com:2525")

    monkeypatch.setattr(mail, "HAS_MAILERS", False)
    assert mail.mail_settings(server) == server

    monkeypatch.setattr(mail, "HAS_MAILERS", True)
    assert mail.mail_settings(server) == {
        "MAILERS": {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {
                    "host": "mail.example.com",
                    "port": 2525,
                    "username": "me@x.org",
                    "password": "pw",
                    "use_tls": True,
                    "use_ssl": False,
                },
            }
        }
    }


def test_a_connection_is_opened_without_deprecated_calls(settings, recwarn):
    mail.use_mail_server(
        settings, {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    )
    connection = mail.open_connection()
    assert (
        connection.send_messages([EmailMessage("s", "b", "a@example.com", ["b@example.com"])]) == 1
    )
    assert not [
        w for w in recwarn if issubclass(w.category, DeprecationWarning | PendingDeprecationWarning)
    ]


def test_a_bad_value_stops_start_up_with_a_clear_message(tmp_path):
    result = run_manage(
        "check", STATUSPAGE_TIME_ZONE="Nowhere/Special", STATUSPORTAL_VAR_DIR=str(tmp_path)
    )
    assert result.returncode != 0
    assert "STATUSPAGE_TIME_ZONE must be an IANA time zone name" in result.stderr


def test_a_page_id_that_cannot_be_a_url_segment_stops_start_up(tmp_path):
    result = run_manage(
        "check", STATUSPAGE_PAGE_ID="my page/../x", STATUSPORTAL_VAR_DIR=str(tmp_path)
    )
    assert result.returncode != 0
    assert "STATUSPAGE_PAGE_ID: use 1 to 64 letters" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_postgres_connections_commit_synchronously_whatever_the_server_says():
    # The outbox's duplicate bound after a database crash needs committed `sent` marks to
    # be on disk: a server configured with synchronous_commit off must not weaken it.
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    name = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"
    finally:
        other.close()
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{name}" RESET synchronous_commit')
