"""Forms of approval requests: the office's request (a header and up to ten lines) and the customer's
approve and decline forms. They check the shape of the input only; the actions check the rules and
answer with field errors, which `apply_errors` puts back next to the fields.

The customer's forms have exactly the fields a customer may send: a name, the signature, the hash of
the page and the agreement box, or a reason. Anything else posted is never read."""

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from serviceopus.billing.forms import DollarsField
from serviceopus.closeout.actions.signatures import MAX_DATA_URL_CHARS
from serviceopus.core.errors import InvalidInput
from serviceopus.jobs.actions import MAX_QUANTITY
from serviceopus.jobs.models import LineItem

from .actions.approvals import MAX_DESCRIPTION, MAX_LINES, MAX_MESSAGE, MAX_REASON, MAX_SIGNER, MAX_TITLE
from .models import ApprovalRequest

# Action field names → form field names, where they differ.
ACTION_FIELDS = {"unit_price_cents": "unit_price"}


class Form(forms.Form):
    """Labels without a trailing colon, as on every other page."""

    wide_fields: set[str] = set()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _add(form: forms.Form, name: str, message: str) -> None:
    target = ACTION_FIELDS.get(name, name)
    if target in form.fields:
        if target not in form.errors:  # a field the form refused keeps its own message
            form.add_error(target, message)
    else:
        form.add_error(None, message)


def apply_errors(form: forms.Form, error: InvalidInput, formset: "LineFormSet | None" = None) -> None:
    """An action's field errors next to the matching fields: lines.<i>.<field> goes to the i-th line
    the form sent (formset.sent_rows), the rest to the header form or above it."""
    if not error.fields:
        form.add_error(None, error.message)
    for name, message in error.fields.items():
        parts = name.split(".")
        if parts[0] == "lines" and formset is not None and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(formset.sent_rows):
            _add(formset.forms[formset.sent_rows[int(parts[1])]], parts[2], message)
        elif parts[0] == "lines":
            form.add_error(None, message)
        else:
            _add(form, name, message)


# ---- the office's request ------------------------------------------------------------------------------


class ApprovalRequestForm(Form):
    kind = forms.ChoiceField(choices=ApprovalRequest.Kind.choices, initial=ApprovalRequest.Kind.ADDED_WORK, widget=forms.RadioSelect, label="What it is")
    title = forms.CharField(
        max_length=MAX_TITLE,
        label="Title",
        help_text="What the customer is asked to approve, e.g. “Replace the inducer motor”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    message = forms.CharField(
        max_length=MAX_MESSAGE,
        required=False,
        label="Message to the customer",
        help_text="Why the work is needed; shown above the lines.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    wide_fields = {"kind", "title", "message"}


class ApprovalLineForm(Form):
    """One line; a row left untouched (no description, no price) is not a line."""

    kind = forms.ChoiceField(choices=LineItem.Kind.choices, initial=LineItem.Kind.SERVICE, label="Kind")
    description = forms.CharField(max_length=MAX_DESCRIPTION, label="Description", widget=forms.TextInput(attrs={"autocomplete": "off"}))
    quantity = forms.DecimalField(
        max_digits=12,
        decimal_places=3,
        min_value=Decimal("0.001"),
        max_value=MAX_QUANTITY,
        initial=Decimal("1"),
        label="Qty",
        error_messages={"min_value": "A quantity above zero.", "max_decimal_places": "At most three decimal places."},
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "data-approval-qty": ""}),
    )
    unit_price = DollarsField(allow_zero=True, label="Unit price ($)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit_price"].widget.attrs["data-approval-price"] = ""
        self.fields["kind"].widget.attrs["data-approval-kind"] = ""

    def as_line(self) -> dict[str, Any]:
        c = self.cleaned_data
        return {"kind": c["kind"], "description": c["description"], "quantity": c["quantity"], "unit_price_cents": c["unit_price"]}


class BaseLineFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent_rows: list[int] = []

    def clean(self) -> None:
        if any(self.errors):
            return
        if not self.lines():
            raise ValidationError("Add at least one line: a description and a unit price.", code="no_lines")

    def filled(self) -> list[int]:
        """Indexes of the rows that hold a line (changed from their blank state)."""
        return [i for i, form in enumerate(self.forms) if form.has_changed()]

    def lines(self) -> list[dict[str, Any]]:
        """The lines to send, in row order; remembers which row each came from (sent_rows)."""
        rows = [i for i in self.filled() if getattr(self.forms[i], "cleaned_data", None)]
        self.sent_rows = rows
        return [self.forms[i].as_line() for i in rows]


LineFormSet = forms.formset_factory(ApprovalLineForm, formset=BaseLineFormSet, extra=MAX_LINES, max_num=MAX_LINES, absolute_max=MAX_LINES, validate_max=True)


# ---- the customer's answer -----------------------------------------------------------------------------


class ApproveForm(Form):
    signer_name = forms.CharField(
        max_length=MAX_SIGNER,
        label="Your full name",
        widget=forms.TextInput(attrs={"autocomplete": "name", "autocapitalize": "words"}),
        error_messages={"required": "Type your full name."},
    )
    signature = forms.CharField(
        max_length=MAX_DATA_URL_CHARS, widget=forms.HiddenInput(attrs={"data-signature-output": ""}), error_messages={"required": "Sign on the pad."}
    )
    content_hash = forms.CharField(max_length=64, widget=forms.HiddenInput)
    agree = forms.BooleanField(label="I approve this work and these prices", error_messages={"required": "Tick the box to approve the work and its prices."})


class DeclineForm(Form):
    reason = forms.CharField(
        max_length=MAX_REASON,
        label="Why are you declining?",
        help_text="We will be in touch about it.",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Tell us why, in a few words."},
    )
