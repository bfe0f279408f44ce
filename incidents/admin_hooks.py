"""Plug-in points of the incident console for higher apps.

``incidents`` may not import ``subscriptions`` (imports go one way), yet the operator wants
to see, next to each posted update, what became of its emails. So a higher app registers a
function here, and the incident's timeline (on its "Post an update" page) shows what it
returns beside each update.

``update_annotations`` is a list of functions ``f(updates) -> {update_pk: html}``:

* ``updates`` is the list of ``IncidentUpdate`` rows shown on the page (newest first). Run
  a fixed number of queries for the whole list (one aggregate, not one per update).
* Return HTML per update primary key; updates with nothing to say may be left out. Build
  it with ``format_html``: a plain ``str`` is escaped, a ``SafeString`` is shown as is.
* An exception is logged and the annotation left out: the console must keep working
  during an outage even if a plug-in breaks.

Register from the higher app's ``AppConfig.ready()``::

    from incidents.admin_hooks import register_update_annotation

    @register_update_annotation
    def delivery_counts(updates):
        ...
        return {update.pk: format_html('<a href="{}">{} sent, {} failed</a>', ...)}
"""

import logging
from collections.abc import Callable

from django.utils.html import conditional_escape
from django.utils.safestring import SafeString

from incidents.models import IncidentUpdate

logger = logging.getLogger(__name__)

UpdateAnnotation = Callable[[list[IncidentUpdate]], dict[int, str]]

update_annotations: list[UpdateAnnotation] = []


def register_update_annotation(func: UpdateAnnotation) -> UpdateAnnotation:
    """Add ``func`` to ``update_annotations`` (once); usable as a decorator."""
    if func not in update_annotations:
        update_annotations.append(func)
    return func


def annotate_updates(updates: list[IncidentUpdate]) -> dict[int, list[SafeString]]:
    """Call every registered function; HTML fragments per update pk, in registration order."""
    result: dict[int, list[SafeString]] = {}
    if not updates:
        return result
    for func in update_annotations:
        try:
            fragments = func(updates) or {}
        except Exception:
            logger.exception("update annotation %r failed", func)
            continue
        for pk, html in fragments.items():
            if html:
                result.setdefault(pk, []).append(conditional_escape(html))
    return result
