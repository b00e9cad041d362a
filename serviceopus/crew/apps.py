from django.apps import AppConfig


class CrewConfig(AppConfig):
    name = "serviceopus.crew"
    label = "crew"
