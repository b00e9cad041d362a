"""Forms of the phone pages and the Time tab. They parse input only; the rules (a pause needs a reason,
an entry ends after it starts…) live in the actions, whose InvalidInput errors are put back onto the
fields with `apply_domain_errors`."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms

from serviceopus.core.errors import InvalidInput
from serviceopus.dispatch.status import Outcome, VisitStatus

from .models import TimeEntry

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def apply_domain_errors(form: forms.Form, error: InvalidInput) -> None:
    """An action's field errors next to the matching fields; the rest above the form."""
    if not error.fields:
        form.add_error(None, error.message)
    for name, message in error.fields.items():
        form.add_error(name if name in form.fields else None, message)


class Form(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _coordinate(raw: str | None, limit: int) -> Decimal | None:
    """A GPS coordinate from the phone, or None. A position is a bonus: a garbled one is dropped
    rather than refusing the tap it came with."""
    if not raw or len(raw) > 32:
        return None
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        return None
    if not value.is_finite() or abs(value) > limit:
        return None
    return value.quantize(Decimal("0.000001"))


class TransitionForm(Form):
    """One tap on the visit screen or a My day card. `expected` is the status the page showed, so a
    second tap (or a crew-mate's earlier one) is refused instead of acting twice."""

    to = forms.ChoiceField(choices=VisitStatus.choices)
    expected = forms.ChoiceField(choices=VisitStatus.choices)
    # A pause reason: a one-tap preset (a submit button's value) or typed text.
    reason_choice = forms.CharField(required=False, max_length=200)
    reason = forms.CharField(required=False, max_length=200, label="Reason")
    outcome = forms.ChoiceField(choices=[("", "—"), *Outcome.choices], required=False)
    lat = forms.CharField(required=False)
    lng = forms.CharField(required=False)

    def position(self) -> tuple[Decimal | None, Decimal | None]:
        lat = _coordinate(self.data.get("lat"), 90)
        lng = _coordinate(self.data.get("lng"), 180)
        return (lat, lng) if lat is not None and lng is not None else (None, None)

    def action_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        lat, lng = self.position()
        return {
            "to": data["to"],
            "expected": data["expected"],
            "reason": data["reason_choice"] or data["reason"],
            "outcome": data["outcome"],
            "lat": lat,
            "lng": lng,
        }


class FinishForm(Form):
    expected = forms.ChoiceField(choices=VisitStatus.choices)


class DateTimeLocalField(forms.DateTimeField):
    """A <input type=datetime-local> read in the company's time zone."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", [DATETIME_LOCAL])
        kwargs.setdefault("widget", forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL))
        super().__init__(**kwargs)


class VersionForm(Form):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class TimeEntryForm(Form):
    """A manual entry. Reviewers choose the technician; a technician enters their own time only."""

    technician = forms.TypedChoiceField(coerce=int, label="Technician")
    kind = forms.ChoiceField(choices=TimeEntry.Kind.choices, label="Kind")
    start = DateTimeLocalField(label="Start")
    end = DateTimeLocalField(label="End")
    reason = forms.CharField(max_length=300, required=False, label="Reason", widget=forms.TextInput(attrs={"placeholder": "e.g. Phone had no signal"}))

    def __init__(self, *args: Any, technicians: list, own_only: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["technician"].choices = [(t.pk, t.name) for t in technicians]
        if own_only and len(technicians) == 1:
            self.fields["technician"].initial = technicians[0].pk
            self.fields["technician"].widget = forms.HiddenInput()


class CorrectForm(VersionForm):
    start = DateTimeLocalField(label="Start")
    end = DateTimeLocalField(label="End")
    reason = forms.CharField(max_length=300, required=False, label="Reason", widget=forms.TextInput(attrs={"placeholder": "e.g. Forgot to depart"}))
