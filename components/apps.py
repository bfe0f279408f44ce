from django.apps import AppConfig


class ComponentsConfig(AppConfig):
    name = "components"
    verbose_name = "Components"

    def ready(self) -> None:
        from components.models import Component, ComponentGroup
        from statusportal import revision

        # The status page shows them: a write changes the page's revision.
        revision.track(Component, ComponentGroup)
