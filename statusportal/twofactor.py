"""Two-factor authentication for the operator console (django-otp: TOTP, with single-use
recovery codes as a static device).

When ``ADMIN_REQUIRE_2FA`` is on (by default for an https page) a staff member who signed
in with a password reaches no admin page until this session is verified with a code:
``AdminTwoFactorMiddleware`` sends them to enrolment (no device yet: a secret to type or
an ``otpauth://`` URI to paste into an authenticator app, then ten recovery codes shown
once) or to verification (a six-digit code, or one recovery code, which is then spent).
Tokens are checked by django-otp, which throttles repeated failures per device.
"""

from base64 import b32encode

import django_otp
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODES = 10
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
# Admin paths reachable before the second factor: signing in and out, enrolment.
OPEN_PATHS = ("/admin/login/", "/admin/logout/", "/admin/2fa/", "/admin/jsi18n/")


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Code",
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


def is_required(user) -> bool:
    return bool(settings.ADMIN_REQUIRE_2FA and user.is_authenticated and user.is_staff)


def is_verified(user) -> bool:
    return bool(getattr(user, "is_verified", None) and user.is_verified())


class AdminTwoFactorMiddleware:
    """Sends a staff user whose session is not verified to enrolment or verification
    (after ``django_otp.middleware.OTPMiddleware``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if (
            path.startswith("/admin/")
            and not path.startswith(OPEN_PATHS)
            and is_required(request.user)
            and not is_verified(request.user)
        ):
            step = "verify" if django_otp.user_has_device(request.user) else "setup"
            target = reverse(f"twofactor-{step}")
            return HttpResponseRedirect(f"{target}?next={request.get_full_path()}")
        return self.get_response(request)


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


def _context(request: HttpRequest, **extra) -> dict:
    return {**admin.site.each_context(request), "next": _next_url(request), **extra}


def pending_totp(user) -> TOTPDevice:
    """The user's unconfirmed TOTP device, made on first use (its secret stays the same
    until it is confirmed, so a reload does not invalidate what the app already holds)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


@transaction.atomic
def confirm_totp(device: TOTPDevice) -> list[str]:
    """Confirm ``device`` and give its user fresh recovery codes (replacing old ones)."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    StaticDevice.objects.filter(user=device.user).delete()
    recovery = StaticDevice.objects.create(user=device.user, name=RECOVERY_NAME)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=recovery, token=code) for code in codes)
    return codes


def verify(user, token: str):
    """The device of ``user`` that accepts ``token`` (a recovery code is spent), or None."""
    token = "".join(token.split())
    for device in django_otp.devices_for_user(user, for_verify=True):
        if django_otp.verify_token(user, device.persistent_id, token):
            return device
    return None


@login_required(login_url="admin:login")
def setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: show its secret, confirm it with a first code."""
    if django_otp.user_has_device(request.user):
        return redirect(f"{reverse('twofactor-verify')}?next={_next_url(request)}")
    device = pending_totp(request.user)
    form = TokenForm(request.POST or None)
    if form.is_valid():
        if django_otp.verify_token(request.user, device.persistent_id, form.cleaned_data["token"]):
            codes = confirm_totp(device)
            django_otp.login(request, device)
            return render(request, "twofactor/recovery_codes.html", _context(request, codes=codes))
        form.add_error("token", "That code is not right; check the clock of your device.")
    secret = b32encode(device.bin_key).decode()
    context = _context(
        request,
        form=form,
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        uri=device.config_url,
        title="Set up two-factor authentication",
    )
    return render(request, "twofactor/setup.html", context)


@login_required(login_url="admin:login")
def verify_view(request: HttpRequest) -> HttpResponse:
    """Ask for a code from the authenticator app (or a recovery code)."""
    if not django_otp.user_has_device(request.user):
        return redirect(f"{reverse('twofactor-setup')}?next={_next_url(request)}")
    form = TokenForm(request.POST or None)
    if form.is_valid():
        device = verify(request.user, form.cleaned_data["token"])
        if device is not None:
            django_otp.login(request, device)
            return HttpResponseRedirect(_next_url(request))
        form.add_error("token", "That code is not right (or was already used).")
    context = _context(request, form=form, title="Two-factor authentication")
    return render(request, "twofactor/verify.html", context)
