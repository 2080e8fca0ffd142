"""Money and today's exchange rates (gateway/money.py): exact, half to even, no rate no guess."""

from __future__ import annotations

from decimal import Decimal

from gateway.money import Rates, convert, to_decimal

RATES = Rates(base="CNY", per_unit={"USD": Decimal("7.1240"), "JPY": Decimal("0.0475")})


def test_minor_units_follow_each_currency() -> None:
    assert to_decimal(1234, "CNY") == Decimal("12.34")
    assert to_decimal(1234, "JPY") == Decimal("1234")
    assert to_decimal(1234, "KWD") == Decimal("1.234")


def test_conversion_rounds_half_to_even_to_the_target_minor_unit() -> None:
    # 0.05 USD = 0.3562 CNY -> 0.36; 25 JPY (no minor unit) = 1.1875 CNY -> 1.19
    assert convert(5, from_currency="USD", to_currency="CNY", rate=Decimal("7.1240")) == 36
    assert convert(25, from_currency="JPY", to_currency="CNY", rate=Decimal("0.0475")) == 119
    # half to even: 0.125 -> 0.12, 0.135 -> 0.14
    assert convert(125, from_currency="KWD", to_currency="CNY", rate=Decimal(1)) == 12
    assert convert(135, from_currency="KWD", to_currency="CNY", rate=Decimal(1)) == 14


def test_rates_convert_to_and_from_the_base() -> None:
    assert RATES.to_base(10_000, "USD") == 71_240
    assert RATES.from_base(71_240, "USD") == 10_000
    assert RATES.to_base(500, "CNY") == RATES.from_base(500, "CNY") == 500
    assert RATES.rate("CNY") == Decimal(1)
    # a currency without a rate is None, never a guess
    assert RATES.rate("THB") is None
    assert RATES.to_base(100, "THB") is None
    assert RATES.from_base(100, "THB") is None
