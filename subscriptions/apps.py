from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions and notifications"

    def ready(self) -> None:
        # The incidents app announces posts, the components app status changes; we write
        # the outbox rows in their transaction.
        from components.signals import status_changed
        from incidents.admin_hooks import register_update_annotation
        from incidents.signals import postmortem_published, update_posted
        from statusportal import health, metrics
        from subscriptions import monitoring, receivers, tasks  # noqa: F401 (tasks: registers them)
        from subscriptions.admin_annotations import delivery_annotations

        update_posted.connect(receivers.on_update_posted, dispatch_uid="subscriptions.update")
        postmortem_published.connect(
            receivers.on_postmortem_published, dispatch_uid="subscriptions.postmortem"
        )
        status_changed.connect(receivers.on_status_changed, dispatch_uid="subscriptions.status")
        # The tasks are enqueued by name (subscriptions.enqueue); importing them here
        # registers them in every process, so that eager mode runs them inline too.
        # Delivery counts under each update on the incident admin page.
        register_update_annotation(delivery_annotations)
        # The outbox lag in /readyz and /metrics (the core imports no app).
        health.register_check("outbox", monitoring.readiness)
        metrics.register(monitoring.COLLECTOR)
