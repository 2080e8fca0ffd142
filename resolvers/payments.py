"""Payments made against orders, in every channel's methods."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from gateway import ids
from gateway.clock import optional_utc, utc
from gateway.commerce.refunds import refundable, refunded
from gateway.context import Info
from gateway.database import activity as repo
from resolvers.activity import (
    Activity,
    ActivityStatus,
    activity_filter,
    check_statuses,
    time_key,
)
from resolvers.fx import FxSnapshot, snapshot_of
from resolvers.orders import Order, load_order
from resolvers.relay import (
    AfterArgument,
    BeforeArgument,
    Connection,
    FirstArgument,
    LastArgument,
    connection,
    list_tag,
    paging,
)
from resolvers.scalars import Long, Money, money

if TYPE_CHECKING:
    from resolvers.order_events import Refund


@strawberry.enum(description="How a payment was made.")
class PaymentMethod(Enum):
    ALIPAY = strawberry.enum_value("ALIPAY", description="Alipay.")
    CARD = strawberry.enum_value("CARD", description="Bank or credit card.")
    CASH = strawberry.enum_value("CASH", description="Cash at a till or outlet.")
    WALLET = strawberry.enum_value("WALLET", description="A mobile wallet.")
    CASH_ON_DELIVERY = strawberry.enum_value("CASH_ON_DELIVERY", description="Paid on delivery.")
    POINTS = strawberry.enum_value(
        "POINTS", description="The member's loyalty points (redeemPoints; not for "
        "recordPayment).")


@strawberry.federation.type(
    keys=[ids.key_of("Payment")],
    description="A payment for an order.",
)
class Payment(Activity):
    id: strawberry.ID = strawberry.field(description="Payment id, prefix pay_.")
    method: PaymentMethod = strawberry.field(description="How it was paid.")
    amount: Money = strawberry.field(description="Amount in the channel's currency.")
    status: ActivityStatus = strawberry.field(
        description="Current status: AUTHORIZED, CAPTURED, VOIDED, PARTIALLY_REFUNDED, "
        "REFUNDED or FAILED (see docs/writing.md for the transitions)."
    )
    paid_at: datetime = strawberry.field(
        description="When it was recorded: paid, or authorised (UTC).")
    captured_at: datetime | None = strawberry.field(
        description="When an authorised payment was captured; null otherwise.")
    refunded: Money = strawberry.field(description="Refunded so far, never above `amount`.")
    refundable: Money = strawberry.field(
        description="What can still be refunded: amount less refunded once captured, else 0.")
    points: Long | None = strawberry.field(
        description="The points spent (method POINTS); null for other methods.")
    order_id: strawberry.Private[str]
    doc: strawberry.Private[dict[str, Any]]

    @strawberry.field(description="The exchange rate and base-currency amount the payment was "
                      "saved with (a later setFxRate does not change them); null for a payment "
                      "without a snapshot.")
    def fx(self, info: Info) -> FxSnapshot | None:
        return snapshot_of(self.doc, "amount_base", info.context.settings.base_currency)

    @strawberry.field(description="Its refunds, oldest first (at most 100).")
    async def refunds(
        self, info: Info
    ) -> list[Annotated[Refund, strawberry.lazy("resolvers.order_events")]]:
        from resolvers.order_events import Refund

        docs = await info.context.loaders.refunds_by_payment.load(str(self.id))
        return [Refund.from_doc(d, info.context.settings.base_currency) for d in docs]

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
            captured_at=optional_utc(doc.get("captured_at")),
            refunded=money(refunded(doc), doc["currency"]),
            refundable=money(refundable(doc), doc["currency"]),
            points=doc.get("points"),
            doc=doc,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Payment | None:
        return await load_payment(info, ids.check(id, "pay_"))


def payments_of(docs: list[dict[str, Any]]) -> list[Payment]:
    return [Payment.from_doc(d) for d in docs]


async def load_payment(info: Info, payment_id: str | None) -> Payment | None:
    if payment_id is None:
        return None
    doc = await info.context.loaders.payments_by_id.load(payment_id)
    return None if doc is None else Payment.from_doc(doc)


@strawberry.input(description="Narrows a payment list (a till's or an outlet's cash-up); all "
                  "fields optional, combined with AND.")
class PaymentFilter:
    channels: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only these channels (ch_ ids), at most 50.")
    location: strawberry.ID | None = strawberry.field(
        default=None, description="One store, outlet or warehouse (loc_ id): its till.")
    methods: list[PaymentMethod] | None = strawberry.field(
        default=None, description="Only these methods (e.g. CASH for a cash-up).")
    statuses: list[ActivityStatus] | None = strawberry.field(
        default=None, description="Payment statuses (an order status is BAD_USER_INPUT).")
    member: strawberry.ID | None = strawberry.field(default=None, description="One member.")
    since: datetime | None = strawberry.field(
        default=None, description="Recorded (paid or authorised) at or after.")
    until: datetime | None = strawberry.field(default=None, description="Recorded before.")


@strawberry.type
class PaymentQuery:
    @strawberry.field(description="Payments, newest first, a page at a time: a till's, an "
                      "outlet's or a channel's payments of a day, for its cash-up (each with "
                      "what was refunded of it). A partner sees its channels' payments only.")
    async def payments(
        self,
        info: Info,
        filter: Annotated[PaymentFilter | None, strawberry.argument(description="Filter.")] = None,
        first: FirstArgument = None,
        after: AfterArgument = None,
        last: LastArgument = None,
        before: BeforeArgument = None,
    ) -> Connection[Payment]:
        f = filter or PaymentFilter()
        check_statuses(f.statuses, of="payment")
        where = replace(activity_filter(
            channels=f.channels, member=f.member, location=f.location, since=f.since,
            until=f.until,
            statuses=tuple(s.name for s in f.statuses) if f.statuses is not None else None,
        ), methods=tuple(m.name for m in f.methods) if f.methods is not None else None)
        tag = list_tag("payments", where)
        page = paging(first=first, after=after, last=last, before=before, tag=tag, timed=True)
        docs = await repo.page(info.context.db, "payments", scope=info.context.scope,
                               where=where, paging=page)
        return connection(docs, page, Payment.from_doc, time_key("paid_at"), tag)
