from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "serviceopus.customers"
    label = "customers"
