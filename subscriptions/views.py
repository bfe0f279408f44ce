"""Public subscription pages: subscribe, confirm, manage, unsubscribe.

Every answer to a sign-up is the same page whether or not the address was known, so the
form cannot be used to learn who is subscribed."""

import logging

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from components.models import Component
from incidents.models import Incident
from incidents.pages import page_blocks
from statusportal import ratelimit
from statusportal.clientip import client_key
from subscriptions import links, scope, services
from subscriptions.forms import IncidentSubscribeForm, ScopeForm, SubscribeForm
from subscriptions.models import Subscriber

logger = logging.getLogger(__name__)


def _catalogue() -> list[dict]:
    """Groups with their components and ungrouped components, in page order, for the
    checkboxes."""
    return [
        {"group": block.group, "components": [row.component for row in block.rows]}
        for block in page_blocks(Component.objects.in_page_order())
    ]


def _too_many(request: HttpRequest) -> HttpResponse:
    return render(request, "subscriptions/rate_limited.html", status=429)


HOUR = 3600


def _sign_up(
    request: HttpRequest, form, *, incident: Incident | None = None
) -> HttpResponse | None:
    """Rate limits, honeypot, then ``add_subscriber``; the same "check your inbox" page
    in every case."""
    # Counted in the shared counters (statusportal.ratelimit), per client as
    # TRUSTED_PROXIES names it, and per mailbox (lower case, without +tag).
    if not ratelimit.hit(
        "signup-ip", client_key(request), settings.SUBSCRIPTIONS_RATE_PER_IP, HOUR
    ):
        return _too_many(request)
    email = form.cleaned_data["email"]
    channel = form.cleaned_data.get("channel") or Subscriber.Channel.EMAIL
    endpoint = form.cleaned_data.get("endpoint", "") if channel != Subscriber.Channel.EMAIL else ""
    if form.is_bot:
        logger.info("subscription honeypot filled; ignored")
    elif not ratelimit.hit(
        "signup-email",
        # Per endpoint for the HTTP channels: what a flood would hit is the channel.
        endpoint or ratelimit.normalise_email(email),
        settings.SUBSCRIPTIONS_RATE_PER_EMAIL,
        HOUR,
    ):
        # Same answer as success: saying "too many" would reveal that mail was sent.
        logger.info("subscription email rate limit reached; nothing sent")
    else:
        components = form.chosen() if isinstance(form, ScopeForm) else None
        try:
            if endpoint:
                services.add_endpoint_subscriber(
                    channel, endpoint, email=email, components=components
                )
            else:
                services.add_subscriber(email, components=components, incident=incident)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return None
    chosen = form.chosen() if isinstance(form, ScopeForm) else None
    return render(
        request,
        "subscriptions/check_inbox.html",
        {
            "email": email,
            "channel": channel,
            "endpoint": endpoint,
            "scope": scope.describe_choice(chosen, incident),
        },
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    form = SubscribeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        response = _sign_up(request, form)
        if response is not None:
            return response
    status = 400 if form.is_bound else 200
    return render(
        request,
        "subscriptions/subscribe.html",
        {"form": form, "catalogue": _catalogue()},
        status=status,
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def incident_subscribe(request: HttpRequest, code: str) -> HttpResponse:
    incident = get_object_or_404(Incident, code=code)
    form = IncidentSubscribeForm(request.POST or None)
    if request.method == "POST" and not incident.is_closed and form.is_valid():
        response = _sign_up(request, form, incident=incident)
        if response is not None:
            return response
    status = 400 if form.is_bound else 200
    return render(
        request,
        "subscriptions/incident_subscribe.html",
        {"form": form, "incident": incident},
        status=status,
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners follow links; they must not confirm); POST
    confirms."""
    try:
        subscriber, incident = links.read_confirm_token(token)
    except (signing.SignatureExpired, links.LinkUsed):
        return render(request, "subscriptions/link_expired.html", status=410)
    except (signing.BadSignature, Subscriber.DoesNotExist):
        raise Http404("No such link") from None
    if request.method == "POST":
        subscriber = services.confirm(subscriber, incident=incident)
        return render(
            request,
            "subscriptions/confirmed.html",
            {
                "subscriber": subscriber,
                "incident": incident,
                "scope": scope.describe(subscriber),
                # Shown this once: the link stops working now that the webhook is active.
                "secret": subscriber.secret if subscriber.is_active else "",
            },
        )
    return render(
        request, "subscriptions/confirm.html", {"subscriber": subscriber, "incident": incident}
    )


def _initial(subscriber: Subscriber) -> dict:
    """The manage form as the subscription stands."""
    return {
        "scope": ScopeForm.ALL if subscriber.all_components else ScopeForm.CHOSEN,
        "components": [c.code for c in subscriber.components.all()],
        "groups": [g.code for g in subscriber.groups.all()],
    }


def _by_token(token: str) -> Subscriber:
    return get_object_or_404(Subscriber, token=token)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    """Change what the subscriber follows, stop following an incident."""
    subscriber = _by_token(token)
    saved = False
    initial = _initial(subscriber)
    form = ScopeForm(initial=initial)
    if request.method == "POST":
        if "unfollow" in request.POST:
            incident = Incident.objects.filter(code=request.POST["unfollow"]).first()
            if incident is not None:
                if services.unfollow_incident(subscriber, incident):
                    subscriber.refresh_from_db()
                    return render(
                        request,
                        "subscriptions/unsubscribed.html",
                        {"subscriber": subscriber, "followed_nothing": True},
                    )
                saved = True
        else:
            form = ScopeForm(request.POST, initial=initial)
            if form.is_valid():
                services.set_scope(subscriber, form.chosen())
                saved = True
                form = ScopeForm(initial=_initial(subscriber))
    return render(
        request,
        "subscriptions/manage.html",
        {
            "subscriber": subscriber,
            "form": form,
            "saved": saved,
            "catalogue": _catalogue(),
            "followed": list(subscriber.incidents.all()),
            "scope": scope.describe(subscriber),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@csrf_exempt  # RFC 8058: the mail provider POSTs with no cookie, no form, no CSRF token
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET only asks; POST (from the page's button or a mail client's one-click
    ``List-Unsubscribe=One-Click``) unsubscribes and answers 200, without redirecting."""
    subscriber = _by_token(token)
    if request.method == "POST":
        services.unsubscribe(subscriber)
        return render(request, "subscriptions/unsubscribed.html", {"subscriber": subscriber})
    return render(request, "subscriptions/unsubscribe.html", {"subscriber": subscriber})
