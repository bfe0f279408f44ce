"""Keep ``Revision`` in step with every write that changes the public pages, and read it
cheaply.

The core knows no app: each app names the models its pages show with ``track`` (and
``track_m2m``) in its ``AppConfig.ready()``.

Every public request needs the current revision (it is part of the cache key and the
validators). Reading it costs a database round trip, which is most of the cost of a
cache hit; so each process remembers it for ``STATUSPAGE_REVISION_TTL`` seconds (one by
default). A write made by this process forgets the remembered value at once, so this
process never shows its own write late; other processes see it within the TTL — far less
than what ``Cache-Control`` already allows browsers and CDNs.
"""

import threading
import time

from django.conf import settings
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save

from statusportal.models import Revision


class _Memo:
    """The revision this process read last, and until when it may be reused."""

    def __init__(self):
        self._lock = threading.Lock()
        self.value: Revision | None = None
        self.until = 0.0

    def get(self) -> Revision:
        ttl = settings.STATUSPAGE_REVISION_TTL
        now = time.monotonic()
        with self._lock:
            if self.value is not None and now < self.until:
                return self.value
        value = Revision.current()
        with self._lock:
            self.value, self.until = value, now + ttl
        return value

    def forget(self) -> None:
        with self._lock:
            self.value, self.until = None, 0.0


_memo = _Memo()


def current() -> Revision:
    """The current revision, read from the database at most once per TTL per process."""
    return _memo.get()


def forget() -> None:
    """Make the next ``current()`` read the database."""
    _memo.forget()


def _bump(**kwargs):
    # In the same transaction as the write: if it rolls back, so does the bump.
    if kwargs.get("raw"):
        return  # loaddata
    if kwargs.get("action", "post_").startswith("pre_"):
        return
    Revision.bump()
    # This connection sees its own write at once. (A concurrent request of this process
    # that re-reads the revision before the commit keeps the old one for one TTL at most.)
    forget()


def track(*models: type[Model]) -> None:
    """Bump the revision whenever a row of one of ``models`` is saved or deleted. Each app
    calls this from its ``AppConfig.ready()`` for the models the public pages show."""
    for model in models:
        label = model._meta.label
        post_save.connect(_bump, sender=model, dispatch_uid=f"revision-save-{label}")
        post_delete.connect(_bump, sender=model, dispatch_uid=f"revision-delete-{label}")


def track_m2m(through: type[Model]) -> None:
    """Bump the revision when rows are added to or removed from a many-to-many relation
    (``Model.field.through``)."""
    m2m_changed.connect(_bump, sender=through, dispatch_uid=f"revision-m2m-{through._meta.label}")
