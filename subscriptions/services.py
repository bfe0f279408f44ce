"""The subscriber lifecycle: subscribe (an email address, or a webhook, Slack or Teams
endpoint), confirm, unsubscribe, change scope, import, quarantine (by an operator or
after hard bounces, telling an endpoint's contact) and reactivate.

The public views, the admin, the API, the delivery loop and the demo data call these
functions; each rule exists once, here.

One concern, kept in one module although it passes 400 lines: every change of a
subscriber's state, so that a reader finds each rule of the lifecycle in one place.
"""

import csv
import io
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from components.models import Component, ComponentGroup
from incidents.models import Incident
from subscriptions import egress, links, payloads, scope
from subscriptions.models import Subscriber, new_secret, new_token
from subscriptions.rendering import subscriber_email

logger = logging.getLogger(__name__)

State = Subscriber.State
Channel = Subscriber.Channel

# What a subscriber may choose: components and groups, as rows or codes.
Scope = Iterable[Component | ComponentGroup | str]


# --- Subscribing -----------------------------------------------------------------------


def normalize_email(email: str) -> str:
    """The address as stored: trimmed, domain lower-cased (the local part may be
    case-sensitive in theory, so uniqueness is case-insensitive instead)."""
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid email address."}, code="invalid") from None
    local, _, domain = email.rpartition("@")
    if domain.startswith("["):
        # An address literal (a@[127.0.0.1]) names a machine, not a mailbox on a domain:
        # nobody subscribes to a status page that way, and it can aim mail at internal hosts.
        raise ValidationError(
            {"email": "Use an address on a domain name, not an IP address."}, code="ip_literal"
        )
    return f"{local}@{domain.lower()}"


# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_FIELDS = ["email", "state", "components", "created_at", "confirmed_at"]


