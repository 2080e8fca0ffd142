"""Shared GraphQL value types: Money and time helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

import strawberry

from gateway.money import exponent


@strawberry.type(description="An amount of money: exact, in a currency (ISO 4217).")
class Money:
    amount: Decimal = strawberry.field(
        description="The amount as a decimal string, e.g. \"12.50\"; exact, never a float."
    )
    currency_code: str = strawberry.field(description="ISO 4217 currency code, e.g. CNY, USD.")
    minor_units: int = strawberry.field(
        description="The amount in the currency's minor unit (cents, fen): an exact integer."
    )


@lru_cache(maxsize=64)
def _exponent(currency: str) -> int:
    return exponent(currency)


def money(minor_units: int, currency: str) -> Money:
    """Build a Money from integer minor units (exact: ``12345`` CNY is ``"123.45"``)."""
    return Money(
        amount=Decimal(minor_units).scaleb(-_exponent(currency)),
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
