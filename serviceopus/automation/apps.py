from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "serviceopus.automation"
    label = "automation"
    verbose_name = "Automation, agreements and recurring jobs"

    def ready(self) -> None:
        from . import hooks

        hooks.install()
