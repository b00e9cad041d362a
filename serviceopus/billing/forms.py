"""Forms of the billing pages. They check the shape of the input (a date, dollars, a quantity) and give
the browser its hints; the actions check the rules and answer with field errors, which
`apply_action_errors` puts back next to the fields. The forms never save."""

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from serviceopus.core.errors import InvalidInput
from serviceopus.jobs.forms import dollars, parse_dollars

from .models import Invoice, InvoiceLine, Payment, TaxRate
from .queries import SORTS, STATUS_FILTERS, InvoiceFilters

# Action field names → form field names, where they differ.
ACTION_FIELDS = {"unit_price_cents": "unit_price", "amount_cents": "amount", "tax_rate_id": "tax_rate"}
MAX_JOBS = 50


def apply_action_errors(form: forms.Form, error: InvalidInput) -> None:
    """An action's field errors next to the matching fields; the others above the form."""
    if not error.fields:
        form.add_error(None, error.message)
    for name, message in error.fields.items():
        target = ACTION_FIELDS.get(name, name)
        if target in form.fields:
            # A field the form already refused keeps its own message.
            if target not in form.errors:
                form.add_error(target, message)
        else:
            form.add_error(None, message)


class BillingForm(forms.Form):
    # Set by the view when the action refused a stale edit: the page offers a reload.
    stale = False
    # Fields that take the whole row of the two-column grid.
    wide_fields: set[str] = set()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class DollarsField(forms.CharField):
    """Dollars as typed ("120.50", "$1,250") → integer cents; never a float."""

    MAX_LENGTH = 20

    def __init__(self, *, allow_zero: bool = False, allow_negative: bool = False, **kwargs: Any) -> None:
        self.allow_zero = allow_zero
        self.allow_negative = allow_negative
        attrs = {"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00", "maxlength": str(self.MAX_LENGTH)}
        kwargs.setdefault("widget", forms.TextInput(attrs=attrs))
        # No max_length: its validator would run on the cents; the length is checked on the text below.
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        if len(text) > self.MAX_LENGTH or "\x00" in text:
            raise ValidationError("Enter an amount in dollars, like 125.50.", code="invalid")
        cents = parse_dollars(text, allow_negative=self.allow_negative)
        if cents == 0 and not self.allow_zero:
            raise ValidationError("Enter an amount above zero.", code="zero")
        return cents


def _quantity_field() -> forms.DecimalField:
    return forms.DecimalField(
        max_digits=12,
        decimal_places=3,
        min_value=Decimal("0.001"),
        error_messages={"min_value": "A quantity above zero.", "max_decimal_places": "At most three decimal places."},
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )


def _tax_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(queryset=TaxRate.objects.filter(active=True).order_by("name"), required=False, empty_label="No tax", label="Tax")


# ---- the invoices list ------------------------------------------------------------------------------------------


