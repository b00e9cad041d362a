from django.contrib import admin

from .models import Occurrence, RecurringPlan


@admin.register(RecurringPlan)
class RecurringPlanAdmin(admin.ModelAdmin):
    """Read-mostly: plans are set up and changed on their own pages, where the rule is validated."""

    list_display = ("reference", "name", "kind", "customer", "status", "rrule", "start_date", "end_date")
    list_filter = ("kind", "status")
    search_fields = ("reference", "name", "customer__name")
    raw_id_fields = ("customer", "locations", "assets", "created_by")
    readonly_fields = ("reference", "kind", "rrule", "created_by", "created_at", "updated_at", "version")


@admin.register(Occurrence)
class OccurrenceAdmin(admin.ModelAdmin):
    list_display = ("plan", "location", "occurrence_date", "status", "moved_to", "job")
    list_filter = ("status",)
    raw_id_fields = ("plan", "location", "job")

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def, override]
        return False  # occurrences come from generation, skip and move only
