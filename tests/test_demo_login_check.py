"""check --deploy warns while the public demo login exists; loaddemo says so too."""

import io

import pytest
from django.core.checks import run_checks
from django.core.management import call_command

from demo.catalogue import DEMO_USERNAME
from demo.checks import demo_login

pytestmark = pytest.mark.django_db


def test_no_warning_without_the_demo_login():
    assert demo_login() == []


def test_a_warning_while_the_demo_login_exists(django_user_model):
    user = django_user_model.objects.create_user(DEMO_USERNAME, password="x", is_staff=True)
    [warning] = demo_login()
    assert warning.id == "demo.W001"
    assert "never expose" in warning.msg
    user.is_active = False
    user.save()
    assert demo_login() == []


def test_check_deploy_runs_the_demo_login_check(django_user_model):
    django_user_model.objects.create_user(DEMO_USERNAME, password="x", is_staff=True)
    ids = {m.id for m in run_checks(include_deployment_checks=True, tags=["security"])}
    assert "demo.W001" in ids


def test_loaddemo_prints_the_warning_with_the_login():
    out = io.StringIO()
    call_command("loaddemo", incidents=2, subscribers=0, stdout=out)
    assert "WARNING" in out.getvalue() and "never expose" in out.getvalue()
