from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "serviceopus.portal"
    label = "portal"
    verbose_name = "Customer portal"
