from django.apps import AppConfig


class FieldConfig(AppConfig):
    name = "serviceopus.field"
    label = "field"
