"""Forms of the agreement pages. They shape input and give the browser its hints; the actions validate
the whole plan again (agreements.clean_plan) and their field errors come back onto these forms."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms

from serviceopus.core.errors import InvalidInput
from serviceopus.core.text import reject_nul
from serviceopus.customers.models import Asset, Location
from serviceopus.jobs.models import JobType, Priority

from .agreements import COVERABLE
from .models import PlanKind, PlanStatus, PricePeriod, RecurringPlan

MONEY_MAX = Decimal("100000000000")


def apply_errors(form: forms.Form, exc: InvalidInput) -> None:
    for name, message in exc.fields.items():
        target = {"not_to_exceed_cents": "not_to_exceed", "price_cents": "price"}.get(name, name)
        form.add_error(target if target in form.fields else None, message)
    if not exc.fields:
        form.add_error(None, exc.message)


def _cents(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return int((amount * 100).to_integral_value())


class MoneyField(forms.DecimalField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=14, decimal_places=2, min_value=Decimal("0"), max_value=MONEY_MAX, **kwargs)


class PlanForm(forms.Form):
    """An agreement or a recurring job, for one customer (chosen before the form opens)."""

    name = forms.CharField(max_length=200, validators=[reject_nul], help_text="e.g. Annual HVAC maintenance")
    status = forms.ChoiceField(choices=PlanStatus.choices, initial=PlanStatus.ACTIVE)
    locations = forms.ModelMultipleChoiceField(queryset=Location.objects.none(), widget=forms.CheckboxSelectMultiple, label="Addresses")
    assets = forms.ModelMultipleChoiceField(queryset=Asset.objects.none(), widget=forms.CheckboxSelectMultiple, required=False, label="Covered equipment")
    job_type = forms.ModelChoiceField(queryset=JobType.objects.filter(active=True).order_by("name"))
    scope = forms.CharField(max_length=10000, validators=[reject_nul], widget=forms.Textarea(attrs={"rows": 3}), help_text="What each visit does.")
    duration_minutes = forms.IntegerField(min_value=5, max_value=60 * 24 * 14, initial=60, label="Duration (minutes)")
    priority = forms.TypedChoiceField(choices=Priority.choices, coerce=int, initial=Priority.NORMAL)
    visit_time = forms.TimeField(initial="08:00", widget=forms.TimeInput(attrs={"type": "time"}), label="Preferred start")
    rrule = forms.CharField(
        max_length=500,
        label="Visit rule (RRULE)",
        help_text=(
            "RFC 5545, counted from the start date: FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=15 (the 15th, every 6 months), FREQ=MONTHLY;INTERVAL=3 (every 3 months)."
        ),
        widget=forms.TextInput(attrs={"class": "mono", "spellcheck": "false", "autocomplete": "off"}),
    )
    start_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Start")
    end_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), required=False, label="End")
    horizon_days = forms.IntegerField(min_value=1, max_value=730, initial=90, label="Create jobs ahead (days)")
    covered_kinds = forms.MultipleChoiceField(
        choices=list(COVERABLE.items()), widget=forms.CheckboxSelectMultiple, required=False, label="Covered work", help_text="Shown at no charge on invoices."
    )
    not_to_exceed = MoneyField(required=False, label="Not to exceed ($)", help_text="Per visit; leave empty for no limit.")
    price = MoneyField(required=False, initial=Decimal("0"), label="Price ($)")
    price_period = forms.ChoiceField(choices=PricePeriod.choices, initial=PricePeriod.PER_VISIT, label="Price is")
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    AGREEMENT_ONLY = ("covered_kinds", "not_to_exceed", "price", "price_period")
    wide_fields = ("scope", "rrule", "locations", "assets", "covered_kinds")

    def __init__(self, *args: Any, kind: str, customer_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["locations"].queryset = Location.objects.filter(customer_id=customer_id).order_by("id")
        self.fields["assets"].queryset = Asset.objects.filter(location__customer_id=customer_id).select_related("location").order_by("location_id", "id")
        if kind != PlanKind.AGREEMENT:
            for name in self.AGREEMENT_ONLY:
                del self.fields[name]
            self.fields["end_date"].help_text = "Optional."
        else:
            self.fields["end_date"].required = True
            self.fields["end_date"].help_text = "The end of the term."

    @classmethod
    def initial_for(cls, plan: RecurringPlan) -> dict[str, Any]:
        data = {name: getattr(plan, name) for name in ("name", "status", "job_type", "scope", "duration_minutes", "priority", "visit_time")}
        data.update(
            rrule=plan.rrule,
            start_date=plan.start_date,
            end_date=plan.end_date,
            horizon_days=plan.horizon_days,
            covered_kinds=plan.covered_kinds,
            not_to_exceed=Decimal(plan.not_to_exceed_cents) / 100 if plan.not_to_exceed_cents else None,
            price=Decimal(plan.price_cents) / 100,
            price_period=plan.price_period,
            locations=list(plan.locations.all()),
            assets=list(plan.assets.all()),
            version=plan.version,
        )
        return data

    def action_data(self) -> dict[str, Any]:
        c = self.cleaned_data
        data = {
            name: c[name]
            for name in ("name", "status", "job_type", "scope", "duration_minutes", "priority", "visit_time", "rrule", "start_date", "end_date", "horizon_days")
        }
        data["locations"] = list(c["locations"])
        data["assets"] = list(c["assets"])
        if self.kind == PlanKind.AGREEMENT:
            data.update(
                covered_kinds=list(c["covered_kinds"]),
                not_to_exceed_cents=_cents(c.get("not_to_exceed")),
                price_cents=_cents(c.get("price")) or 0,
                price_period=c["price_period"],
            )
        return data


class OccurrenceForm(forms.Form):
    location = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    occurrence_date = forms.DateField()


class MoveForm(OccurrenceForm):
    new_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Move to")
