"""Shared mutation types: typed user errors and the identity reference input."""

from __future__ import annotations

import contextlib
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.dataloader import DataLoader

from gateway.database.scope import Scope
from gateway.errors import Forbidden, Rejected


@strawberry.enum(description="Stable codes of the expected failures of a mutation.")
class UserErrorCode(Enum):
    NOT_FOUND = strawberry.enum_value(
        "NOT_FOUND", description="A channel, location, SKU, member, order... does not exist.")
    INVALID = strawberry.enum_value(
        "INVALID", description="A value is malformed, out of range or not allowed here.")
    INSUFFICIENT_STOCK = strawberry.enum_value(
        "INSUFFICIENT_STOCK", description="Not enough units available; `field` names the line.")
    IDEMPOTENCY_KEY_REUSED = strawberry.enum_value(
        "IDEMPOTENCY_KEY_REUSED", description="The key was already used with another input.")
    IDEMPOTENCY_KEY_IN_USE = strawberry.enum_value(
        "IDEMPOTENCY_KEY_IN_USE",
        description="A request with this key is still running; retry shortly (retryable).")
    IDENTITY_TAKEN = strawberry.enum_value(
        "IDENTITY_TAKEN", description="Another member already holds this identity.")
    PHONE_TAKEN = strawberry.enum_value(
        "PHONE_TAKEN", description="Another member already has this phone number (E.164).")
    CURRENCY_MISMATCH = strawberry.enum_value(
        "CURRENCY_MISMATCH", description="The currency differs from the channel's or order's.")
    OVERPAYMENT = strawberry.enum_value(
        "OVERPAYMENT", description="Payments would exceed the order total.")
    OVERREFUND = strawberry.enum_value(
        "OVERREFUND", description="Refunds would exceed what the payment captured.")
    STOCK_CHANGED = strawberry.enum_value(
        "STOCK_CHANGED", description="On-hand stock is not the expected value (compare-and-set).")
    CONFLICT = strawberry.enum_value(
        "CONFLICT", description="The object is in a state that does not allow this change.")
    LIMIT_EXCEEDED = strawberry.enum_value(
        "LIMIT_EXCEEDED",
        description="A quantity or amount is above a ceiling of the gateway (the message names "
        "the setting and its value).")
    COUPON_EXHAUSTED = strawberry.enum_value(
        "COUPON_EXHAUSTED", description="Every use of the coupon is taken (one winner per use).")
    COUPON_NOT_APPLICABLE = strawberry.enum_value(
        "COUPON_NOT_APPLICABLE",
        description="The coupon's campaign does not run in this channel now, or gives no "
        "discount on this order; nothing was written and the coupon is not spent.")
    INSUFFICIENT_POINTS = strawberry.enum_value(
        "INSUFFICIENT_POINTS", description="The member holds fewer points than asked.")


@strawberry.type(description="An expected failure of a mutation: data, not an exception.")
class UserError:
    field: str | None = strawberry.field(
        description="The input field at fault as a dotted path (e.g. `lines.2.sku`), if any.")
    code: UserErrorCode = strawberry.field(description="Stable machine-readable code.")
    message: str = strawberry.field(description="What went wrong, for people.")


def forget(loader: DataLoader[Any, Any], key: Any) -> None:
    """Drop ``key`` from a request's loader, if cached: a write changed it, the payload
    reads it again."""
    with contextlib.suppress(KeyError):
        loader.clear(key)


def user_errors(exc: Rejected) -> list[UserError]:
    return [UserError(field=e.field, code=UserErrorCode(e.code), message=e.message)
            for e in exc.errors]


@strawberry.input(description="A member named by one of their channel identities.")
class IdentityInput:
    channel: strawberry.ID = strawberry.field(description="The channel (ch_ id).")
    external_id: str = strawberry.field(
        description="The channel's own id for the member, 1 to 128 characters.")


IDEMPOTENCY_KEY = (
    "Makes the create exactly once: 1 to 255 characters, unique per caller and mutation, kept "
    "at least 24 hours. A replay with the same input returns the same payload and writes "
    "nothing; the same key with another input gives IDEMPOTENCY_KEY_REUSED."
)
KEY = Annotated[str, strawberry.argument(description=IDEMPOTENCY_KEY)]
"""The ``idempotencyKey`` argument of a mutation that takes no input object."""


def admin_only(scope: Scope, mutation: str) -> None:
    """Campaigns, coupons and exchange rates are the brand's decisions: FORBIDDEN for a
    partner key (a GraphQL error, no payload)."""
    if not scope.unrestricted:
        raise Forbidden(f"{mutation} needs an admin key.")
