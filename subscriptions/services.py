"""The subscriber lifecycle: subscribe, confirm, unsubscribe, change scope, import,
quarantine (by an operator or after hard bounces) and reactivate.

The public views, the admin, the API, the delivery loop and the demo data call these
functions; each rule exists once, here.
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
from subscriptions import scope
from subscriptions.models import Subscriber, new_token
from subscriptions.rendering import subscriber_email

logger = logging.getLogger(__name__)

State = Subscriber.State

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
    """Write ``subscribers`` to ``out`` as CSV (the columns ``import_subscribers`` reads)."""
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for s in subscribers.prefetch_related("components", "groups").iterator(chunk_size=1000):
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
    subscriber = Subscriber.objects.select_for_update().filter(email__iexact=email).first()
    created = False
    if subscriber is None:
        try:
            with transaction.atomic():
                subscriber = Subscriber.objects.create(email=email)
                created = True
        except IntegrityError:
            # Two sign-ups for one address at once: the other one won; act on its row.
            subscriber = Subscriber.objects.select_for_update().get(email__iexact=email)
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
    subscriber.state = State.ACTIVE
    subscriber.confirmed_at = subscriber.confirmed_at or timezone.now()
    subscriber.unsubscribed_at = None
    subscriber.hard_bounces = 0
    subscriber.save(
        update_fields=["state", "confirmed_at", "unsubscribed_at", "hard_bounces", "updated_at"]
    )


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


def record_hard_bounce(subscriber: Subscriber) -> bool:
    """A permanent delivery failure; SUBSCRIPTIONS_QUARANTINE_AFTER of them in a row
    quarantine an active address. Returns whether it was quarantined now."""
    Subscriber.objects.filter(pk=subscriber.pk).update(hard_bounces=F("hard_bounces") + 1)
    return _quarantine(
        Subscriber.objects.filter(
            pk=subscriber.pk,
            state=State.ACTIVE,
            hard_bounces__gte=settings.SUBSCRIPTIONS_QUARANTINE_AFTER,
        )
    )


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
    subscriber: Subscriber, kind: str, *, incident: Incident | None = None
) -> bool:
    """Send the confirm or manage email now. A mail-server failure is logged, not raised:
    the sign-up answer must not depend on it (the person can ask again)."""
    try:
        subscriber_email(subscriber, kind, incident=incident).send()
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
