from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents and maintenance"

    def ready(self) -> None:
        from incidents.models import Incident, IncidentUpdate, Postmortem
        from statusportal import revision

        # The public pages show them: a write changes the pages' revision.
        revision.track(Incident, IncidentUpdate, Postmortem)
        revision.track_m2m(Incident.components.through)
