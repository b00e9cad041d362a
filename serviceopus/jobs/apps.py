from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "serviceopus.jobs"
    label = "jobs"

    def ready(self) -> None:
        # Dependencies plug into dispatch's guards and fill the workspace's Dependencies tab; dispatch
        # knows nothing of them. Both registrations ignore a second call (apps reloaded in tests).
        from . import dependencies
        from .views.dependencies import dependencies_tab
        from .views.workspace import register_tab

        dependencies.install()
        register_tab("dependencies", dependencies_tab)
