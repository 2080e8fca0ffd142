"""Money is integer minor units plus an ISO 4217 code; never a float.

Conversion between currencies multiplies by a decimal rate (units of the base currency per
unit of the other) and rounds half to even to the target currency's minor unit: :func:`convert`
for one amount, :class:`Rates` for today's rates of every currency. This module is the one
place that converts; resolvers load the rates (``loaders.fx_rates``) and map the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Rates:
    """Today's exchange rates (the ``fx_rates`` collection): units of ``base`` per unit of each
    other currency. Every conversion at today's rate goes through here; a write keeps its own
    snapshot of the rate (``gateway.commerce.common.fx_snapshot``)."""

    base: str
    per_unit: Mapping[str, Decimal]
    # the id of the snapshot each rate belongs to (``setFxRate`` starts a new one), if any
    snapshots: Mapping[str, str] = field(default_factory=dict)

    def rate(self, currency: str) -> Decimal | None:
        """Units of the base currency per unit of ``currency``: 1 for the base, ``None`` when
        the currency has no rate."""
        return Decimal(1) if currency == self.base else self.per_unit.get(currency)

    def to_base(self, minor_units: int, currency: str) -> int | None:
        """``minor_units`` of ``currency`` in the base currency; ``None`` without a rate."""
        rate = self.rate(currency)
        if rate is None:
            return None
        if currency == self.base:
            return minor_units
        return convert(minor_units, from_currency=currency, to_currency=self.base, rate=rate)

    def from_base(self, minor_units: int, currency: str) -> int | None:
        """``minor_units`` of the base currency in ``currency``; ``None`` without a rate."""
        rate = self.rate(currency)
        if rate is None:
            return None
        if currency == self.base:
            return minor_units
        return convert(minor_units, from_currency=self.base, to_currency=currency,
                       rate=Decimal(1) / rate)
