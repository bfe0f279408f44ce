"""Statuspage's manage API v1 at ``/v1/``: existing Statuspage scripts and clients point
their base URL here (see docs/architecture.md, "The manage API")."""
