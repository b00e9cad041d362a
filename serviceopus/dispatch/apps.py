from django.apps import AppConfig


class DispatchConfig(AppConfig):
    name = "serviceopus.dispatch"
    label = "dispatch"
