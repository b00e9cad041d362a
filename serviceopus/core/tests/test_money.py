from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serviceopus.core.money import format_cents, from_cents, line_total_cents, to_cents


@pytest.mark.parametrize(
    ("amount", "cents"),
    [("0", 0), ("1.005", 101), ("1.004", 100), ("-2.50", -250), ("125.5", 12550), (7, 700)],
)
def test_to_cents_rounds_half_up(amount, cents):
    assert to_cents(amount) == cents


def test_to_cents_refuses_floats_and_garbage():
    with pytest.raises(TypeError):
        to_cents(1.1)  # type: ignore[arg-type]
    for bad in ("abc", "NaN", "Infinity", ""):
        with pytest.raises(ValueError):  # noqa: PT011
            to_cents(bad)


def test_line_total_rounds_once_half_up():
    assert line_total_cents(Decimal("1.5"), 333) == 500  # 499.5 → 500
    assert line_total_cents(Decimal("0.333"), 100) == 33
    assert line_total_cents(Decimal("2"), -1250) == -2500


def test_format_cents():
    assert format_cents(123456) == "$1,234.56"
    assert format_cents(-5) == "-$0.05"
    assert format_cents(None) == ""


@given(st.integers(min_value=-(10**13), max_value=10**13))
def test_cents_round_trip(cents):
    assert to_cents(from_cents(cents)) == cents
