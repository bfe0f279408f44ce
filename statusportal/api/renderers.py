"""The browsable API: DRF's HTML pages for a person exploring ``/api/v1`` in a browser.

DRF's template styles a few elements with ``style`` attributes and inlines the code
highlighting's stylesheet, which the site's Content-Security-Policy (``style-src 'self'``)
blocks. These pages alone allow inline styles; scripts stay as strict as everywhere else
(docs/architecture.md, "Hostile input and access")."""

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import BrowsableAPIRenderer

INLINE_STYLES = {"style-src": ["'unsafe-inline'"]}


class StyledBrowsableAPIRenderer(BrowsableAPIRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> Any:
        response = (renderer_context or {}).get("response")
        if response is not None:
            # Read by django-csp's middleware (what its csp_update decorator sets).
            response._csp_update = INLINE_STYLES
        return super().render(data, accepted_media_type, renderer_context)
