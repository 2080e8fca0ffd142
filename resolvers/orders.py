"""Orders: lines, totals, status and payments."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from gateway import ids
from gateway.clock import utc
from gateway.commerce.operations import captured, delivered
from gateway.context import Info
from gateway.database import activity as repo
from resolvers.activity import (
    Activity,
    ActivityStatus,
    activity_filter,
    check_statuses,
    time_key,
)
from resolvers.products import Product, product_of
from resolvers.relations import MaybeAwaitable, relation, relation_field
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
from resolvers.scalars import Money, money

if TYPE_CHECKING:
    from resolvers.campaigns import Campaign
    from resolvers.fx import FxSnapshot
    from resolvers.order_events import OrderEvent, Pickup, Shipment
    from resolvers.payments import Payment


@strawberry.enum(description="Where a line's discount came from.")
class DiscountLevel(Enum):
    LINE = strawberry.enum_value("LINE", description="A rule on the line's SKU.")
    ORDER = strawberry.enum_value(
        "ORDER", description="The line's share of an order discount (in proportion to what "
        "the line cost after its own discount).")


@strawberry.type(description="What one campaign took off one order line.")
class LineDiscount:
    amount: Money = strawberry.field(description="Taken off the line, order currency.")
    level: DiscountLevel = strawberry.field(description="A line rule, or a share of an order "
                                            "rule.")
    campaign_id: strawberry.Private[str]

    @strawberry.field(description="The campaign.")
    async def campaign(
        self, info: Info
    ) -> Annotated[Campaign, strawberry.lazy("resolvers.campaigns")] | None:
        from resolvers.campaigns import load_campaign

        return await load_campaign(info, self.campaign_id)


@strawberry.type(description="One line of an order.")
class OrderLine:
    sku: strawberry.ID = strawberry.field(description="The product's SKU.")
    quantity: int = strawberry.field(
        description="Units ordered: 1 to OMNIGW_MAX_LINE_QUANTITY (default 999, never above "
        "1,000,000) when the order was written.")
    unit_price: Money = strawberry.field(description="Price of one unit, as charged.")
    line_total: Money = strawberry.field(description="quantity x unitPrice (before discounts).")
    shipped: int = strawberry.field(
        description="Units that reached the buyer: shipped or collected (all of them for a "
        "sale imported from a till) "
        "(at most the line's quantity, itself at most OMNIGW_MAX_LINE_QUANTITY).")
    returned: int = strawberry.field(
        description="Units returned (returnOrder) "
        "(at most the line's quantity, itself at most OMNIGW_MAX_LINE_QUANTITY).")
    discount: Money = strawberry.field(
        description="Taken off the line by promotions (0 when none), order currency.")
    discounts: list[LineDiscount] = strawberry.field(
        description="Who took what off the line: at most one line rule and one share of an "
        "order rule.")

    @relation_field(description="The product; null if it left the catalogue.",
                      graphql_type=Product | None)
    def product(self, info: Info) -> MaybeAwaitable[Product | None]:
        return product_of(info, self.sku)


@strawberry.federation.type(
    keys=[ids.key_of("Order")],
    description="An order placed in any channel.",
)
class Order(Activity):
    id: strawberry.ID = strawberry.field(description="Order id, prefix ord_.")
    lines: list[OrderLine] = strawberry.field(description="The order's lines.")
    total: Money = strawberry.field(
        description="What the order costs, in the channel's currency: subtotal - discount.")
    subtotal: Money = strawberry.field(description="The lines at their offers' prices.")
    discount: Money = strawberry.field(
        description="Taken off by promotions (the sum of the lines' discounts).")
    coupon: str | None = strawberry.field(description="The coupon code used, if any.")
    status: ActivityStatus = strawberry.field(
        description="Current status: PLACED, PAID, SHIPPED, COMPLETED or CANCELLED (see "
        "docs/writing.md for the transitions)."
    )
    placed_at: datetime = strawberry.field(description="When it was placed (UTC).")
    paid: Money = strawberry.field(description="Captured so far (gross of refunds).")
    authorized: Money = strawberry.field(
        description="Authorised and not yet captured or voided.")
    refunded: Money = strawberry.field(
        description="Refunded so far; revenue and lifetime value count total less refunded.")
    shipments: list[Annotated[Shipment, strawberry.lazy("resolvers.order_events")]] = (
        strawberry.field(description="Shipments, oldest first (at most 20)."))
    pickup: Annotated[Pickup, strawberry.lazy("resolvers.order_events")] | None = (
        strawberry.field(description="The pick-up in store, once made ready; else null."))
    doc: strawberry.Private[dict[str, Any]]

    @strawberry.field(description="The exchange rate and base-currency total the order was "
                      "saved with (a later setFxRate does not change them); null for an order "
                      "without a snapshot.")
    def fx(
        self, info: Info
    ) -> Annotated[FxSnapshot, strawberry.lazy("resolvers.fx")] | None:
        from resolvers.fx import snapshot_of

        return snapshot_of(self.doc, "total_base", info.context.settings.base_currency)

    @relation_field(
        description="Payments made for this order, oldest first.",
        graphql_type=list[Annotated["Payment", strawberry.lazy("resolvers.payments")]])
    def payments(self, info: Info) -> MaybeAwaitable[list[Payment]]:
        from resolvers.payments import payments_of

        return relation(info.context.loaders.payments_by_order, self.id, payments_of)

    @strawberry.field(description="What happened to the order after it was placed (shipped, "
                      "collected, refunded, returned...), newest first.")
    async def events(
        self, info: Info, first: FirstArgument = None, after: AfterArgument = None,
        last: LastArgument = None, before: BeforeArgument = None,
    ) -> Connection[Annotated[OrderEvent, strawberry.lazy("resolvers.order_events")]]:
        from resolvers.order_events import OrderEvent

        tag = list_tag("events", self.id)
        page = paging(first=first, after=after, last=last, before=before, tag=tag, timed=True)
        docs = await info.context.loaders.events_by_order.load((self.id, page))
        return connection(docs, page, OrderEvent.from_doc, time_key("at"), tag)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Order:
        from resolvers.order_events import Pickup, Shipment

        currency = doc["currency"]
        placed_at = utc(doc["placed_at"])
        return cls(
            id=strawberry.ID(doc["_id"]),
            at=placed_at,
            placed_at=placed_at,
            channel_id=doc["channel_id"],
            location_id=doc.get("location_id"),
            member_id=doc.get("member_id"),
            lines=[
                OrderLine(
                    sku=strawberry.ID(line["sku"]),
                    quantity=line["quantity"],
                    unit_price=money(line["unit_price"], currency),
                    line_total=money(line["unit_price"] * line["quantity"], currency),
                    shipped=delivered(line, doc),
                    returned=line.get("returned", 0),
                    discount=money(line.get("discount", 0), currency),
                    discounts=[LineDiscount(amount=money(d["amount"], currency),
                                            level=DiscountLevel(d["level"]),
                                            campaign_id=d["campaign_id"])
                               for d in line.get("discounts", ())],
                )
                for line in doc["lines"]
            ],
            total=money(doc["total"], currency),
            subtotal=money(doc.get("subtotal", doc["total"]), currency),
            discount=money(doc.get("discount", 0), currency),
            coupon=(doc.get("coupon") or {}).get("code"),
            status=ActivityStatus(doc["status"]),
            paid=money(captured(doc), currency),
            authorized=money(doc.get("authorized", 0), currency),
            refunded=money(doc.get("refunded", 0), currency),
            shipments=[Shipment.from_doc(x) for x in doc.get("shipments", [])],
            pickup=Pickup.from_doc(doc["pickup"]) if doc.get("pickup") else None,
            doc=doc,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Order | None:
        return await load_order(info, ids.check(id, "ord_"))


async def load_order(info: Info, order_id: str | None) -> Order | None:
    if order_id is None:
        return None
    doc = await info.context.loaders.orders_by_id.load(order_id)
    return None if doc is None else Order.from_doc(doc)


@strawberry.input(description="Narrows an order list; all fields optional, combined with AND.")
class OrderFilter:
    channels: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only these channels (ch_ ids)."
    )
    member: strawberry.ID | None = strawberry.field(default=None, description="One member (mem_).")
    location: strawberry.ID | None = strawberry.field(
        default=None, description="One location (loc_)."
    )
    statuses: list[ActivityStatus] | None = strawberry.field(
        default=None, description="Order statuses (a payment status is BAD_USER_INPUT)."
    )
    since: datetime | None = strawberry.field(default=None, description="Placed at or after.")
    until: datetime | None = strawberry.field(default=None, description="Placed before.")


@strawberry.type
class OrderQuery:
    @strawberry.field(description="One order by id; null when unknown.")
    async def order(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="ord_ id.")]
    ) -> Order | None:
        return await load_order(info, ids.check(id, "ord_"))

    @strawberry.field(description="Orders, newest first, a page at a time.")
    async def orders(
        self,
        info: Info,
        filter: Annotated[OrderFilter | None, strawberry.argument(description="Filter.")] = None,
        first: FirstArgument = None,
        after: AfterArgument = None,
        last: LastArgument = None,
        before: BeforeArgument = None,
    ) -> Connection[Order]:
        f = filter or OrderFilter()
        check_statuses(f.statuses, of="order")
        where = activity_filter(
            channels=f.channels, member=f.member, location=f.location, since=f.since,
            until=f.until,
            statuses=tuple(s.name for s in f.statuses) if f.statuses is not None else None,
        )
        tag = list_tag("orders", where)
        page = paging(first=first, after=after, last=last, before=before, tag=tag, timed=True)
        docs = await repo.page(
            info.context.db, "orders", scope=info.context.scope, where=where, paging=page
        )
        return connection(docs, page, Order.from_doc, time_key("placed_at"), tag)
