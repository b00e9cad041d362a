from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "serviceopus.jobs"
    label = "jobs"
