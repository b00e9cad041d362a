"""Forms of the office's purchasing, purchase order and stock pages. They check the shape of the input
(a known SKU, a date, dollars) and give the browser its hints; quantities stay text, because the
actions parse them (three decimals, above zero) and answer with field errors that `apply_action_errors`
puts back next to the fields. The forms never save."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from serviceopus.core.errors import InvalidInput
from serviceopus.jobs.forms import parse_dollars

from .models import InventoryItem, PurchaseOrder, PurchaseOrderLine, StockLocation, Vendor
from .quantity import show

# Action field names → form field names, where they differ.
ACTION_FIELDS = {"item": "sku", "unit_cost_cents": "unit_cost"}
QUANTITY_HINT = "A number, such as 2 or 1.5 (at most three decimals)."


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


class LocationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: StockLocation) -> str:
        return f"{obj.name} ({obj.get_kind_display().lower()})"


def active_locations() -> QuerySet[StockLocation]:
    return StockLocation.objects.filter(active=True).order_by("kind", "name")


class OfficeForm(forms.Form):
    # Set by the view when the action refused a stale edit: the page offers a reload.
    stale = False
    # Fields that take the whole row of the two-column grid.
    wide_fields: set[str] = set()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _sku_field() -> forms.CharField:
    return forms.CharField(label="Item SKU", max_length=40, widget=forms.TextInput(attrs={"list": "item-skus", "autocomplete": "off", "spellcheck": "false"}))


def _quantity_field(label: str = "Quantity") -> forms.CharField:
    return forms.CharField(label=label, max_length=20, help_text=QUANTITY_HINT, widget=forms.TextInput(attrs={"inputmode": "decimal"}))


def _dollars(value: str, *, required: bool) -> int | None:
    if not value.strip():
        if required:
            raise ValidationError("Enter the unit cost in dollars, like 18.50.", code="required")
        return None
    return parse_dollars(value)


# ---- purchase orders ------------------------------------------------------------------------------------


class PoHeaderForm(OfficeForm):
    """New order (vendor, ship to, expected date, notes) or a change to an open one (no vendor change:
    its lines were priced with that vendor)."""

    vendor = forms.ModelChoiceField(queryset=Vendor.objects.filter(active=True).order_by("name"), empty_label="Choose a vendor…")
    ship_to = LocationChoiceField(queryset=active_locations(), label="Ship to", empty_label="Where the goods will be received…")
    expected_on = forms.DateField(
        label="Expected delivery",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Leave empty to use the vendor's lead time when the order is placed.",
    )
    notes = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), help_text="Printed on the purchase order.")
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    wide_fields = {"notes"}

    def __init__(self, *args: Any, po: PurchaseOrder | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.po = po
        # Querysets are evaluated per form, not once at import.
        self.fields["ship_to"].queryset = active_locations()
        if po is None:
            del self.fields["version"]
            return
        del self.fields["vendor"]
        self.fields["version"].required = True
        if po.status != PurchaseOrder.Status.DRAFT:
            self.fields["ship_to"].disabled = True
            self.fields["ship_to"].help_text = "The delivery place can change only while the order is a draft."
        # Set on a bound form too: a disabled field takes its value from here.
        self.initial.update({"ship_to": po.ship_to_id, "expected_on": po.expected_on, "notes": po.notes, "version": po.version})


class PoLineForm(OfficeForm):
    sku = _sku_field()
    quantity = _quantity_field()
    unit_cost = forms.CharField(
        label="Unit cost ($)",
        required=False,
        max_length=20,
        help_text="Leave empty for the item's usual cost.",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )

    # An order takes only items still sold.
    def clean_sku(self) -> str:
        return _clean_sku(self, active_only=True)

    def clean_unit_cost(self) -> int | None:
        return _dollars(self.cleaned_data["unit_cost"], required=False)


class PoLineEditForm(OfficeForm):
    quantity = _quantity_field()
    unit_cost = forms.CharField(
        label="Unit cost ($)",
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        error_messages={"required": "Enter the unit cost in dollars, like 18.50."},
    )

    def __init__(self, *args: Any, line: PurchaseOrderLine, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.update({"quantity": show(line.quantity_milli), "unit_cost": f"{line.unit_cost_cents / 100:.2f}"})

    def clean_unit_cost(self) -> int | None:
        return _dollars(self.cleaned_data["unit_cost"], required=True)


class PoOrderForm(OfficeForm):
    expected_on = forms.DateField(
        label="Expected delivery", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), help_text="When the vendor says the goods will arrive."
    )


class PoCancelForm(OfficeForm):
    reason = forms.CharField(
        max_length=300, widget=forms.Textarea(attrs={"rows": 3}), help_text="Recorded on the order and on the timeline of each job it was for."
    )
    wide_fields = {"reason"}


class PoReceiveForm(OfficeForm):
    """One quantity per open line (prefilled with what is still open), where the goods went, whether
    more than ordered is accepted, and a note."""

    location = LocationChoiceField(queryset=active_locations(), label="Received into")
    over_receipt = forms.BooleanField(
        required=False, label="Over-receipt", help_text="Tick to accept more than is still open on a line (the vendor sent extra)."
    )
    note = forms.CharField(required=False, max_length=300, help_text="Packing slip number, damage, anything worth keeping.")

    def __init__(self, *args: Any, po: PurchaseOrder, lines: list[PurchaseOrderLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = active_locations()
        self.lines = [line for line in lines if line.open_milli > 0]
        for line in self.lines:
            self.fields[f"line_{line.pk}"] = forms.CharField(
                label=f"{line.item.sku} received now",
                required=False,
                max_length=20,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "qty-input"}),
            )
        if not self.is_bound:
            self.initial["location"] = po.ship_to_id
            for line in self.lines:
                self.initial[f"line_{line.pk}"] = show(line.open_milli)

    def line_rows(self) -> list[tuple[PurchaseOrderLine, forms.BoundField]]:
        return [(line, self[f"line_{line.pk}"]) for line in self.lines]

    def quantities(self) -> dict[int, str]:
        return {line.pk: self.cleaned_data.get(f"line_{line.pk}", "") for line in self.lines}


# ---- stock ------------------------------------------------------------------------------------------------


class StockReceiveForm(OfficeForm):
    sku = _sku_field()
    location = LocationChoiceField(queryset=active_locations(), label="Received into")
    quantity = _quantity_field()
    unit_cost = forms.CharField(
        label="Unit cost ($)",
        required=False,
        max_length=20,
        help_text="Leave empty for the item's usual cost.",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    reason = forms.CharField(required=False, max_length=300, help_text="Where it came from: a counter purchase, opening stock…")
    wide_fields = {"reason"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = active_locations()

    def clean_sku(self) -> str:
        return _clean_sku(self)

    def clean_unit_cost(self) -> int | None:
        return _dollars(self.cleaned_data["unit_cost"], required=False)


class StockTransferForm(OfficeForm):
    sku = _sku_field()
    quantity = _quantity_field()
    from_location = LocationChoiceField(queryset=active_locations(), label="From")
    to_location = LocationChoiceField(queryset=active_locations(), label="To")
    reason = forms.CharField(required=False, max_length=300, help_text="Why, if it is not obvious (restocking a truck needs no reason).")
    wide_fields = {"reason"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from_location"].queryset = active_locations()
        self.fields["to_location"].queryset = active_locations()

    def clean_sku(self) -> str:
        return _clean_sku(self)


class StockAdjustForm(OfficeForm):
    sku = _sku_field()
    location = LocationChoiceField(queryset=active_locations(), label="At")
    change = forms.CharField(
        label="Change",
        max_length=21,
        help_text="Signed: +2 when a count finds two more, -1 for one damaged or lost.",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    reason = forms.CharField(max_length=300, help_text="Required: the count, the damage, the loss.")
    wide_fields = {"reason"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = active_locations()

    def clean_sku(self) -> str:
        return _clean_sku(self)


def _clean_sku(form: forms.Form, *, active_only: bool = False) -> str:
    sku = form.cleaned_data["sku"].strip()
    items = InventoryItem.objects.filter(sku__iexact=sku)
    if active_only:
        items = items.filter(active=True)
    item = items.first()
    if item is None:
        raise ValidationError(f"No {'active ' if active_only else ''}item has the SKU “{sku}”.", code="unknown_sku")
    form.cleaned_data["item"] = item
    return item.sku
