"""Forms of the job pages. They parse and validate input only; every write goes through actions.py,
whose InvalidInput errors are mapped back onto the fields with `apply_domain_errors`."""

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from serviceopus.core.errors import InvalidInput
from serviceopus.core.money import from_cents, to_cents
from serviceopus.crew.models import Skill
from serviceopus.customers.models import Asset, Contact, Location

from .actions import MAX_CENTS
from .models import BillingType, Job, JobType, LineItem, PartsReadiness, Priority, Source
from .queries import SORTS, JobFilters
from .status import HoldReason, JobStatus

MAX_TAGS = 20
MAX_BULK = 200
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"

# Action field names → form field names, where they differ.
ACTION_FIELDS = {"not_to_exceed_cents": "not_to_exceed", "unit_price_cents": "unit_price", "unit_cost_cents": "unit_cost", "body": "body"}


def apply_domain_errors(form: forms.Form, error: InvalidInput) -> None:
    """Put an action's field errors next to the matching fields; the rest above the form."""
    if not error.fields:
        form.add_error(None, error.message)
    for name, message in error.fields.items():
        target = ACTION_FIELDS.get(name, name)
        form.add_error(target if target in form.fields else None, message)


def parse_dollars(raw: str, *, allow_negative: bool = False) -> int:
    """ "1,250.50", "$89", "-15.00" → cents. At most two decimal places; never a float."""
    text = raw.strip().replace(",", "").replace("$", "").replace(" ", "")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationError("Enter an amount in dollars, like 125.50.", code="invalid") from exc
    if not value.is_finite():
        raise ValidationError("Enter an amount in dollars, like 125.50.", code="invalid")
    if abs(value) > Decimal(MAX_CENTS) / 100:
        raise ValidationError("That amount is too large.", code="too_large")
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError("At most two decimal places (cents).", code="precision")
    if value < 0 and not allow_negative:
        raise ValidationError("The amount cannot be negative.", code="negative")
    return to_cents(value)


def dollars(cents: int | None) -> str:
    return "" if cents is None else f"{from_cents(cents):f}"


