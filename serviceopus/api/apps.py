from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "serviceopus.api"
    label = "api"
