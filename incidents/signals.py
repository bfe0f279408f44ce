"""What the incidents app announces; higher apps (subscriptions) listen.

Each signal is sent inside the transaction that made the change, so a receiver that
writes rows (the notification outbox) commits or rolls back with it. Receivers that talk
to the outside world must defer that work with ``transaction.on_commit``.
"""

from django.dispatch import Signal

# An IncidentUpdate was posted. kwargs: update (IncidentUpdate).
update_posted = Signal()

# A postmortem was published. kwargs: postmortem (Postmortem), notify (bool).
postmortem_published = Signal()
