"""Listeners for what the incidents app announces (connected in ``apps.ready``)."""

from typing import Any

from components.models import ComponentStatusChange
from incidents.models import IncidentUpdate, Postmortem
from subscriptions import outbox


def on_update_posted(sender: Any, update: IncidentUpdate, **kwargs: Any) -> None:
    """Runs inside the posting transaction: the event row commits or rolls back with the
    update; the fan-out is enqueued only after commit."""
    outbox.record_update(update)


def on_postmortem_published(
    sender: Any, postmortem: Postmortem, notify: bool = False, **kwargs: Any
) -> None:
    outbox.record_postmortem(postmortem, notify)


def on_status_changed(sender: Any, change: ComponentStatusChange, **kwargs: Any) -> None:
    """A component's status changed (inside the writing transaction, like the others)."""
    outbox.record_component_change(change)