def spreadsheet_safe(value: str) -> str:
    """``value`` as a spreadsheet shows it, never as a formula it would run."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def export_subscribers(subscribers: QuerySet[Subscriber], out: Any) -> None:
    """Write the email subscribers among ``subscribers`` to ``out`` as CSV (the columns
    ``import_subscribers`` reads; a webhook's contact is no subscriber to import)."""
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    emails = subscribers.filter(channel=Channel.EMAIL).prefetch_related("components", "groups")
    for s in emails.iterator(chunk_size=1000):
        scope = (
            ""
            if s.all_components
            else ";".join([g.code for g in s.groups.all()] + [c.code for c in s.components.all()])
        )
        writer.writerow(
            [
                spreadsheet_safe(s.email),
                s.state,
                scope,
                s.created_at.isoformat(),
                s.confirmed_at.isoformat() if s.confirmed_at else "",
            ]
        )


def _split_scope(scope: Scope) -> tuple[list[Component], list[ComponentGroup]]:
    """Components and groups named by rows or codes; unknown codes are a ValidationError."""
    components, groups, codes = [], [], []
    for item in scope:
        if isinstance(item, Component):
            components.append(item)
        elif isinstance(item, ComponentGroup):
            groups.append(item)
        else:
            codes.append(str(item))
    if codes:
        found_c = {c.code: c for c in Component.objects.filter(code__in=codes)}
        found_g = {g.code: g for g in ComponentGroup.objects.filter(code__in=codes)}
        unknown = sorted(set(codes) - set(found_c) - set(found_g))
        if unknown:
            raise ValidationError(
                {"components": f"Unknown component or group code(s): {', '.join(unknown)}."},
                code="unknown_component",
            )
        components += found_c.values()
        groups += found_g.values()
    return components, groups


def set_scope(subscriber: Subscriber, components: Scope | None) -> None:
    """Follow everything (``components`` is None) or exactly the chosen components and
    groups (an empty choice means: only the incidents the subscriber follows)."""
    if components is None:
        subscriber.all_components = True
        subscriber.save(update_fields=["all_components", "updated_at"])
        subscriber.components.clear()
        subscriber.groups.clear()
        return
    chosen, groups = _split_scope(components)
    subscriber.all_components = False
    subscriber.save(update_fields=["all_components", "updated_at"])
    subscriber.components.set(chosen)
    subscriber.groups.set(groups)


def add_subscriber(
    email: str,
    *,
    components: Scope | None = None,
    incident: Incident | None = None,
    confirmed: bool = False,
    send_confirmation: bool = True,
) -> Subscriber:
    """Subscribe ``email`` to everything (``components`` None), to chosen components or
    groups, or to one ``incident``.

    - New address (or one that had unsubscribed): stored as unconfirmed with that scope,
      and sent the double opt-in email, unless ``confirmed`` (operator import, demo data),
      which makes it active at once.
    - Address still unconfirmed: scope replaced, confirmation sent again.
    - Active address: nothing changes behind its owner's back; it gets a "manage your
      subscription" email (with a link to follow ``incident``, if one was asked for).
      With ``confirmed`` (an operator acting), the scope is applied directly.
    - Quarantined address: left alone (mail to it bounces).

    The caller shows the same answer in every case, so the form reveals nothing.
    """
    email = normalize_email(email)
    with transaction.atomic():
        subscriber, kind = _subscribe(email, components, incident, confirmed)
    # Sent after the rows are committed (or by the caller's transaction, in which case a
    # rollback after this point can at worst leave one confirmation email without a row).
    if kind and send_confirmation:
        send_subscriber_email(subscriber, kind, incident=incident)
    return subscriber


def _subscribe(
    email: str, components: Scope | None, incident: Incident | None, confirmed: bool
) -> tuple[Subscriber, str | None]:
    """The writes of ``add_subscriber``; returns the subscriber and which email to send."""
    # Following one incident without choosing components means "only this incident".
    scope = [] if incident is not None and components is None else components
    emails = Subscriber.objects.select_for_update().filter(channel=Channel.EMAIL)
    subscriber = emails.filter(email__iexact=email).first()
    created = False
    if subscriber is None:
        try:
            with transaction.atomic():
                subscriber = Subscriber.objects.create(email=email)
                created = True
        except IntegrityError:
            # Two sign-ups for one address at once: the other one won; act on its row.
            subscriber = emails.get(email__iexact=email)
    if confirmed:
        # An operator (admin, API, import) vouches for the address.
        # An existing subscriber keeps its scope when the operator only adds an incident.
        if created or incident is None or components is not None:
            set_scope(subscriber, scope)
        if incident is not None:
            subscriber.incidents.add(incident)
        _activate(subscriber)
        return subscriber, None
    if subscriber.state in (State.UNCONFIRMED, State.UNSUBSCRIBED):
        set_scope(subscriber, scope)
        if incident is not None:
            subscriber.incidents.add(incident)
        if subscriber.state == State.UNSUBSCRIBED:
            subscriber.state = State.UNCONFIRMED
            subscriber.unsubscribed_at = None
            subscriber.save(update_fields=["state", "unsubscribed_at", "updated_at"])
        return subscriber, "confirm"
    if subscriber.is_active:
        # Nothing changes behind the owner's back: they get links to manage (and, if
        # they asked to follow an incident, a signed link that does it).
        return subscriber, "manage"
    return subscriber, None  # quarantined: mail to it bounces


def _activate(subscriber: Subscriber) -> None:
    if subscriber.channel == Channel.WEBHOOK and subscriber.state != State.ACTIVE:
        # A new secret each time a webhook (re)starts: the one shown at this confirmation.
        subscriber.secret = new_secret()
    subscriber.state = State.ACTIVE
    subscriber.confirmed_at = subscriber.confirmed_at or timezone.now()
    subscriber.unsubscribed_at = None
    subscriber.hard_bounces = 0
    subscriber.save(
        update_fields=[
            "state",
            "confirmed_at",
            "unsubscribed_at",
            "hard_bounces",
            "secret",
            "updated_at",
        ]
    )


# --- Endpoints: webhooks, Slack, Microsoft Teams ------------------------------------


def add_webhook_subscriber(
    endpoint: str,
    email: str,
    *,
    components: Scope | None = None,
    skip_confirmation: bool = False,
) -> Subscriber:
    """A webhook subscriber, as Statuspage's manage API creates one
    (``{"subscriber": {"endpoint": URL, "email": contact,
    "skip_confirmation_notification": true}}``): POSTs to ``endpoint``, ``email`` is the
    contact told to confirm (unless ``skip_confirmation``: active at once) and told if the
    endpoint is quarantined. ``components``: None for everything, else codes or rows of
    components and groups. The secret is on the returned row (show it once)."""
    return add_endpoint_subscriber(
        Channel.WEBHOOK,
        endpoint,
        email=email,
        components=components,
        confirmed=skip_confirmation,
        send_confirmation=not skip_confirmation,
    )


def add_endpoint_subscriber(
    channel: str,
    endpoint: str,
    *,
    email: str = "",
    components: Scope | None = None,
    confirmed: bool = False,
    send_confirmation: bool = True,
) -> Subscriber:
    """Subscribe a webhook, Slack or Teams ``endpoint`` to everything (``components``
    None) or to chosen components or groups.

    The URL is checked first (form, and every address its host resolves to:
    ``egress.check_endpoint``). Confirmation, unless ``confirmed`` (an operator): a
    webhook's contact ``email`` (required) gets a confirm link; a Slack or Teams channel
    gets a message with the link posted into it, so whoever can read the channel
    confirms. Otherwise as ``add_subscriber``: an unconfirmed endpoint gets its scope
    replaced and the confirmation again, an active one is not changed behind its
    owners' back, a quarantined one is left alone; the caller answers the same in every
    case."""
    channel = Channel(channel)
    if channel not in Channel.over_http():
        raise ValidationError({"channel": "Choose webhook, Slack or Teams."}, code="invalid")
    if channel == Channel.WEBHOOK or email:
        if not email:
            raise ValidationError(
                {"email": "A webhook needs a contact email address."}, code="required"
            )
        email = normalize_email(email)
    endpoint = egress.check_endpoint(endpoint)  # (last: it may wait for DNS)
    with transaction.atomic():
        subscriber, ask = _subscribe_endpoint(channel, endpoint, email, components, confirmed)
    if ask and send_confirmation:
        send_confirmation_request(subscriber)
    return subscriber


def _subscribe_endpoint(
    channel: str, endpoint: str, email: str, components: Scope | None, confirmed: bool
) -> tuple[Subscriber, bool]:
    """The writes of ``add_endpoint_subscriber``; returns the subscriber and whether to
    ask for confirmation."""
    rows = Subscriber.objects.select_for_update().filter(channel=channel, endpoint=endpoint)
    subscriber = rows.first()
    created = False
    if subscriber is None:
        try:
            with transaction.atomic():
                subscriber = Subscriber.objects.create(
                    channel=channel, endpoint=endpoint, email=email
                )
                created = True
        except IntegrityError:
            subscriber = rows.get()  # two sign-ups at once: act on the winner's row
    if confirmed:
        if email and subscriber.email != email:
            subscriber.email = email
            subscriber.save(update_fields=["email", "updated_at"])
        set_scope(subscriber, components)
        _activate(subscriber)
        return subscriber, False
    if created or subscriber.state in (State.UNCONFIRMED, State.UNSUBSCRIBED):
        set_scope(subscriber, components)
        subscriber.email = email
        subscriber.state = State.UNCONFIRMED
        subscriber.unsubscribed_at = None
        subscriber.save(update_fields=["email", "state", "unsubscribed_at", "updated_at"])
        return subscriber, True
    return subscriber, False  # active: nothing behind its owners' back; quarantined


def send_confirmation_request(subscriber: Subscriber) -> bool:
    """Ask to confirm: the double opt-in email, a webhook's email to its contact, or a
    message posted into a Slack or Teams channel. A failure is logged, not raised."""
    if subscriber.channel == Channel.EMAIL:
        return send_subscriber_email(subscriber, "confirm")
    if subscriber.channel == Channel.WEBHOOK:
        return send_subscriber_email(subscriber, "webhook-confirm")
    body = payloads.chat_confirmation(subscriber, links.confirm_url(subscriber))
    session = egress.Session()
    try:
        answer = session.post(subscriber.endpoint, body, {})
    except Exception:
        logger.exception("could not post the confirmation to subscriber %s", subscriber.pk)
        return False
    finally:
        session.close()
    if not answer.ok:
        logger.warning(
            "the confirmation to subscriber %s was refused: %s %s",
            subscriber.pk,
            answer.status,
            answer.body[:200],
        )
    return answer.ok


@transaction.atomic
def confirm(subscriber: Subscriber, *, incident: Incident | None = None) -> Subscriber:
    """Activate an unconfirmed (or re-subscribing) address; follow ``incident`` if given.

    A quarantined address stays quarantined: only an operator can lift that."""
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    if incident is not None:
        subscriber.incidents.add(incident)
    if subscriber.state in (State.UNCONFIRMED, State.UNSUBSCRIBED):
        _activate(subscriber)
    return subscriber


@transaction.atomic
def unsubscribe(subscriber: Subscriber) -> Subscriber:
    """Stop all mail to the subscriber (kept as a row, so a later sign-up re-confirms).

    Idempotent: a second one-click POST changes nothing. Pending deliveries are skipped
    at send time."""
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    if subscriber.state != State.UNSUBSCRIBED:
        subscriber.state = State.UNSUBSCRIBED
        subscriber.unsubscribed_at = timezone.now()
        subscriber.save(update_fields=["state", "unsubscribed_at", "updated_at"])
    return subscriber


def remove_subscriber(subscriber: Subscriber) -> None:
    """Delete the subscriber and its delivery history (an operator's "forget me")."""
    Subscriber.objects.filter(pk=subscriber.pk).delete()


def rotate_token(subscriber: Subscriber) -> Subscriber:
    """Give the subscriber a new link secret: every manage/unsubscribe link sent before
    stops working (use when a mail was forwarded or leaked)."""
    subscriber.token = new_token()
    subscriber.save(update_fields=["token", "updated_at"])
    return subscriber


def quarantine(subscriber: Subscriber) -> bool:
    """An operator stops mailing an address. Returns whether anything changed."""
    return _quarantine(Subscriber.objects.filter(pk=subscriber.pk).exclude(state=State.QUARANTINED))


def record_hard_bounce(subscriber: Subscriber, reason: str = "") -> bool:
    """A permanent delivery failure; SUBSCRIPTIONS_QUARANTINE_AFTER of them in a row
    quarantine an active address or endpoint (and its contact, if it has one, is told:
    ``reason`` is the last answer). Returns whether it was quarantined now."""
    Subscriber.objects.filter(pk=subscriber.pk).update(hard_bounces=F("hard_bounces") + 1)
    quarantined = _quarantine(
        Subscriber.objects.filter(
            pk=subscriber.pk,
            state=State.ACTIVE,
            hard_bounces__gte=settings.SUBSCRIPTIONS_QUARANTINE_AFTER,
        )
    )
    if quarantined and subscriber.over_http and subscriber.email:
        subscriber.refresh_from_db()
        send_subscriber_email(subscriber, "endpoint-quarantined", extra={"last_error": reason})
    return quarantined


def clear_hard_bounces(subscriber_ids: Iterable[int]) -> None:
    """Delivered: the bounces of these subscribers are no longer "in a row"."""
    ids = list(subscriber_ids)
    if ids:
        Subscriber.objects.filter(pk__in=ids, hard_bounces__gt=0).update(hard_bounces=0)


def _quarantine(subscribers: QuerySet[Subscriber]) -> bool:
    return bool(subscribers.update(state=State.QUARANTINED, updated_at=timezone.now()))


def reactivate(subscriber: Subscriber) -> bool:
    """An operator lifts quarantine (the address works again). Returns whether anything
    changed; unsubscribed addresses are not re-activated behind their owner's back."""
    return bool(
        Subscriber.objects.filter(pk=subscriber.pk, state=State.QUARANTINED).update(
            state=State.ACTIVE, hard_bounces=0, updated_at=timezone.now()
        )
    )


@transaction.atomic
def unfollow_incident(subscriber: Subscriber, incident: Incident) -> bool:
    """Stop following ``incident``. Following nothing at all is unsubscribing: True when
    this ends the subscription."""
    subscriber.incidents.remove(incident)
    if scope.follows_nothing(Subscriber.objects.get(pk=subscriber.pk)):
        unsubscribe(subscriber)
        return True
    return False


def send_subscriber_email(
    subscriber: Subscriber,
    kind: str,
    *,
    incident: Incident | None = None,
    extra: dict[str, Any] | None = None,
) -> bool:
    """Send the confirm or manage email now (or a webhook contact's email). A
    mail-server failure is logged, not raised: the sign-up answer must not depend on it
    (the person can ask again)."""
    try:
        subscriber_email(subscriber, kind, incident=incident, extra=extra).send()
    except Exception:
        logger.exception("could not send the %s email to subscriber %s", kind, subscriber.pk)
        return False
    return True


# --- Import ---------------------------------------------------------------------------


def import_subscribers(data: bytes) -> tuple[int, list[str]]:
    """Add every valid row of a UTF-8 CSV as an active subscriber, without mailing them
    (they confirmed on the operator's previous status page); returns (count, line
    errors).

    Columns: ``email``, and optionally ``components``: codes or names separated by
    ``;`` (empty means everything)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return 0, ["The file is not UTF-8 text."]
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "email" not in [f.strip().lower() for f in reader.fieldnames]:
        return 0, ["The file needs an “email” column."]
    by_name = {c.name.lower(): c.code for c in Component.objects.all()}
    count, errors = 0, []
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        names = [n.strip() for n in row.get("components", "").split(";") if n.strip()]
        scope = [by_name.get(n.lower(), n) for n in names] or None
        try:
            add_subscriber(
                row.get("email", ""), components=scope, confirmed=True, send_confirmation=False
            )
        except ValidationError as exc:
            errors.append(f"Line {line}: {'; '.join(exc.messages)}")
            continue
        count += 1
    return count, errors
