from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "serviceopus.core"
    label = "core"
