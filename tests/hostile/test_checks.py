"""check --deploy warns while the public demo login exists."""

import pytest

from statusportal.checks import DEMO_USERNAME, demo_login

pytestmark = pytest.mark.django_db


def test_no_warning_without_the_demo_login():
    assert demo_login() == []


def test_a_warning_while_the_demo_login_exists(django_user_model):
    user = django_user_model.objects.create_user(DEMO_USERNAME, password="x", is_staff=True)
    [warning] = demo_login()
    assert warning.id == "statusportal.W001"
    assert "never expose" in warning.msg
    user.is_active = False
    user.save()
    assert demo_login() == []
