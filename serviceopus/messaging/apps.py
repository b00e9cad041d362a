from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "serviceopus.messaging"
    label = "messaging"
    verbose_name = "Customer messaging"

    def ready(self) -> None:
        # dispatch, jobs and billing know nothing of messaging: it plugs into their hooks here.
        from . import hooks

        hooks.install()
