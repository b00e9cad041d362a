"""Stock quantities are decimals with three places, stored as integer thousandths ("milli" units).

SQLite keeps DecimalField values as floating point, so sums and comparisons in SQL would drift; an
integer column sums exactly on both databases. Pages, forms and the API speak Decimal; only the
models and the ledger see the integers.
"""

from decimal import Decimal, InvalidOperation

PLACES = Decimal("0.001")
MAX = Decimal("999999999.999")


def to_milli(quantity: Decimal) -> int:
    assert quantity == quantity.quantize(PLACES), quantity
    return int(quantity * 1000)


def from_milli(milli: int) -> Decimal:
    return (Decimal(milli) / 1000).quantize(PLACES)


def show(milli: int) -> str:
    """1500 → "1.5", 2000 → "2": how a quantity reads on a page."""
    text = f"{from_milli(milli):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def parse_quantity(value: object, fields: dict[str, str], name: str = "quantity", *, allow_zero: bool = False) -> int:
    """A positive quantity with at most three decimals, as milli units; records an error in `fields`
    (and returns 0) when the value is not one."""
    try:
        quantity = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        fields[name] = "Enter a number, such as 2 or 1.5."
        return 0
    if isinstance(value, float) or not quantity.is_finite():
        fields[name] = "Enter a number, such as 2 or 1.5."
    elif quantity < 0 or (quantity == 0 and not allow_zero) or quantity > MAX:
        fields[name] = "Enter a quantity above zero." if quantity <= 0 else "That quantity is too large."
    elif quantity != quantity.quantize(PLACES):
        fields[name] = "At most 3 decimal places."
    else:
        return to_milli(quantity)
    return 0
