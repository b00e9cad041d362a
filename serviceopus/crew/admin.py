"""Technicians and skills are rare configuration, kept in the admin. Adding a skill and adding or
changing a technician go through crew.actions (the same checks as the API); weekly shifts are plain rows."""

from django.contrib import admin
from django.http import HttpRequest

from .actions import skill_create, technician_create, technician_update
from .models import Skill, Technician, TimeOff, WeeklyShift


def _may_configure(request: HttpRequest) -> bool:
    return request.user.has_perm("crew.edit_technicians")


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and _may_configure(request)

    def has_change_permission(self, request: HttpRequest, obj: Skill | None = None) -> bool:
        return super().has_change_permission(request, obj) and _may_configure(request)

    def save_model(self, request: HttpRequest, obj: Skill, form, change: bool) -> None:  # type: ignore[no-untyped-def]
        if change:
            super().save_model(request, obj, form, change)  # a rename: no action exists, nothing depends on the text
            return
        created = skill_create(actor=request.user, name=form.cleaned_data["name"])
        obj.pk = created.pk
        obj._state.adding = False


class WeeklyShiftInline(admin.TabularInline):
    model = WeeklyShift
    extra = 0
    fields = ("weekday", "start", "end")


class TimeOffInline(admin.TabularInline):
    model = TimeOff
    extra = 0
    fields = ("start", "end", "reason")


@admin.register(Technician)
class TechnicianAdmin(admin.ModelAdmin):
    list_display = ("name", "skill_list", "hourly_cost_cents", "active")
    list_filter = ("active", "skills")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__first_name", "user__last_name")
    autocomplete_fields = ("user",)
    filter_horizontal = ("skills",)
    inlines = (WeeklyShiftInline, TimeOffInline)
    fieldsets = (
        (None, {"fields": ("user", "skills", "active")}),
        ("Home base (where the day starts and ends)", {"fields": (("home_lat", "home_lng"),)}),
        ("Cost and display", {"fields": ("hourly_cost_cents", "color")}),
    )

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        return super().get_queryset(request).prefetch_related("skills")

    def get_readonly_fields(self, request: HttpRequest, obj: Technician | None = None) -> tuple[str, ...]:
        return ("user",) if obj is not None else ()

    @admin.display(description="Skills")
    def skill_list(self, obj: Technician) -> str:
        return ", ".join(s.name for s in obj.skills.all())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and _may_configure(request)

    def has_change_permission(self, request: HttpRequest, obj: Technician | None = None) -> bool:
        return super().has_change_permission(request, obj) and _may_configure(request)

    def save_model(self, request: HttpRequest, obj: Technician, form, change: bool) -> None:  # type: ignore[no-untyped-def]
        data = form.cleaned_data
        fields = {"home_lat": data["home_lat"], "home_lng": data["home_lng"], "hourly_cost_cents": data["hourly_cost_cents"], "color": data["color"]}
        skill_ids = [s.pk for s in data["skills"]]
        if change:
            technician_update(actor=request.user, technician_id=obj.pk, changes={**fields, "skill_ids": skill_ids, "active": data["active"]})
            return
        tech = technician_create(actor=request.user, user_id=data["user"].pk, skill_ids=skill_ids, **fields)
        if not data["active"]:
            technician_update(actor=request.user, technician_id=tech.pk, changes={"active": False})
        # The inline shifts are saved next, against this row.
        obj.pk = tech.pk
        obj._state.adding = False

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:  # type: ignore[no-untyped-def]
        # Skills were set by the action; only the shift rows are left to save.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
