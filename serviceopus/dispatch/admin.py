"""Dispatch settings are company configuration (one row). Visits are read-only here: they change only
through the dispatch board, the job's Crew & schedule tab and the API, which run the checks."""

from django.contrib import admin
from django.http import HttpRequest

from .models import DispatchSettings, Visit


@admin.register(DispatchSettings)
class DispatchSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "arrival_window_minutes", "at_risk_minutes", "paused_alert_minutes", "day_start_hour", "day_end_hour")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not DispatchSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: DispatchSettings | None = None) -> bool:
        return False


@admin.register(Visit)
class VisitAdmin(admin.ModelAdmin):
    list_display = ("__str__", "status", "scheduled_start", "duration_minutes", "outcome")
    list_filter = ("status",)
    list_select_related = ("job",)
    search_fields = ("job__number",)
    raw_id_fields = ("job", "return_of", "created_by")
    show_full_result_count = False  # an exact count of a million visits costs a scan

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Visit | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Visit | None = None) -> bool:
        return False
