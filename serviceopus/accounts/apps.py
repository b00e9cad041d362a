from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "serviceopus.accounts"
    label = "accounts"
