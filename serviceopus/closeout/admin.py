"""Closeout configuration a business sets before it starts: checklist templates with their items, and
the closeout requirements of each job type. The evidence itself (documents, signatures, incidents,
quality reviews) is only listed here: it is written through closeout.actions, which lock the job and
write its timeline, and files are served only by the pages that check access to the job.

Saving a template or any of its items bumps the template's version (actions.checklists
.checklist_template_touch), so runs already started keep the items they were started with."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from serviceopus.core.text import reject_nul
from serviceopus.jobs.admin import ViewOnlyMixin

from .actions.checklists import checklist_template_touch
from .models import (
    ChecklistItem,
    ChecklistTemplate,
    CloseoutRequirement,
    Document,
    Incident,
    ItemKind,
    QualityReview,
    RequirementKind,
    Signature,
)

MAX_OPTION_LENGTH = 100

# ---- checklist templates ---------------------------------------------------------------------------


class ChecklistItemForm(forms.ModelForm):
    """`choices` is a JSON list in the database; here it is one option per line, so nobody has to
    type JSON. Each kind takes only its own settings."""

    choices = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 24}),
        required=False,
        validators=[reject_nul],
        help_text="Choice items: one option per line (at least two).",
    )

    class Meta:
        model = ChecklistItem
        fields = ("position", "label", "help_text", "kind", "required", "unit", "min_value", "max_value", "choices")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Also for a blank extra row: its model default ([]) would otherwise count as a change.
        self.initial["choices"] = "\n".join(self.instance.choices or [])

    def clean_choices(self) -> list[str]:
        options: list[str] = []
        for line in self.cleaned_data.get("choices", "").splitlines():
            option = line.strip()
            if option and option not in options:
                options.append(option)
        if any(len(option) > MAX_OPTION_LENGTH for option in options):
            raise forms.ValidationError(f"Keep each option to {MAX_OPTION_LENGTH} characters.")
        return options

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("kind")
        low: Decimal | None = data.get("min_value")
        high: Decimal | None = data.get("max_value")
        options = data.get("choices") or []
        if kind == ItemKind.NUMBER:
            if low is not None and high is not None and low > high:
                self.add_error("max_value", "The highest value must not be below the lowest.")
        elif low is not None or high is not None:
            self.add_error("min_value" if low is not None else "max_value", "Only number items have a range.")
        if kind == ItemKind.CHOICE:
            if len(options) < 2:
                self.add_error("choices", "A choice item needs at least two options, one per line.")
        elif options:
            self.add_error("choices", "Only choice items have options.")
        if kind == ItemKind.PHOTO and data.get("unit"):
            self.add_error("unit", "A photo item has no unit.")
        return data


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    form = ChecklistItemForm
    extra = 1
    ordering = ("position", "id")


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "job_type_list", "item_count", "version", "active", "updated_at")
    list_filter = ("active", "job_types")
    search_fields = ("name",)
    filter_horizontal = ("job_types",)
    fields = ("name", "description", "job_types", "active", "version", "updated_at")
    readonly_fields = ("version", "updated_at")
    inlines = (ChecklistItemInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChecklistTemplate]:
        return super().get_queryset(request).annotate(n_items=Count("items")).prefetch_related("job_types")

    @admin.display(description="Job types")
    def job_type_list(self, obj: ChecklistTemplate) -> str:
        return ", ".join(t.name for t in obj.job_types.all()) or "— (added to jobs one by one)"

    @admin.display(description="Items", ordering="n_items")
    def item_count(self, obj: ChecklistTemplate) -> int:
        return obj.n_items  # type: ignore[attr-defined]

    def save_model(self, request: HttpRequest, obj: ChecklistTemplate, form: forms.ModelForm, change: bool) -> None:
        if change:
            # Never write back the version read when the page opened: an edit saved meanwhile has
            # bumped it, and the bump below must count on top of that one.
            obj.save(update_fields=[f.name for f in obj._meta.concrete_fields if not f.primary_key and f.name != "version"])
        else:
            obj.save()

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if change and (form.has_changed() or any(formset.has_changed() for formset in formsets)):
            checklist_template_touch(form.instance)


# ---- closeout requirements per job type --------------------------------------------------------------


class CloseoutRequirementForm(forms.ModelForm):
    class Meta:
        model = CloseoutRequirement
        fields = ("job_type", "kind", "photo_tag", "min_count")
        help_texts = {"photo_tag": "Photos only: the tag the photos must carry.", "min_count": "Photos only: how many are needed."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["job_type"].required = True  # requirements of one job are added on the job

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kind") == RequirementKind.PHOTOS:
            if not data.get("photo_tag"):
                self.add_error("photo_tag", "Choose the tag the photos must carry.")
        else:
            if data.get("photo_tag"):
                self.add_error("photo_tag", "Only a photo requirement has a tag.")
            data["min_count"] = 1
        return data


@admin.register(CloseoutRequirement)
class CloseoutRequirementAdmin(admin.ModelAdmin):
    form = CloseoutRequirementForm
    list_display = ("job_type", "kind", "photo_tag", "min_count", "created_at")
    list_filter = ("job_type", "kind")
    list_select_related = ("job_type",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[CloseoutRequirement]:
        return super().get_queryset(request).filter(job_type__isnull=False)

    def save_model(self, request: HttpRequest, obj: CloseoutRequirement, form: forms.ModelForm, change: bool) -> None:
        if not change:
            obj.added_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


# ---- evidence (listed, not edited) ---------------------------------------------------------------------


class EvidenceAdmin(ViewOnlyMixin, admin.ModelAdmin):
    search_fields = ("=job__number",)
    show_full_result_count = False
    list_per_page = 50


@admin.register(Document)
class DocumentAdmin(EvidenceAdmin):
    list_display = ("uploaded_at", "job", "kind", "tag", "caption", "original_name", "size", "uploaded_by", "customer_visible")
    list_filter = ("kind", "tag", "customer_visible")
    list_select_related = ("job", "uploaded_by")
    # No file links: files are served only by the job's pages, after their access check.
    exclude = ("file", "thumbnail")


@admin.register(Signature)
class SignatureAdmin(EvidenceAdmin):
    list_display = ("signed_at", "job", "signer_name", "role", "captured_by")
    list_filter = ("role",)
    list_select_related = ("job", "captured_by")
    exclude = ("image",)


@admin.register(Incident)
class IncidentAdmin(EvidenceAdmin):
    list_display = ("reported_at", "job", "kind", "severity", "status", "owner", "reported_by")
    list_filter = ("status", "kind", "severity")
    list_select_related = ("job", "owner", "reported_by")


@admin.register(QualityReview)
class QualityReviewAdmin(EvidenceAdmin):
    list_display = ("reviewed_at", "job", "passed", "follow_up", "reviewer")
    list_filter = ("passed", "follow_up")
    list_select_related = ("job", "reviewer")
