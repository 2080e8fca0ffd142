"""Payments made against orders, in every channel's methods."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from gateway import ids
from gateway.clock import utc
from gateway.context import Info
from resolvers.activity import Activity, ActivityStatus
from resolvers.orders import Order, load_order
from resolvers.scalars import Money, money


@strawberry.enum(description="How a payment was made.")
class PaymentMethod(Enum):
    ALIPAY = strawberry.enum_value("ALIPAY", description="Alipay.")
    CARD = strawberry.enum_value("CARD", description="Bank or credit card.")
    CASH = strawberry.enum_value("CASH", description="Cash at a till or outlet.")
    WALLET = strawberry.enum_value("WALLET", description="A mobile wallet.")
    CASH_ON_DELIVERY = strawberry.enum_value("CASH_ON_DELIVERY", description="Paid on delivery.")


@strawberry.federation.type(
    keys=[ids.key_of("Payment")],
    description="A payment for an order.",
)
class Payment(Activity):
    id: strawberry.ID = strawberry.field(description="Payment id, prefix pay_.")
    method: PaymentMethod = strawberry.field(description="How it was paid.")
    amount: Money = strawberry.field(description="Amount in the channel's currency.")
    status: ActivityStatus = strawberry.field(
        description="Current status: AUTHORIZED, CAPTURED, REFUNDED or FAILED."
    )
    paid_at: datetime = strawberry.field(description="When it was paid (UTC).")
    order_id: strawberry.Private[str]

    @strawberry.field(description="The order paid for.")
    async def order(self, info: Info) -> Order | None:
        return await load_order(info, self.order_id)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Payment:
        paid_at = utc(doc["paid_at"])
        return cls(
            id=strawberry.ID(doc["_id"]),
            at=paid_at,
            paid_at=paid_at,
            channel_id=doc["channel_id"],
            location_id=doc.get("location_id"),
            member_id=doc.get("member_id"),
            order_id=doc["order_id"],
            method=PaymentMethod(doc["method"]),
            amount=money(doc["amount"], doc["currency"]),
            status=ActivityStatus(doc["status"]),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Payment | None:
        return await load_payment(info, ids.check(id, "pay_"))


async def load_payment(info: Info, payment_id: str | None) -> Payment | None:
    if payment_id is None:
        return None
    doc = await info.context.loaders.payments_by_id.load(payment_id)
    return None if doc is None else Payment.from_doc(doc)
