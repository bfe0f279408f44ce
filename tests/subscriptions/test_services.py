"""Subscriber lifecycle and who receives what."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from components.models import Component
from incidents import services as incident_services
from subscriptions import audience, links, services
from subscriptions.models import NotificationEvent, Subscriber

State = Subscriber.State


def test_new_address_is_unconfirmed_and_gets_only_the_confirmation(db):
    subscriber = services.add_subscriber("New@Example.COM")
    assert subscriber.state == State.UNCONFIRMED
    assert subscriber.email == "New@example.com"
    assert subscriber.all_components
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "[Acme] Confirm your subscription"
    assert "/subscriptions/" in mail.outbox[0].body


def test_email_is_unique_whatever_its_case(db):
    first = services.add_subscriber("case@example.com", confirmed=True)
    again = services.add_subscriber("CASE@example.com", confirmed=True)
    assert first.pk == again.pk
    assert Subscriber.objects.count() == 1


def test_invalid_email_is_a_field_error(db):
    with pytest.raises(ValidationError) as err:
        services.add_subscriber("not-an-address")
    assert "email" in err.value.message_dict
    assert not Subscriber.objects.exists()


def test_active_subscriber_signing_up_again_gets_manage_email_and_keeps_scope(rest_fan, website):
    mail.outbox = []
    services.add_subscriber("rita@example.com", components=[website])
    rest_fan.refresh_from_db()
    assert [c.name for c in rest_fan.components.all()] == ["REST API"]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "[Acme] Your subscription"
    assert rest_fan.token in mail.outbox[0].body


def test_unsubscribed_address_signing_up_must_confirm_again(gone):
    services.add_subscriber("ulf@example.com")
    gone.refresh_from_db()
    assert gone.state == State.UNCONFIRMED
    assert mail.outbox[-1].subject == "[Acme] Confirm your subscription"


def test_confirm_token_activates_and_follows_incident(open_incident):
    incident = open_incident()
    subscriber = services.add_subscriber("ivy@example.com", incident=incident)
    assert not subscriber.all_components
    found, wanted = links.read_confirm_token(links.confirm_token(subscriber, incident))
    assert found == subscriber and wanted == incident
    services.confirm(found, incident=wanted)
    subscriber.refresh_from_db()
    assert subscriber.state == State.ACTIVE
    assert subscriber.confirmed_at is not None
    assert list(subscriber.incidents.all()) == [incident]


def test_confirm_token_expires(db, settings, monkeypatch):
    from django.core import signing

    subscriber = services.add_subscriber("late@example.com", send_confirmation=False)
    token = links.confirm_token(subscriber)
    settings.SUBSCRIPTIONS_CONFIRM_MAX_AGE = 60
    import time

    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 61)
    with pytest.raises(signing.SignatureExpired):
        links.read_confirm_token(token)


def test_tampered_confirm_token_is_refused(db):
    from django.core import signing

    subscriber = services.add_subscriber("tamper@example.com", send_confirmation=False)
    token = links.confirm_token(subscriber)
    with pytest.raises(signing.BadSignature):
        links.read_confirm_token(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])


def test_tokens_do_not_contain_the_email_and_rotate(db):
    subscriber = services.add_subscriber("secret.person@example.com", confirmed=True)
    old = subscriber.token
    assert "secret" not in old and "secret" not in links.confirm_token(subscriber)
    services.rotate_token(subscriber)
    assert subscriber.token != old
    assert not Subscriber.objects.filter(token=old).exists()


def test_unknown_component_code_is_refused(db):
    with pytest.raises(ValidationError) as err:
        services.add_subscriber("x@example.com", components=["nosuchcode12"])
    assert "components" in err.value.message_dict


def test_remove_subscriber_deletes_it(everything):
    services.remove_subscriber(everything)
    assert not Subscriber.objects.filter(pk=everything.pk).exists()


def test_quarantine_and_reactivate(everything):
    assert services.quarantine(everything)
    assert not services.quarantine(everything)
    everything.refresh_from_db()
    assert everything.state == State.QUARANTINED
    assert services.reactivate(everything)
    everything.refresh_from_db()
    assert everything.state == State.ACTIVE


def test_quarantined_address_signing_up_gets_nothing(everything):
    services.quarantine(everything)
    mail.outbox = []
    services.add_subscriber("eve@example.com")
    assert mail.outbox == []


# --- Audience --------------------------------------------------------------------------


def _event(update) -> NotificationEvent:
    return NotificationEvent.objects.get(update=update)


def test_audience_of_an_update(
    open_incident, everything, rest_fan, group_fan, website_fan, unconfirmed, gone
):
    incident = open_incident()  # REST API major outage
    event = _event(incident.updates.get())
    got = set(audience.recipients(event).values_list("email", flat=True))
    assert got == {"eve@example.com", "rita@example.com", "greg@example.com"}


def test_group_subscription_covers_components_added_later(open_incident, group_fan, api_group):
    later = Component.objects.create(name="Webhooks", group=api_group)
    incident = open_incident(components={later.code: Component.Status.PARTIAL_OUTAGE})
    event = _event(incident.updates.get())
    assert list(audience.recipients(event)) == [group_fan]


def test_incident_followers_hear_about_it_and_nothing_else(open_incident, website):
    incident = open_incident()
    other = open_incident(name="Other", components={website.code: "major_outage"})
    follower = services.add_subscriber("ivy@example.com", incident=incident, confirmed=True)
    update = incident_services.post_update(incident, status="identified", body="Found it.")
    assert list(audience.recipients(_event(update))) == [follower]
    assert list(audience.recipients(_event(other.updates.get()))) == []


def test_no_event_for_updates_posted_without_notifications(open_incident, everything):
    incident = open_incident()
    update = incident_services.post_update(
        incident, status="identified", body="Quiet.", deliver_notifications=False
    )
    assert not NotificationEvent.objects.filter(update=update).exists()


def test_postmortem_event_only_with_notify(open_incident, everything):
    incident = open_incident()
    incident_services.resolve(incident)
    incident_services.save_postmortem_draft(incident, body="What happened.")
    incident_services.publish_postmortem(incident, notify=True)
    event = NotificationEvent.objects.get(kind=NotificationEvent.Kind.POSTMORTEM)
    assert list(audience.recipients(event)) == [everything]
    other = open_incident(name="Two")
    incident_services.resolve(other)
    incident_services.save_postmortem_draft(other, body="Quiet.")
    incident_services.publish_postmortem(other, notify=False)
    assert NotificationEvent.objects.filter(kind="postmortem").count() == 1


def test_event_row_rolls_back_with_the_post(open_incident, everything):
    incident = open_incident()
    before = NotificationEvent.objects.count()
    with pytest.raises(ValidationError):
        incident_services.post_update(
            incident, status="identified", body="x", components={"nosuchcode12": "major_outage"}
        )
    assert NotificationEvent.objects.count() == before


def test_fan_out_is_enqueued_only_after_commit(open_incident, django_capture_on_commit_callbacks):
    incident = open_incident()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        incident_services.post_update(incident, status="identified", body="Found it.")
    assert len(callbacks) == 1
