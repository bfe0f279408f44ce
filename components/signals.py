"""What the components app announces; higher apps (subscriptions) listen.

Sent inside the transaction that made the change, so a receiver that writes rows (the
notification outbox) commits or rolls back with it.
"""

from django.dispatch import Signal

# A component moved from one status to another, live (not a backfilled past, not its
# creation). kwargs: change (ComponentStatusChange).
status_changed = Signal()
