from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "serviceopus.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        # jobs, dispatch and inventory know nothing of billing: it plugs into their hooks here.
        from . import hooks

        hooks.install()
