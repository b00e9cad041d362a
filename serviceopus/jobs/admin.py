"""Configuration a business sets before it starts (job types, tags) lives in the admin. Jobs and their
timeline are only looked at here: every change to a job goes through jobs.actions (status machine,
versions, timeline events, search index), which the admin would skip."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from .models import REQUIRABLE_FIELDS, Job, JobEvent, JobType, LineItem, Note, Tag


def _may_configure(request: HttpRequest) -> bool:
    return request.user.has_perm("jobs.configure")


class ViewOnlyMixin:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# ---- job types ----------------------------------------------------------------------------------------


class JobTypeForm(forms.ModelForm):
    """required_fields is a JSON list in the database; here it is a set of checkboxes over the fields a
    job type may require, so a typo cannot store a requirement nothing enforces."""

    required_fields = forms.MultipleChoiceField(
        choices=list(REQUIRABLE_FIELDS.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="A job of this type cannot be saved until these are filled in.",
    )

    class Meta:
        model = JobType
        fields = (
            "name",
            "active",
            "default_duration_minutes",
            "default_priority",
            "default_billing_type",
            "required_skills",
            "required_fields",
            "color",
        )
        widgets = {"color": forms.TextInput(attrs={"type": "color"})}
        labels = {"default_duration_minutes": "Default duration (minutes)", "color": "Colour on the board"}
        help_texts = {
            "default_duration_minutes": "The estimated duration a new job starts with (5 minutes to 14 days).",
            "required_skills": "Only technicians with every one of these skills are suggested for the job.",
            "default_billing_type": "How new jobs of this type are billed unless changed on the job.",
            "active": "Inactive types stay on existing jobs but cannot be chosen for new ones.",
        }

    def clean_required_fields(self) -> list[str]:
        chosen = set(self.cleaned_data["required_fields"])
        return [name for name in REQUIRABLE_FIELDS if name in chosen]  # a stable order

    def clean_color(self) -> str:
        color = self.cleaned_data["color"]
        if len(color) != 7 or color[0] != "#" or any(c not in "0123456789abcdefABCDEF" for c in color[1:]):
            raise forms.ValidationError("Use a colour like #1d4ed8.")
        return color.lower()


@admin.register(JobType)
class JobTypeAdmin(admin.ModelAdmin):
    form = JobTypeForm
    list_display = ("swatch", "name", "default_duration_minutes", "default_priority", "default_billing_type", "skill_list", "requires", "active")
    list_display_links = ("name",)
    list_filter = ("active", "default_billing_type", "required_skills")
    search_fields = ("name",)
    filter_horizontal = ("required_skills",)
    fieldsets = (
        (None, {"fields": ("name", "active", "color")}),
        ("Defaults for new jobs", {"fields": ("default_duration_minutes", "default_priority", "default_billing_type")}),
        ("Requirements", {"fields": ("required_skills", "required_fields")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[JobType]:
        return super().get_queryset(request).prefetch_related("required_skills")

    @admin.display(description="")
    def swatch(self, obj: JobType) -> str:
        return format_html('<span style="display:inline-block;width:14px;height:14px;border-radius:3px;background:{}"></span>', obj.color)

    @admin.display(description="Required skills")
    def skill_list(self, obj: JobType) -> str:
        return ", ".join(s.name for s in obj.required_skills.all()) or "—"

    @admin.display(description="Required fields")
    def requires(self, obj: JobType) -> str:
        return ", ".join(REQUIRABLE_FIELDS.get(name, name) for name in obj.required_fields) or "—"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and _may_configure(request)

    def has_change_permission(self, request: HttpRequest, obj: JobType | None = None) -> bool:
        return super().has_change_permission(request, obj) and _may_configure(request)

    def has_delete_permission(self, request: HttpRequest, obj: JobType | None = None) -> bool:
        # Jobs keep their type (PROTECT); retire a type by unticking "active" instead.
        return super().has_delete_permission(request, obj) and _may_configure(request)


# ---- tags ---------------------------------------------------------------------------------------------


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "job_count")
    search_fields = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        return super().get_queryset(request).annotate(n_jobs=Count("jobs"))

    @admin.display(description="Jobs", ordering="n_jobs")
    def job_count(self, obj: Tag) -> int:
        return obj.n_jobs  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and _may_configure(request)

    def has_change_permission(self, request: HttpRequest, obj: Tag | None = None) -> bool:
        return super().has_change_permission(request, obj) and _may_configure(request)


# ---- jobs (view only) ---------------------------------------------------------------------------------


class LineItemInline(ViewOnlyMixin, admin.TabularInline):
    model = LineItem
    fields = ("kind", "description", "quantity", "unit_price_cents", "unit_cost_cents", "taxable")
    extra = 0


class NoteInline(ViewOnlyMixin, admin.TabularInline):
    model = Note
    fields = ("created_at", "author", "body")
    extra = 0


class JobEventInline(ViewOnlyMixin, admin.TabularInline):
    model = JobEvent
    fields = ("created_at", "actor", "kind", "old_value", "new_value", "message")
    extra = 0
    ordering = ("-created_at", "-id")


@admin.register(Job)
class JobAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ("number", "customer", "status", "priority", "job_type", "billing_type", "next_visit_at", "created_at")
    list_filter = ("status", "priority", "job_type", "billing_type", "source")
    list_select_related = ("customer", "job_type")
    # Exact number or a name prefix: both read an index, a '%…%' scan over a million jobs would not.
    search_fields = ("=number", "^customer__name")
    show_full_result_count = False
    list_per_page = 50
    inlines = (LineItemInline, NoteInline, JobEventInline)
    readonly_fields = ("asset_list", "skill_list", "tag_list", "technician_list")
    fieldsets = (
        (None, {"fields": ("number", "status", "hold_reason", "hold_note", "version")}),
        ("Customer", {"fields": ("customer", "location", "contact", "asset_list")}),
        ("Work", {"fields": ("job_type", "scope", "priority", "estimated_duration_minutes", "skill_list", "tag_list", "technician_list")}),
        ("Source and billing", {"fields": ("source", "source_reference", "billing_type", "not_to_exceed_cents")}),
        ("Dates", {"fields": ("next_visit_at", "created_by", "created_at", "updated_at", "completed_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        return super().get_queryset(request).select_related("customer", "location", "contact", "job_type", "created_by")

    @admin.display(description="Assets")
    def asset_list(self, obj: Job) -> str:
        return ", ".join(str(a) for a in obj.assets.all()) or "—"

    @admin.display(description="Required skills")
    def skill_list(self, obj: Job) -> str:
        return ", ".join(s.name for s in obj.required_skills.all()) or "—"

    @admin.display(description="Tags")
    def tag_list(self, obj: Job) -> str:
        return format_html_join(" ", "<code>{}</code>", ((t.name,) for t in obj.tags.all())) or "—"

    @admin.display(description="Technicians")
    def technician_list(self, obj: Job) -> str:
        return ", ".join(t.name for t in obj.technicians.select_related("user")) or "—"


@admin.register(JobEvent)
class JobEventAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "job", "kind", "actor", "old_value", "new_value", "message")
    list_filter = ("kind",)
    list_select_related = ("job", "actor")
    search_fields = ("=job__number",)
    show_full_result_count = False
    list_per_page = 100
    fields = ("job", "created_at", "actor", "kind", "old_value", "new_value", "message", "data")
