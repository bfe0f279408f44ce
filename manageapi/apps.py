from django.apps import AppConfig


class ManageApiConfig(AppConfig):
    name = "manageapi"
    verbose_name = "Statuspage manage API"
