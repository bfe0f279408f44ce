"""Signal receivers: when an incident or a maintenance closes, monitoring takes its
components back (docs/architecture.md, "Driven by monitoring")."""

from typing import Any

from components.models import ChangeSource, Origin
from incidents.models import Incident, IncidentUpdate
from monitoring import services
from monitoring.models import Alert


def on_update_posted(*, update: IncidentUpdate, incident: Incident, **kwargs: Any) -> None:
    """A closing update returned its components through the resolve rule, which knows
    nothing of alerts: a component that monitoring still wants elsewhere (an alert still
    firing, a heartbeat still failing) goes there now, rather than at the next change.
    Runs inside the update's transaction."""
    if update.status not in Incident.CLOSED_STATUSES:
        return
    for component in incident.components.order_by("pk"):
        wanted = services.wanted_status(component)
        if wanted is None or component.status == wanted:
            continue
        firing = Alert.objects.filter(components=component, firing=True).exists()
        origin = Origin(
            ChangeSource.ALERTMANAGER if firing else ChangeSource.HEARTBEAT,
            actor="automation",
            detail={"after_closing": incident.code},
        )
        services.apply(component, origin)
