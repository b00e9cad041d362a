"""Forms of the job's materials (the Line items tab): adding an item from stock, and issuing, returning
or releasing what a line holds. They parse and check the input only; every write goes through
actions.reservations, whose field errors come back onto these fields (jobs.forms.apply_domain_errors).
Quantities are typed as decimals ("1.5"); the milli units never reach a page."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from serviceopus.jobs.forms import Form

from . import queries
from .models import InventoryItem, StockLocation
from .quantity import parse_quantity, show

# More matches than this for a typed name: ask for something more precise rather than guess.
AMBIGUOUS_SHOWN = 5


class QuantityField(forms.CharField):
    """A positive quantity with at most three decimals, kept as the text typed (the action parses it
    again, so the form and the action cannot disagree on what it means)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": "6"}))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:  # type: ignore[override]
        text = super().clean(value)
        errors: dict[str, str] = {}
        parse_quantity(text, errors)
        if errors:
            raise ValidationError(errors["quantity"], code="quantity")
        return text


def place_label(location: StockLocation) -> str:
    return f"{location.name} (truck)" if location.kind == StockLocation.Kind.TRUCK else location.name


class PlaceField(forms.TypedChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("coerce", int)
        kwargs.setdefault("empty_value", None)
        super().__init__(**kwargs)


def _place_choices(locations: list[StockLocation], blank: str) -> list[tuple[Any, str]]:
    return [("", blank), *((loc.pk, place_label(loc)) for loc in locations)]


class MaterialAddForm(Form):
    """Add an item from stock to the job: a material line, held at a place (the rest backordered when
    asked). The item is typed: its SKU, or enough of its name to pick one item."""

    item = forms.CharField(
        label="Item",
        max_length=300,
        widget=forms.TextInput(attrs={"list": "mat-item-options", "autocomplete": "off", "placeholder": "SKU or name", "spellcheck": "false"}),
    )
    location = PlaceField(label="From")
    quantity = QuantityField(label="Quantity")
    backorder = forms.BooleanField(required=False, label="Backorder what is not in stock")

    def __init__(self, *args: Any, locations: list[StockLocation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.locations = locations
        self.fields["location"].choices = _place_choices(locations, "Choose a warehouse or truck")
        self.resolved_item: InventoryItem | None = None
        # Set by the view when the place has too little: the backorder box is the way out.
        self.suggest_backorder = False

    def clean_item(self) -> InventoryItem:
        text = self.cleaned_data["item"].strip()
        # A suggestion from the list reads "SKU · name"; the SKU is what identifies it.
        sku = text.split(" · ", 1)[0].strip()
        exact = InventoryItem.objects.filter(sku__iexact=sku, active=True).first() if sku else None
        if exact is not None:
            self.resolved_item = exact
            return exact
        matches = queries.search_items(text, limit=AMBIGUOUS_SHOWN + 1)
        if len(matches) == 1:
            self.resolved_item = matches[0]
            return matches[0]
        if not matches:
            raise ValidationError(f"No active item matches “{text}”. Type its SKU or part of its name.", code="unknown")
        shown = ", ".join(i.sku for i in matches[:AMBIGUOUS_SHOWN]) + (", …" if len(matches) > AMBIGUOUS_SHOWN else "")
        raise ValidationError(f"Several items match “{text}” ({shown}); type the SKU of the one you want.", code="ambiguous")

    def action_kwargs(self) -> dict[str, Any]:
        c = self.cleaned_data
        return {"item_id": c["item"].pk, "location_id": c["location"], "quantity": c["quantity"], "backorder": c["backorder"]}


class IssueForm(Form):
    """Hand reserved stock over to the job (office)."""

    quantity = QuantityField(label="Quantity to issue")


class ReturnForm(Form):
    """Unused stock comes back from the job to a place; the line then bills that much less."""

    quantity = QuantityField(label="Quantity to return")
    location = PlaceField(label="Back to")
    reason = forms.CharField(label="Reason", required=False, max_length=300, widget=forms.TextInput(attrs={"placeholder": "e.g. Not needed"}))

    def __init__(self, *args: Any, locations: list[StockLocation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].choices = _place_choices(locations, "Choose a place")


def available_text(milli: int | None, unit: str) -> str:
    """ "3 each free" for an option label; "" when unknown (no item chosen yet)."""
    if milli is None:
        return ""
    return f"{show(max(milli, 0))} {unit} free"
