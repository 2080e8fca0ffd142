"""Shared GraphQL value types: Money and time helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import strawberry

from gateway.money import exponent, to_decimal


@strawberry.type(description="An amount of money: exact, in a currency (ISO 4217).")
class Money:
    amount: Decimal = strawberry.field(
        description="The amount as a decimal string, e.g. \"12.50\"; exact, never a float."
    )
    currency_code: str = strawberry.field(description="ISO 4217 currency code, e.g. CNY, USD.")
    minor_units: int = strawberry.field(
        description="The amount in the currency's minor unit (cents, fen): an exact integer."
    )


def money(minor_units: int, currency: str) -> Money:
    """Build a Money from integer minor units."""
    return Money(
        amount=to_decimal(minor_units, currency).quantize(Decimal(1).scaleb(-exponent(currency))),
        currency_code=currency,
        minor_units=minor_units,
    )


def utc(value: datetime) -> datetime:
    """A UTC-aware datetime (the database may hand back naive UTC or another tzinfo)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def optional_utc(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)
