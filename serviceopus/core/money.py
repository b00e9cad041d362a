"""Money is stored as integer minor units (cents) and handled as Decimal in Python.

Rounding happens at one documented point: a line total (quantity × unit price) is rounded half-up to
the cent. Sums of rounded line totals are exact integers, so they never drift between databases.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")


def to_cents(amount: Decimal | str | int) -> int:
    """Decimal dollars → integer cents, rounding half-up. Refuses floats: they are never exact."""
    if isinstance(amount, float):
        raise TypeError("money must not be a float")
    try:
        value = Decimal(amount)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {amount!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not an amount: {amount!r}")
    return int((value * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def line_total_cents(quantity: Decimal, unit_cents: int) -> int:
    """quantity × unit price, rounded half-up to the cent — the only rounding point for a line."""
    return int((Decimal(quantity) * unit_cents).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def format_cents(cents: int | None) -> str:
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(from_cents(cents)):,.2f}"
