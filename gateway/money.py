"""Money is integer minor units plus an ISO 4217 code; never a float.

Conversion between currencies multiplies by a decimal rate (units of the base currency per
unit of the other) and rounds half to even to the base currency's minor unit.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

# ISO 4217 minor-unit exponents of the currencies we trade in; 2 for any other.
EXPONENTS: Final = {"JPY": 0, "KRW": 0, "VND": 0, "KWD": 3, "BHD": 3}


def exponent(currency: str) -> int:
    """Number of decimals of ``currency`` (2 unless listed in EXPONENTS)."""
    return EXPONENTS.get(currency, 2)


def to_decimal(minor_units: int, currency: str) -> Decimal:
    """``1234`` CNY -> ``Decimal('12.34')``."""
    return Decimal(minor_units).scaleb(-exponent(currency))


def convert(minor_units: int, *, from_currency: str, to_currency: str, rate: Decimal) -> int:
    """Convert minor units with ``rate`` (``to`` units per ``from`` unit), half-even rounding."""
    exact = to_decimal(minor_units, from_currency) * rate
    return int(exact.scaleb(exponent(to_currency)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