class InvoiceFilterForm(BillingForm):
    """The list's GET parameters: invalid ones are reported and ignored."""

    q = forms.CharField(
        required=False,
        max_length=200,
        label="Customer or number",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Customer name or INV-000001"}),
    )
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *STATUS_FILTERS])
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *Invoice.Kind.choices], label="Kind")
    date_from = forms.DateField(required=False, label="Issued from", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="Issued to", widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(required=False, choices=[(key, label) for key, (label, _) in SORTS.items()])

    def clean_q(self) -> str:
        q = self.cleaned_data["q"].strip()
        if "\x00" in q:
            raise ValidationError("Invalid characters.", code="nul")
        return q

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if isinstance(start, date) and isinstance(end, date) and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def to_filters(self) -> InvoiceFilters:
        self.is_valid()
        c = self.cleaned_data
        return InvoiceFilters(
            status=c.get("status") or "",
            q=c.get("q") or "",
            kind=c.get("kind") or "",
            date_from=c.get("date_from"),
            date_to=c.get("date_to"),
            sort=c.get("sort") or "newest",
        )


# ---- creating an invoice ----------------------------------------------------------------------------------------


class JobChoiceForm(BillingForm):
    """Which jobs the preview (GET) and the new draft (POST) are for."""

    job = forms.TypedMultipleChoiceField(coerce=int, choices=[], error_messages={"required": "Choose at least one job to invoice."})
    memo = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Memo (printed on the invoice)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any id is accepted here; the preview and the action look the jobs up.
        raw = self.data.getlist("job") if hasattr(self.data, "getlist") else []
        self.fields["job"].choices = [(v, v) for v in raw if str(v).isdigit()]

    def clean_job(self) -> list[int]:
        ids = sorted(set(self.cleaned_data["job"]))
        if len(ids) > MAX_JOBS:
            raise ValidationError(f"At most {MAX_JOBS} jobs on one invoice.", code="too_many")
        return ids


# ---- a draft ----------------------------------------------------------------------------------------------------


class VersionForm(BillingForm):
    """A write on an invoice read at `version`: a stale copy is refused by the action."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class DraftHeaderForm(VersionForm):
    memo = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), help_text="Printed on the invoice.")
    terms_days = forms.IntegerField(min_value=0, max_value=365, label="Payment terms (days)", help_text="Due this many days after it is issued.")
    wide_fields = {"memo"}

    @classmethod
    def for_invoice(cls, invoice: Invoice, data: Any = None) -> "DraftHeaderForm":
        return cls(data, initial={"version": invoice.version, "memo": invoice.memo, "terms_days": invoice.terms_days}, prefix="head")


class LineAddForm(VersionForm):
    """A fee, a discount (entered as a positive amount) or another charge on a draft."""

    kind = forms.ChoiceField(choices=[("service", "Service"), ("fee", "Fee"), ("discount", "Discount")])
    description = forms.CharField(max_length=300)
    quantity = _quantity_field()
    unit_price = DollarsField(label="Unit price ($)", allow_zero=True, help_text="A discount is entered as a positive amount.")
    tax_rate = _tax_field()
    wide_fields = {"description", "tax_rate"}

    @classmethod
    def for_invoice(cls, invoice: Invoice, data: Any = None, default_tax: TaxRate | None = None) -> "LineAddForm":
        initial = {"version": invoice.version, "quantity": "1", "kind": "fee", "tax_rate": default_tax.pk if default_tax and default_tax.active else None}
        return cls(data, initial=initial, prefix="add")


class LineEditForm(VersionForm):
    description = forms.CharField(max_length=300)
    quantity = _quantity_field()
    unit_price = DollarsField(label="Unit price ($)", allow_zero=True)
    tax_rate = _tax_field()
    wide_fields = {"description"}

    @classmethod
    def for_line(cls, invoice: Invoice, line: InvoiceLine, data: Any = None) -> "LineEditForm":
        initial = {
            "version": invoice.version,
            "description": line.description,
            "quantity": f"{line.quantity.normalize():f}",
            "unit_price": dollars(abs(line.unit_price_cents)),
            "tax_rate": line.tax_rate_id,
        }
        return cls(data, initial=initial)


class VoidForm(VersionForm):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}), help_text="Kept on the invoice and sent with the accounting export.")
    wide_fields = {"reason"}


# ---- payments, refunds and credit notes ---------------------------------------------------------------------------


class PaymentForm(BillingForm):
    amount = DollarsField(label="Amount ($)")
    method = forms.ChoiceField(choices=Payment.Method.choices)
    reference = forms.CharField(required=False, max_length=100, help_text="Card reference, check number or transfer id.")
    received_on = forms.DateField(label="Received on", widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(required=False, max_length=500)
    wide_fields = {"note"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"received_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        self.fields["received_on"].widget.attrs["max"] = timezone.localdate().isoformat()

    def clean_received_on(self) -> date:
        value = self.cleaned_data["received_on"]
        if value > timezone.localdate():
            raise ValidationError("The date cannot be in the future.", code="future")
        return value


class RefundForm(PaymentForm):
    note = forms.CharField(max_length=500, label="Why it is refunded", error_messages={"required": "Say why the money is refunded."})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["received_on"].label = "Paid back on"
        self.fields["amount"].label = "Refund amount ($)"


class CreditNoteForm(VersionForm):
    """One amount per line of the invoice (blank or zero credits nothing), and the reason."""

    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}), help_text="What the credit note corrects; printed on it.")

    def __init__(self, *args: Any, lines: list[InvoiceLine], left: dict[int, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line_fields: list[tuple[InvoiceLine, int, str]] = []
        for line in lines:
            name = f"line_{line.pk}"
            remaining = left.get(line.pk, 0)
            # A discount (a negative line) is credited with a negative amount: crediting the whole invoice
            # takes its discount back too, or the customer would be credited the discount as well.
            negative = line.amount_cents < 0
            self.fields[name] = DollarsField(required=False, allow_zero=True, allow_negative=negative, label=f"Credit on “{line.description}”")
            self.initial.setdefault(name, dollars(remaining) if remaining != 0 else "")
            self.line_fields.append((line, remaining, name))

    def amounts(self) -> dict[int, int]:
        """Line id → cents to credit, for the lines given an amount."""
        return {line.pk: cents for line, _, name in self.line_fields if (cents := self.cleaned_data.get(name))}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors and not any(cleaned.get(name) for _, _, name in self.line_fields):
            raise ValidationError("Enter an amount to credit on at least one line.", code="empty")
        return cleaned

    def rows(self) -> list[dict[str, Any]]:
        return [{"line": line, "left_cents": left, "field": self[name]} for line, left, name in self.line_fields]
