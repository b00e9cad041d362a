from django.apps import AppConfig


class FieldConfig(AppConfig):
    name = "serviceopus.field"
    label = "field"

    def ready(self) -> None:
        from serviceopus.jobs.views.workspace import register_tab

        from .tabs import time_tab

        register_tab("time", time_tab)
