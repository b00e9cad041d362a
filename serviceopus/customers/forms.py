"""Forms for the customer pages. They check the shape of the input and give the browser its hints
(max lengths, number ranges); the actions validate again with the models' own validators, so the
API and the pages refuse the same things. The forms never save: views pass cleaned_data to actions."""

from typing import Any, ClassVar

from django import forms

from .actions import FIELDS
from .models import Asset, Contact, Customer, Location


class RecordForm(forms.ModelForm):
    """A create/edit form. On edit it carries the version the editor saw (a stale edit is refused)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    # Fields that take the whole row of the two-column grid.
    wide_fields: ClassVar[set[str]] = set()
    # Fields the page shows apart, under "Notifications" (the customer's opt-outs).
    notification_fields: ClassVar[tuple[str, ...]] = ()
    # Set by the view when the action refused a stale edit: the page offers a reload.
    stale = False

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            self.fields["version"].required = True
            if not self.is_bound and self.instance.pk:
                self.initial["version"] = self.instance.version
        else:
            del self.fields["version"]

    def data_for_action(self) -> dict[str, Any]:
        fields = FIELDS[self._meta.model]
        return {name: self.cleaned_data[name] for name in fields if name in self.cleaned_data}


class CustomerForm(RecordForm):
    wide_fields: ClassVar[set[str]] = {"name", "notes"}
    notification_fields: ClassVar[tuple[str, ...]] = ("email_opt_out", "sms_opt_out")

    class Meta:
        model = Customer
        fields = FIELDS[Customer]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "notes": "Internal: seen by the office and the crew, never by the customer.",
            "email_opt_out": "The customer asked not to get notification emails (appointments, on the way, invoices).",
            "sms_opt_out": "The customer asked not to get text messages (they replied STOP to one, say).",
        }


class LocationForm(RecordForm):
    wide_fields: ClassVar[set[str]] = {"street", "access_notes"}

    class Meta:
        model = Location
        fields = ("street", "city", "region", "postal_code", "label", "lat", "lng", "gate_code", "access_notes")
        labels = {"lat": "Latitude", "lng": "Longitude"}
        help_texts = {
            "lat": "Decimal degrees, −90 to 90. Used for routing; leave empty if unknown.",
            "lng": "Decimal degrees, −180 to 180.",
            "access_notes": "Parking, dogs, where the equipment is… shown to the crew.",
        }
        widgets = {"access_notes": forms.Textarea(attrs={"rows": 3})}


class ContactForm(RecordForm):
    class Meta:
        model = Contact
        fields = ("name", "role", "email", "phone", "is_primary")
        labels = {"is_primary": "Primary contact"}
        help_texts = {"is_primary": "The person the office calls first. Only one contact per customer is primary."}


class AssetForm(RecordForm):
    wide_fields: ClassVar[set[str]] = {"notes"}

    class Meta:
        model = Asset
        fields = ("name", "make", "model", "serial", "install_date", "notes")
        labels = {"serial": "Serial number"}
        widgets = {"install_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), "notes": forms.Textarea(attrs={"rows": 3})}
