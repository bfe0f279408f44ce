from django.apps import AppConfig
from django.core import checks


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = "Demo data"

    def ready(self) -> None:
        from demo.checks import demo_login

        checks.register(demo_login, checks.Tags.security, deploy=True)
