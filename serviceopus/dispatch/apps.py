from django.apps import AppConfig


class DispatchConfig(AppConfig):
    name = "serviceopus.dispatch"
    label = "dispatch"

    def ready(self) -> None:
        from serviceopus.jobs.views.workspace import register_tab

        from .tabs import crew_tab

        register_tab("crew", crew_tab)

        from .eta import install as install_eta

        install_eta()
