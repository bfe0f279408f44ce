"""Operators need a second factor when ADMIN_REQUIRE_2FA is on: enrolment with an
authenticator app, a code per session, recovery codes that work once."""

import re

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from statusportal import twofactor
from tests.test_settings import run_manage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _required(settings):
    settings.ADMIN_REQUIRE_2FA = True
    # django-otp makes a device wait 2^n seconds after n failures; these tests type a wrong
    # code and then the right one at once.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def code_of(device: TOTPDevice) -> str:
    code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{code:0{device.digits}d}"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def enrolled(support_user):
    """Sam with a confirmed authenticator app and recovery codes."""
    device = twofactor.pending_totp(support_user)
    codes = twofactor.confirm_totp(device)
    return device, codes


def test_staff_without_a_device_reach_no_admin_page_but_enrolment(support_user):
    client = signed_in(support_user)
    for path in ["/admin/", "/admin/incidents/incident/", "/admin/components/component/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/2fa/setup/?next=")


def test_enrolment_shows_a_secret_then_recovery_codes_and_opens_the_console(support_user):
    client = signed_in(support_user)
    page = client.get("/admin/2fa/setup/?next=/admin/incidents/incident/").content.decode()
    assert "otpauth://totp/" in page
    device = TOTPDevice.objects.get(user=support_user, confirmed=False)
    wrong = client.post("/admin/2fa/setup/", {"token": "000000"})
    assert "not right" in wrong.content.decode()
    assert client.get("/admin/").status_code == 302
    done = client.post(
        "/admin/2fa/setup/", {"token": code_of(device), "next": "/admin/incidents/incident/"}
    )
    codes = re.findall(r"<li><code>(\w+)</code></li>", done.content.decode())
    assert len(codes) == twofactor.RECOVERY_CODES
    assert client.get("/admin/").status_code == 200


def test_a_new_session_needs_a_code_from_the_app(support_user, enrolled):
    device, _ = enrolled
    client = signed_in(support_user)
    response = client.get("/admin/incidents/incident/")
    assert response["Location"] == "/admin/2fa/verify/?next=/admin/incidents/incident/"
    assert client.post("/admin/2fa/verify/", {"token": "123456"}).status_code == 200
    assert client.get("/admin/").status_code == 302
    response = client.post(
        "/admin/2fa/verify/", {"token": code_of(device), "next": "/admin/incidents/incident/"}
    )
    assert response["Location"] == "/admin/incidents/incident/"
    assert client.get("/admin/incidents/incident/").status_code == 200


def test_a_recovery_code_works_once(support_user, enrolled):
    _, codes = enrolled
    first = signed_in(support_user)
    assert first.post("/admin/2fa/verify/", {"token": codes[0]}).status_code == 302
    assert first.get("/admin/").status_code == 200
    second = signed_in(support_user)
    refused = second.post("/admin/2fa/verify/", {"token": codes[0]})
    assert refused.status_code == 200 and "already used" in refused.content.decode()
    assert second.get("/admin/").status_code == 302


def test_the_next_parameter_cannot_leave_the_site(support_user, enrolled):
    _, codes = enrolled
    client = signed_in(support_user)
    response = client.post(
        "/admin/2fa/verify/", {"token": codes[1], "next": "https://evil.example/"}
    )
    assert response["Location"] == "/admin/"


def test_without_the_requirement_staff_go_straight_in(settings, support_user):
    settings.ADMIN_REQUIRE_2FA = False
    assert signed_in(support_user).get("/admin/").status_code == 200


def test_the_login_page_stays_open(client):
    assert client.get("/admin/login/").status_code == 200


@pytest.mark.parametrize(
    ("url", "required"), [("https://s.example", "True"), ("http://s", "False")]
)
def test_2fa_is_required_by_default_for_an_https_page_and_sessions_are_short(
    tmp_path, url, required
):
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; "
        "print(settings.ADMIN_REQUIRE_2FA, settings.SESSION_COOKIE_AGE)",
        STATUSPAGE_URL=url,
        STATUSPORTAL_VAR_DIR=str(tmp_path),
    )
    assert result.stdout.split()[-2:] == [required, str(12 * 3600)], result.stderr
