from django.apps import AppConfig


class StatusportalConfig(AppConfig):
    name = "statusportal"
    verbose_name = "Statusportal"
