from django.contrib import admin
from django.http import HttpRequest

from .models import Sequence


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin):
    """Shown for reference only: changing a counter by hand would hand out duplicate numbers."""

    list_display = ("name", "value")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Sequence | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Sequence | None = None) -> bool:
        return False
