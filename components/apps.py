from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ComponentsConfig(AppConfig):
    name = "components"
    verbose_name = "Components"

    def ready(self) -> None:
        from components.models import Component, ComponentGroup
        from components.uptime import rebuild_stale_rollups
        from statusportal import revision

        # The status page shows them: a write changes the page's revision.
        revision.track(Component, ComponentGroup)
        # A deploy that adds the uptime roll-up or changes the page's time zone rolls up
        # again as it migrates (docs/architecture.md, "Uptime from daily roll-ups").
        post_migrate.connect(rebuild_stale_rollups, sender=self, dispatch_uid="uptime_rollups")
