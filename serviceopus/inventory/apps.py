from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "serviceopus.inventory"
    label = "inventory"
    verbose_name = "Inventory and purchasing"

    def ready(self) -> None:
        # The jobs and dispatch apps know nothing of inventory: it plugs into their hooks here.
        from . import hooks

        hooks.install()
