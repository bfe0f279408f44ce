from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        # The heartbeat check runs from beat (CELERY_BEAT_SCHEDULE); importing the tasks
        # registers them in every process. When an incident or maintenance closes, the
        # automation takes its components back (docs/architecture.md, "Driven by
        # monitoring").
        from incidents.signals import update_posted
        from monitoring import receivers, tasks  # noqa: F401 (tasks: registers them)

        update_posted.connect(receivers.on_update_posted, dispatch_uid="monitoring.update")
