"""Shared GraphQL value types: Money, the 64-bit ``Long`` scalar, strawberry's DateTime and
Decimal with their specifications, and time helpers."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final, NewType

import strawberry
from graphql import GraphQLError
from strawberry.schema.types.base_scalars import DateTimeDefinition, DecimalDefinition
from strawberry.types.scalar import ScalarDefinition

from gateway.money import exponent

Long = NewType("Long", int)
"""A 64-bit signed integer, a string in JSON: the GraphQL type of money in minor units,
points, and counts that grow with the data (an ``Int`` is 32-bit, and JavaScript numbers are
exact only to 2^53)."""

LONG_MIN: Final = -(2**63)
LONG_MAX: Final = 2**63 - 1
_LONG_TEXT = re.compile(r"-?[0-9]{1,19}")


def _serialize_long(value: object) -> str:
    if not isinstance(value, int) or not LONG_MIN <= value <= LONG_MAX:
        raise ValueError(f"Long cannot represent {value!r}: not a 64-bit integer.")
    return str(int(value))  # int(): bson's Int64 prints itself as "Int64(...)"


def _parse_long(value: object) -> Long:
    """An input Long; a GraphQLError (not a ValueError) makes it the client's error."""
    if not isinstance(value, str) or not _LONG_TEXT.fullmatch(value):
        raise GraphQLError('Long is a string of base-10 digits, e.g. "12345": a number or '
                           "other text is refused.")
    number = int(value)
    if not LONG_MIN <= number <= LONG_MAX:
        raise GraphQLError(f"Long is between {LONG_MIN} and {LONG_MAX}.")
    return Long(number)


LONG_SCALAR: Final = strawberry.scalar(
    name="Long",
    description=(
        "A 64-bit signed integer (-9223372036854775808 to 9223372036854775807) encoded as a "
        'string of base-10 digits, e.g. "2702344591": money in minor units, points and '
        "counts that grow with the data. Inputs are strings too; a JSON number is refused."
    ),
    specified_by_url="https://scalars.graphql.org/jakobmerrild/long.html",
    serialize=_serialize_long,
    parse_value=_parse_long,
)
LocalDateTime = NewType("LocalDateTime", datetime)
"""A wall-clock date and time without an offset (a naive ``datetime``): a campaign's window,
read in each channel's own time zone."""

_LOCAL_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?")


def _serialize_local(value: object) -> str:
    if not isinstance(value, datetime) or value.tzinfo is not None:
        raise ValueError(f"LocalDateTime cannot represent {value!r}: not a naive datetime.")
    return value.isoformat(timespec="seconds")


def _parse_local(value: object) -> LocalDateTime:
    if not isinstance(value, str) or not _LOCAL_TEXT.fullmatch(value):
        raise GraphQLError("LocalDateTime is a local date and time without an offset, "
                           'YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS, e.g. "2026-10-01T00:00".')
    try:
        return LocalDateTime(datetime.fromisoformat(value))
    except ValueError:
        raise GraphQLError(f"LocalDateTime {value!r} is not a date and time.") from None


LOCAL_DATE_TIME_SCALAR: Final = strawberry.scalar(
    name="LocalDateTime",
    description=(
        "A wall-clock date and time without an offset, YYYY-MM-DDTHH:MM[:SS] (answers always "
        'carry the seconds, e.g. "2026-10-01T00:00:00"); its time zone is given by context '
        "(a campaign's window is read in each channel's own zone)."
    ),
    specified_by_url=(
        "https://html.spec.whatwg.org/multipage/common-microsyntaxes.html#local-dates-and-times"
    ),
    serialize=_serialize_local,
    parse_value=_parse_local,
)
# Python types the schema maps to custom scalars (StrawberryConfig.scalar_map).
SCALAR_MAP: Final[dict[object, ScalarDefinition]] = {Long: LONG_SCALAR,
                                                      LocalDateTime: LOCAL_DATE_TIME_SCALAR}

# strawberry's DateTime and Decimal, with the specifications a client can code against
# (``@specifiedBy``): codegen maps both to strings (docs/clients.md). Schema(scalar_overrides=).
SCALAR_OVERRIDES: dict[object, Any] = {
    datetime: dataclasses.replace(
        DateTimeDefinition,
        description="A moment: an RFC 3339 date-time with its offset (the gateway answers in "
        "UTC, e.g. 2026-05-05T10:00:00+00:00). Inputs may leave the offset out, which means UTC.",
        specified_by_url="https://datatracker.ietf.org/doc/html/rfc3339#section-5.6",
    ),
    Decimal: dataclasses.replace(
        DecimalDefinition,
        description="An exact decimal number as a string: optional sign, digits, and a '.' "
        "followed by digits (e.g. \"12.50\"); never an exponent, never a float.",
        specified_by_url="https://www.w3.org/TR/xmlschema11-2/#decimal",
        serialize=lambda value: format(value, "f"),
    ),
}


@strawberry.type(description="An amount of money: exact, in a currency (ISO 4217).")
class Money:
    amount: Decimal = strawberry.field(
        description="The amount as a decimal string, e.g. \"12.50\"; exact, never a float."
    )
    currency_code: str = strawberry.field(description="ISO 4217 currency code, e.g. CNY, USD.")
    minor_units: Long = strawberry.field(
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
        minor_units=Long(minor_units),
    )