class Form(forms.Form):
    """Labels without a trailing colon, like every other label on the job pages."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class DollarField(forms.CharField):
    """A dollar amount typed by a person, cleaned to integer cents (None when left blank)."""

    def __init__(self, *, allow_negative: bool = False, **kwargs: Any) -> None:
        self.allow_negative = allow_negative
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0.00", "autocomplete": "off"}))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> int | None:  # type: ignore[override]
        text = super().clean(value)
        if not text:
            return None
        return parse_dollars(text, allow_negative=self.allow_negative)


# ---- list and board filters ------------------------------------------------------------------------


class JobFilterForm(Form):
    """The GET parameters shared by the list and the board. Invalid values are reported and ignored;
    choices come from lists the page loads anyway, so validating costs no query."""

    q = forms.CharField(required=False, max_length=200, label="Search")
    status = forms.MultipleChoiceField(required=False, choices=JobStatus.choices, widget=forms.CheckboxSelectMultiple)
    priority = forms.TypedMultipleChoiceField(required=False, coerce=int, choices=Priority.choices, widget=forms.CheckboxSelectMultiple)
    job_type = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Job type")
    technician = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    tag = forms.CharField(required=False, max_length=50)
    date_from = forms.DateField(required=False, label="Next visit from", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="to", widget=forms.DateInput(attrs={"type": "date"}))
    parts = forms.ChoiceField(required=False, label="Parts", choices=[("", "Any parts status"), *((v, label) for v, label in PartsReadiness.choices if v)])
    sort = forms.ChoiceField(required=False, choices=[(key, label) for key, (label, _) in SORTS.items()])

    def __init__(self, data: Any, *, choices: dict[str, list], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["job_type"].choices = [("", "Any type"), *((t.pk, t.name) for t in choices["job_types"])]
        self.fields["technician"].choices = [("", "Anyone"), *((t.pk, t.name) for t in choices["technicians"])]
        self.tag_names = [t.name for t in choices["tags"]]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if isinstance(start, date) and isinstance(end, date) and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def to_filters(self) -> JobFilters:
        """The filters from the valid parameters (validates if needed; invalid ones are dropped)."""
        self.is_valid()
        c = self.cleaned_data
        return JobFilters(
            q=c.get("q") or "",
            statuses=list(c.get("status") or []),
            priorities=list(c.get("priority") or []),
            job_type_id=c.get("job_type"),
            technician_id=c.get("technician"),
            tag=(c.get("tag") or "").strip(),
            date_from=c.get("date_from"),
            date_to=c.get("date_to"),
            parts=c.get("parts") or "",
            sort=c.get("sort") or "newest",
        )

    def active_count(self) -> int:
        f = self.to_filters()
        return sum(bool(v) for v in (f.statuses, f.priorities, f.job_type_id, f.technician_id, f.tag, f.date_from or f.date_to, f.parts))


# ---- status changes ----------------------------------------------------------------------------------


class TransitionForm(Form):
    """One status change. `to` may carry the hold reason as "on_hold:parts" (the board's Move select)."""

    to = forms.CharField(max_length=40)
    hold_reason = forms.ChoiceField(required=False, choices=[("", "—"), *HoldReason.choices])
    note = forms.CharField(required=False, max_length=500)
    # The status the user saw: a move from a stale board is refused instead of applied to another state.
    expected = forms.ChoiceField(required=False, choices=[("", ""), *JobStatus.choices])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        to = cleaned.get("to") or ""
        if ":" in to:
            to, reason = to.split(":", 1)
            if reason not in HoldReason.values:
                self.add_error("to", "Unknown hold reason.")
            cleaned["hold_reason"] = reason
        if to and to not in JobStatus.values:
            self.add_error("to", "Unknown status.")
        cleaned["to"] = to
        if to == JobStatus.ON_HOLD and not cleaned.get("hold_reason"):
            self.add_error("hold_reason", "Say why the job is on hold.")
        return cleaned


class BulkTransitionForm(Form):
    to = forms.ChoiceField(choices=[("", "Choose a status…"), *JobStatus.choices], label="Move selected to")
    hold_reason = forms.ChoiceField(required=False, choices=[("", "Hold reason…"), *HoldReason.choices])

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.job_ids: list[int] = []
        if data is not None:
            for raw in data.getlist("job")[: MAX_BULK + 1]:
                if raw.isdigit() and len(raw) < 19:
                    self.job_ids.append(int(raw))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.job_ids:
            raise ValidationError("Select at least one job.")
        if len(self.job_ids) > MAX_BULK:
            raise ValidationError(f"Select at most {MAX_BULK} jobs at a time.")
        if cleaned.get("to") == JobStatus.ON_HOLD and not cleaned.get("hold_reason"):
            self.add_error("hold_reason", "Say why the jobs are on hold.")
        return cleaned


# ---- create and edit ------------------------------------------------------------------------------


def _plain_id(value: Any) -> bool:
    text = str(value)
    return text.isdigit() and len(text) < 19


class IdChoiceField(forms.ModelChoiceField):
    """A model choice whose submitted id must look like one: an out-of-range number is an invalid
    choice, not an OverflowError from the database driver."""

    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values and not _plain_id(value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class IdMultipleChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value: Any) -> Any:
        for pk in value:
            if not _plain_id(pk):
                raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice", params={"value": pk})
        return super()._check_values(value)


class JobTypeChoiceField(IdChoiceField):
    def label_from_instance(self, obj: JobType) -> str:  # type: ignore[override]
        hours, minutes = divmod(obj.default_duration_minutes, 60)
        length = f"{hours} h {minutes:02d}" if hours and minutes else (f"{hours} h" if hours else f"{minutes} min")
        return f"{obj.name} — {length}, {obj.get_default_priority_display()}, {obj.get_default_billing_type_display()}"


class AssetChoiceField(IdMultipleChoiceField):
    def label_from_instance(self, obj: Asset) -> str:  # type: ignore[override]
        return f"{obj} · {obj.serial}" if obj.serial else str(obj)


class LocationChoiceField(IdChoiceField):
    def label_from_instance(self, obj: Location) -> str:  # type: ignore[override]
        return f"{obj.label}: {obj.one_line}" if obj.label else obj.one_line


def _int_or_none(raw: Any) -> int | None:
    text = str(raw or "").strip()
    return int(text) if text.isdigit() and len(text) < 19 else None


class JobForm(Form):
    """Create (job=None) or edit a job. Blank priority, duration, billing type and skills on create take
    the job type's defaults. The location/contact/asset choices narrow to the chosen customer."""

    source = forms.ChoiceField(choices=Source.choices, initial=Source.DIRECT)
    source_reference = forms.CharField(required=False, max_length=100, help_text="Quote, booking or lead number, if any.")
    # Rendered by the template as a searchable select (the list of customers can be long).
    customer = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1, error_messages={"required": "Choose a customer."})
    location = LocationChoiceField(queryset=Location.objects.none(), label="Service address", empty_label="Choose an address…")
    contact = IdChoiceField(queryset=Contact.objects.none(), required=False, empty_label="No contact")
    assets = AssetChoiceField(queryset=Asset.objects.none(), required=False, widget=forms.CheckboxSelectMultiple, label="Equipment")
    job_type = JobTypeChoiceField(queryset=JobType.objects.filter(active=True), empty_label="Choose a job type…")
    scope = forms.CharField(max_length=10000, widget=forms.Textarea(attrs={"rows": 4}), help_text="What the customer needs done, in plain words.")
    priority = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, choices=[("", "From job type"), *Priority.choices])
    estimated_duration_minutes = forms.IntegerField(
        required=False,
        min_value=5,
        max_value=60 * 24 * 14,
        label="Estimated duration (minutes)",
        widget=forms.NumberInput(attrs={"placeholder": "From job type"}),
    )
    billing_type = forms.TypedChoiceField(required=False, empty_value=None, choices=[("", "From job type"), *BillingType.choices])
    not_to_exceed = DollarField(required=False, label="Not-to-exceed amount ($)", help_text="Required for not-to-exceed billing.")
    required_skills = IdMultipleChoiceField(
        queryset=Skill.objects.all(), required=False, widget=forms.CheckboxSelectMultiple, help_text="Leave empty to use the job type's skills."
    )
    tags = forms.CharField(required=False, max_length=500, help_text="Separate with commas, e.g. vip, warranty.")
    next_visit_at = forms.DateTimeField(
        required=False, label="Preferred visit time", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL)
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0, max_value=2**31 - 1)

    def __init__(self, data: Any = None, *, job: Job | None = None, customer_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.job = job
        if job is not None:
            # A job keeps its customer and source; the type's defaults no longer apply.
            for name in ("source", "customer"):
                del self.fields[name]
            self.fields["version"].required = True
            self.fields["priority"].choices = Priority.choices
            self.fields["priority"].required = True
            self.fields["billing_type"].choices = BillingType.choices
            self.fields["billing_type"].required = True
            self.fields["estimated_duration_minutes"].required = True
            self.fields["required_skills"].help_text = ""
            customer_id = job.customer_id
        elif data is not None:
            customer_id = _int_or_none(data.get("customer"))
        self.customer_id = customer_id
        # Choosing another address reloads the equipment at that address (jobs:customer_fields).
        self.fields["location"].widget.attrs.update(
            {
                "hx-get": reverse("jobs:customer_fields"),
                "hx-trigger": "change",
                "hx-target": "#customer-fields",
                "hx-swap": "outerHTML",
                "hx-include": "#customer-fields, #id_customer_q",
            }
        )
        location_id = _int_or_none(data.get("location")) if data is not None else _int_or_none(self.initial.get("location"))
        self.narrow(customer_id, location_id)
        self.version_value = self["version"].value()

    def narrow(self, customer_id: int | None, location_id: int | None) -> None:
        """Offer only this customer's addresses and contacts, and the equipment at the chosen address."""
        if customer_id is None:
            return
        self.fields["location"].queryset = Location.objects.filter(customer_id=customer_id).order_by("id")
        self.fields["contact"].queryset = Contact.objects.filter(customer_id=customer_id)
        if location_id is not None:
            self.fields["assets"].queryset = Asset.objects.filter(location_id=location_id, location__customer_id=customer_id)

    @staticmethod
    def initial_for(job: Job, details: dict[str, Any]) -> dict[str, Any]:
        return {
            "location": job.location_id,
            "contact": job.contact_id,
            "assets": [a.pk for a in details["assets"]],
            "job_type": job.job_type_id,
            "scope": job.scope,
            "source_reference": job.source_reference,
            "priority": job.priority,
            "estimated_duration_minutes": job.estimated_duration_minutes,
            "billing_type": job.billing_type,
            "not_to_exceed": dollars(job.not_to_exceed_cents),
            "required_skills": [s.pk for s in details["required_skills"]],
            "tags": ", ".join(t.name for t in details["tags"]),
            "next_visit_at": job.next_visit_at,
            "version": job.version,
        }

    def clean_tags(self) -> list[str]:
        names = [n.strip() for n in self.cleaned_data.get("tags", "").split(",") if n.strip()]
        if any(len(n) > 50 for n in names):
            raise ValidationError("Each tag is at most 50 characters.")
        if len(set(names)) > MAX_TAGS:
            raise ValidationError(f"At most {MAX_TAGS} tags.")
        return names

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("billing_type") == BillingType.NOT_TO_EXCEED and not cleaned.get("not_to_exceed") and "not_to_exceed" not in self.errors:
            self.add_error("not_to_exceed", "A not-to-exceed job needs its limit.")
        return cleaned

    def create_kwargs(self) -> dict[str, Any]:
        c = self.cleaned_data
        skills = [s.pk for s in c["required_skills"]]
        return {
            "customer_id": c["customer"],
            "location_id": c["location"].pk,
            "job_type_id": c["job_type"].pk,
            "scope": c["scope"],
            "source": c["source"],
            "source_reference": c["source_reference"],
            "contact_id": c["contact"].pk if c["contact"] else None,
            "asset_ids": [a.pk for a in c["assets"]],
            "priority": c["priority"],
            "estimated_duration_minutes": c["estimated_duration_minutes"],
            "required_skill_ids": skills or None,
            "billing_type": c["billing_type"] or None,
            "not_to_exceed_cents": c["not_to_exceed"],
            "tags": c["tags"],
            "next_visit_at": c["next_visit_at"],
        }

    def changes(self) -> dict[str, Any]:
        c = self.cleaned_data
        return {
            "location": c["location"],
            "contact": c["contact"],
            "assets": list(c["assets"]),
            "job_type": c["job_type"],
            "scope": c["scope"],
            "source_reference": c["source_reference"],
            "priority": c["priority"],
            "estimated_duration_minutes": c["estimated_duration_minutes"],
            "billing_type": c["billing_type"],
            "not_to_exceed_cents": c["not_to_exceed"],
            "required_skills": list(c["required_skills"]),
            "tags": c["tags"],
            "next_visit_at": c["next_visit_at"],
        }


# ---- line items and notes ------------------------------------------------------------------------------


class LineItemForm(Form):
    kind = forms.ChoiceField(choices=LineItem.Kind.choices, initial=LineItem.Kind.SERVICE)
    description = forms.CharField(max_length=300)
    quantity = forms.DecimalField(min_value=0, max_digits=12, decimal_places=3, initial=Decimal("1"), widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    unit_price = DollarField(allow_negative=True, label="Unit price ($)")
    unit_cost = DollarField(required=False, label="Unit cost ($)")
    taxable = forms.BooleanField(required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0, max_value=2**31 - 1)

    @staticmethod
    def initial_for(item: LineItem) -> dict[str, Any]:
        return {
            "kind": item.kind,
            "description": item.description,
            "quantity": f"{item.quantity.normalize():f}",
            "unit_price": dollars(item.unit_price_cents),
            "unit_cost": dollars(item.unit_cost_cents),
            "taxable": item.taxable,
            "version": item.version,
        }

    def action_kwargs(self) -> dict[str, Any]:
        c = self.cleaned_data
        return {
            "kind": c["kind"],
            "description": c["description"],
            "quantity": c["quantity"],
            "unit_price_cents": c["unit_price"],
            "unit_cost_cents": c["unit_cost"] or 0,
            "taxable": c["taxable"],
        }


class NoteForm(Form):
    body = forms.CharField(
        max_length=10000, label="Add a note", widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Internal note — never shown to the customer"})
    )
