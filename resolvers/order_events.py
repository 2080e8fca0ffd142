"""An order's life after it is placed: its events (shipped, collected, refunded, returned...),
shipments, pick-up, refunds and returns."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from gateway.clock import optional_utc, utc
from gateway.context import Info
from gateway.database.query import Doc
from resolvers.activity import Activity
from resolvers.channels import Location, load_location
from resolvers.node import Node
from resolvers.orders import Order, load_order
from resolvers.payments import Payment, PaymentMethod, load_payment
from resolvers.products import Product, load_product
from resolvers.scalars import Money, money


@strawberry.enum(description="What happened to an order (an OrderEvent).")
class OrderEventKind(Enum):
    SHIPPED = strawberry.enum_value("SHIPPED", description="A shipment left (`shipment`).")
    READY_FOR_PICKUP = strawberry.enum_value(
        "READY_FOR_PICKUP", description="The order waits in a store with a collection code.")
    COLLECTED = strawberry.enum_value("COLLECTED", description="The buyer collected it.")
    PICKUP_EXPIRED = strawberry.enum_value(
        "PICKUP_EXPIRED", description="It was not collected in time: cancelled, money back.")
    COMPLETED = strawberry.enum_value("COMPLETED", description="Delivered.")
    CANCELLED = strawberry.enum_value("CANCELLED", description="Cancelled; money back.")
    CAPTURED = strawberry.enum_value("CAPTURED", description="An authorised payment was "
                                     "captured (`payment`).")
    VOIDED = strawberry.enum_value("VOIDED", description="An authorised payment was voided "
                                   "(`payment`).")
    REFUNDED = strawberry.enum_value("REFUNDED", description="Money went back (`refund`).")
    RETURNED = strawberry.enum_value("RETURNED", description="Units came back (`return`).")


@strawberry.type(description="Units of one order line in a shipment or a return.")
class UnitsLine:
    sku: strawberry.ID = strawberry.field(description="The product's SKU.")
    quantity: int = strawberry.field(
        description="Units, 1 to the line's quantity (at most OMNIGW_MAX_LINE_QUANTITY).")

    @strawberry.field(description="The product; null if it left the catalogue.")
    async def product(self, info: Info) -> Product | None:
        return await load_product(info, self.sku)


@strawberry.type(
    name="OrderShipment",
    description="Goods of an order handed to a carrier (named apart from the `Shipment` a "
    "logistics partner's subgraph may define, so both compose).")
class Shipment:
    id: strawberry.ID = strawberry.field(
        description="Shipment id, prefix shp_ (found on its order, not by node).")
    carrier: str = strawberry.field(description="The carrier, as given.")
    tracking_number: str = strawberry.field(description="The carrier's tracking number.")
    lines: list[UnitsLine] = strawberry.field(description="The units shipped.")
    shipped_at: datetime = strawberry.field(description="When it left (UTC).")
    location_id: strawberry.Private[str]

    @strawberry.field(description="Where it left from; null when the caller may not see it.")
    async def location(self, info: Info) -> Location | None:
        return await load_location(info, self.location_id)

    @classmethod
    def from_doc(cls, doc: Doc) -> Shipment:
        return cls(id=strawberry.ID(doc["id"]), carrier=doc["carrier"],
                   tracking_number=doc["tracking_number"],
                   lines=[UnitsLine(sku=strawberry.ID(x["sku"]), quantity=x["quantity"])
                          for x in doc["lines"]],
                   shipped_at=utc(doc["at"]), location_id=doc["location_id"])


@strawberry.enum(description="Where a pick-up in store stands.")
class PickupStatus(Enum):
    READY = strawberry.enum_value("READY", description="Waiting in the store.")
    COLLECTED = strawberry.enum_value("COLLECTED", description="Collected by the buyer.")
    EXPIRED = strawberry.enum_value("EXPIRED", description="Not collected in time.")


@strawberry.type(description="An order waiting in a store or outlet for its buyer.")
class Pickup:
    status: PickupStatus = strawberry.field(description="Ready, collected or expired.")
    code: str = strawberry.field(
        description="The 6-digit collection code the buyer shows (collectOrder checks it).")
    ready_at: datetime = strawberry.field(description="When it was made ready (UTC).")
    expires_at: datetime = strawberry.field(
        description="Until when it waits (OMNIGW_PICKUP_HOLD_HOURS after readyAt).")
    collected_at: datetime | None = strawberry.field(description="When it was collected.")
    location_id: strawberry.Private[str]

    @strawberry.field(description="The store or outlet; null when the caller may not see it.")
    async def location(self, info: Info) -> Location | None:
        return await load_location(info, self.location_id)

    @classmethod
    def from_doc(cls, doc: Doc) -> Pickup:
        return cls(status=PickupStatus(doc["status"]), code=doc["code"],
                   ready_at=utc(doc["ready_at"]), expires_at=utc(doc["expires_at"]),
                   collected_at=optional_utc(doc.get("collected_at")),
                   location_id=doc["location_id"])


@strawberry.type(description="Money given back to the payment it came from.")
class Refund(Node):
    id: strawberry.ID = strawberry.field(description="Refund id, prefix rfd_.")
    amount: Money = strawberry.field(description="How much, in the payment's currency.")
    amount_base: Money = strawberry.field(
        description="The same in the base currency, at the order's FX snapshot.")
    method: PaymentMethod = strawberry.field(description="The method of the payment refunded.")
    reason: str = strawberry.field(description="Why, as given (or 'order cancelled').")
    lines: list[UnitsLine] = strawberry.field(
        description="The units it pays back, for a refund by lines or a return; else empty.")
    at: datetime = strawberry.field(description="When (UTC).")
    payment_id: strawberry.Private[str]
    order_id: strawberry.Private[str]
    location_id: strawberry.Private[str | None]
    return_id: strawberry.Private[str | None]

    @strawberry.field(description="The payment refunded.")
    async def payment(self, info: Info) -> Payment | None:
        return await load_payment(info, self.payment_id)

    @strawberry.field(description="The order.")
    async def order(self, info: Info) -> Order | None:
        return await load_order(info, self.order_id)

    @strawberry.field(description="Where it was asked for (a return's location); null when "
                      "not given or not visible.")
    async def location(self, info: Info) -> Location | None:
        return await load_location(info, self.location_id)

    @strawberry.field(name="return", description="The return it pays for, if any.")
    async def return_(self, info: Info) -> Return | None:
        return await load_return(info, self.return_id)

    @classmethod
    def from_doc(cls, doc: Doc, base_currency: str) -> Refund:
        return cls(id=strawberry.ID(doc["_id"]), amount=money(doc["amount"], doc["currency"]),
                   amount_base=money(doc["amount_base"], base_currency),
                   method=PaymentMethod(doc["method"]), reason=doc["reason"],
                   lines=[UnitsLine(sku=strawberry.ID(x["sku"]), quantity=x["quantity"])
                          for x in doc.get("lines", [])],
                   at=utc(doc["at"]), payment_id=doc["payment_id"], order_id=doc["order_id"],
                   location_id=doc.get("location_id"), return_id=doc.get("return_id"))


@strawberry.type(description="Units of one line taken back.")
class ReturnLine:
    sku: strawberry.ID = strawberry.field(description="The product's SKU.")
    quantity: int = strawberry.field(
        description="Units returned "
        "(at most the line's quantity, itself at most OMNIGW_MAX_LINE_QUANTITY).")
    unit_price: Money = strawberry.field(description="Price of one unit, as charged.")
    restocked: bool = strawberry.field(
        description="True: back on the shelf of the return location; false: written off.")
    write_off_reason: str | None = strawberry.field(description="Why it was written off.")

    @strawberry.field(description="The product; null if it left the catalogue.")
    async def product(self, info: Info) -> Product | None:
        return await load_product(info, self.sku)


@strawberry.type(description="Units of a delivered order taken back, in any channel's "
                 "location, and refunded to the original payments.")
class Return(Node):
    id: strawberry.ID = strawberry.field(description="Return id, prefix ret_.")
    lines: list[ReturnLine] = strawberry.field(description="The units taken back.")
    reason: str = strawberry.field(description="Why, as given.")
    refunded: Money = strawberry.field(
        description="What was refunded for them (less when the order was not paid in full).")
    at: datetime = strawberry.field(description="When (UTC).")
    order_id: strawberry.Private[str]
    location_id: strawberry.Private[str]
    refund_ids: strawberry.Private[list[str]]

    @strawberry.field(description="The order.")
    async def order(self, info: Info) -> Order | None:
        return await load_order(info, self.order_id)

    @strawberry.field(description="Where the units came back; null when not visible.")
    async def location(self, info: Info) -> Location | None:
        return await load_location(info, self.location_id)

    @strawberry.field(description="The refunds made for it, one per payment refunded.")
    async def refunds(self, info: Info) -> list[Refund]:
        docs = await info.context.loaders.refunds_by_id.load_many(self.refund_ids)
        base = info.context.settings.base_currency
        return [Refund.from_doc(d, base) for d in docs if d is not None]

    @classmethod
    def from_doc(cls, doc: Doc) -> Return:
        currency = doc["currency"]
        return cls(
            id=strawberry.ID(doc["_id"]), reason=doc["reason"],
            lines=[ReturnLine(sku=strawberry.ID(x["sku"]), quantity=x["quantity"],
                              unit_price=money(x["unit_price"], currency),
                              restocked=x.get("write_off_reason") is None,
                              write_off_reason=x.get("write_off_reason"))
                   for x in doc["lines"]],
            refunded=money(doc["refunded"], currency), at=utc(doc["at"]),
            order_id=doc["order_id"], location_id=doc["location_id"],
            refund_ids=list(doc.get("refund_ids", [])))


@strawberry.type(description="A step of an order's life after it was placed: in the "
                 "member's history, the memberActivity and channelOrders subscriptions and "
                 "Order.events.")
class OrderEvent(Activity):
    id: strawberry.ID = strawberry.field(description="Event id, prefix oev_.")
    kind: OrderEventKind = strawberry.field(description="What happened.")
    shipment: Shipment | None = strawberry.field(description="For SHIPPED: the shipment.")
    order_id: strawberry.Private[str]
    payment_id: strawberry.Private[str | None]
    refund_id: strawberry.Private[str | None]
    return_id: strawberry.Private[str | None]

    @strawberry.field(description="The order.")
    async def order(self, info: Info) -> Order | None:
        return await load_order(info, self.order_id)

    @strawberry.field(description="For CAPTURED and VOIDED: the payment.")
    async def payment(self, info: Info) -> Payment | None:
        return await load_payment(info, self.payment_id)

    @strawberry.field(description="For REFUNDED: the refund.")
    async def refund(self, info: Info) -> Refund | None:
        return await load_refund(info, self.refund_id)

    @strawberry.field(name="return", description="For RETURNED: the return.")
    async def return_(self, info: Info) -> Return | None:
        return await load_return(info, self.return_id)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> OrderEvent:
        shipment = doc.get("shipment")
        return cls(
            id=strawberry.ID(doc["_id"]), at=utc(doc["at"]), channel_id=doc["channel_id"],
            location_id=doc.get("location_id"), member_id=doc.get("member_id"),
            kind=OrderEventKind(doc["kind"]), order_id=doc["order_id"],
            shipment=Shipment.from_doc(shipment) if shipment else None,
            payment_id=doc.get("payment_id"), refund_id=doc.get("refund_id"),
            return_id=doc.get("return_id"))


async def load_event(info: Info, event_id: str | None) -> OrderEvent | None:
    if event_id is None:
        return None
    doc = await info.context.loaders.events_by_id.load(event_id)
    return None if doc is None else OrderEvent.from_doc(doc)


async def load_refund(info: Info, refund_id: str | None) -> Refund | None:
    if refund_id is None:
        return None
    doc = await info.context.loaders.refunds_by_id.load(refund_id)
    return None if doc is None else Refund.from_doc(doc, info.context.settings.base_currency)


async def load_return(info: Info, return_id: str | None) -> Return | None:
    if return_id is None:
        return None
    doc = await info.context.loaders.returns_by_id.load(return_id)
    return None if doc is None else Return.from_doc(doc)

