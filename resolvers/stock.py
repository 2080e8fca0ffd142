"""Stock that moves: movements (every change of on-hand units) and transfers between
locations, and the lists of a location's levels and of movements."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from gateway import ids
from gateway.clock import utc
from gateway.context import Info
from gateway.database import stock as repo
from gateway.database.query import Keyset
from gateway.errors import BadUserInput
from gateway.loaders.stock import InventoryQuery, ProductMovementsQuery
from resolvers.channels import Location, load_location
from resolvers.node import Node
from resolvers.products import Product, StockLevel, load_product
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

if TYPE_CHECKING:
    from resolvers.orders import Order


@strawberry.enum(description="What changed a location's on-hand units.")
class MovementKind(Enum):
    ADJUSTMENT = strawberry.enum_value(
        "ADJUSTMENT", description="adjustStock: a delivery, a count, damage.")
    TRANSFER_OUT = strawberry.enum_value(
        "TRANSFER_OUT", description="A transfer shipped: the units left for another location.")
    TRANSFER_IN = strawberry.enum_value(
        "TRANSFER_IN", description="A transfer received: the units arrived from another location.")
    SHIPMENT = strawberry.enum_value(
        "SHIPMENT", description="An order's units shipped from here.")
    PICKUP = strawberry.enum_value(
        "PICKUP", description="An order's units collected here by the customer.")
    SALE = strawberry.enum_value(
        "SALE", description="An order's units sold at the till or counter here, recorded "
        "when the order was imported (importOrders).")
    RETURN = strawberry.enum_value(
        "RETURN", description="Returned units put back on the shelf here.")


@strawberry.type(description="One change of a location's on-hand units, with what made it.")
class StockMovement(Node):
    id: strawberry.ID = strawberry.field(description="Movement id, prefix mov_.")
    kind: MovementKind = strawberry.field(description="What made the change.")
    sku: strawberry.ID = strawberry.field(description="The product's SKU.")
    delta: int = strawberry.field(
        description="Units added (positive) or removed (negative): at most "
        "OMNIGW_MAX_STOCK_ADJUSTMENT in size for adjustments and transfers, "
        "OMNIGW_MAX_LINE_QUANTITY for an order's units.")
    before: int | None = strawberry.field(
        description="On-hand units before, 0 to OMNIGW_MAX_STOCK_LEVEL; null when the change "
        "was recorded by a retry that found it already made.")
    after: int | None = strawberry.field(
        description="On-hand units after, 0 to OMNIGW_MAX_STOCK_LEVEL; null as `before`.")
    reason: str = strawberry.field(
        description="Why: adjustStock's reason, a transfer's note, or the step that made it.")
    by: str | None = strawberry.field(
        description="Who made the change (the caller's key name); null for a partner.")
    at: datetime = strawberry.field(description="When (UTC).")
    location_id: strawberry.ID = strawberry.field(description="The location (loc_ id).")
    transfer_id: strawberry.Private[str | None]
    order_id: strawberry.Private[str | None]

    @strawberry.field(description="The product; null if it left the catalogue.")
    async def product(self, info: Info) -> Product | None:
        return await load_product(info, self.sku)

    @strawberry.field(description="Where the units changed.")
    async def location(self, info: Info) -> Location | None:
        return await load_location(info, self.location_id)

    @strawberry.field(description="The transfer that moved the units; null for other kinds, "
                      "or when the caller may not see it.")
    async def transfer(self, info: Info) -> Transfer | None:
        return await load_transfer(info, self.transfer_id)

    @strawberry.field(description="The order whose units these were (a shipment, a pick-up, "
                      "a sale, a return); null for other kinds, or when the caller may not "
                      "see it.")
    async def order(
        self, info: Info
    ) -> Annotated[Order, strawberry.lazy("resolvers.orders")] | None:
        from resolvers.orders import load_order

        return None if self.order_id is None else await load_order(info, self.order_id)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> StockMovement:
        return cls(
            id=strawberry.ID(doc["_id"]), kind=MovementKind(doc.get("kind", "ADJUSTMENT")),
            sku=strawberry.ID(doc["sku"]), delta=doc["delta"], before=doc.get("before"),
            after=doc.get("after"), reason=doc["reason"], by=doc.get("by"),
            at=utc(doc["at"]), location_id=strawberry.ID(doc["location_id"]),
            transfer_id=doc.get("transfer_id"), order_id=doc.get("order_id"),
        )


async def load_movement(info: Info, movement_id: str) -> StockMovement | None:
    doc = await info.context.loaders.movements_by_id.load(movement_id)
    return None if doc is None else StockMovement.from_doc(doc)


@strawberry.enum(description="Where a transfer is in its life.")
class TransferStatus(Enum):
    CREATED = strawberry.enum_value(
        "CREATED", description="Units reserved at the source, announced at the destination.")
    IN_TRANSIT = strawberry.enum_value(
        "IN_TRANSIT", description="Shipped: the units left the source.")
    RECEIVED = strawberry.enum_value(
        "RECEIVED", description="The units arrived at the destination.")
    CANCELLED = strawberry.enum_value(
        "CANCELLED", description="Cancelled before it shipped: the units stayed at the source.")


@strawberry.type(description="One line of a transfer.")
class TransferLine:
    sku: strawberry.ID = strawberry.field(description="The product's SKU.")
    quantity: int = strawberry.field(
        description="Units moved, 1 to OMNIGW_MAX_STOCK_ADJUSTMENT when it was created.")

    @strawberry.field(description="The product; null if it left the catalogue.")
    async def product(self, info: Info) -> Product | None:
        return await load_product(info, self.sku)


@strawberry.type(description="Units moved from one location to another: created (reserved at "
                 "the source), in transit (shipped), received, or cancelled.")
class Transfer(Node):
    id: strawberry.ID = strawberry.field(description="Transfer id, prefix trf_.")
    status: TransferStatus = strawberry.field(description="Where it is in its life.")
    lines: list[TransferLine] = strawberry.field(description="What moves (1 to 50 lines).")
    note: str | None = strawberry.field(description="The note given when it was created.")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    shipped_at: datetime | None = strawberry.field(description="When it shipped; null before.")
    received_at: datetime | None = strawberry.field(
        description="When it was received; null before.")
    cancelled_at: datetime | None = strawberry.field(
        description="When it was cancelled; null unless it was.")
    source_id: strawberry.Private[str]
    destination_id: strawberry.Private[str]

    @strawberry.field(name="from", description="Where the units leave from.")
    async def source(self, info: Info) -> Location | None:
        return await load_location(info, self.source_id)

    @strawberry.field(name="to", description="Where the units go.")
    async def destination(self, info: Info) -> Location | None:
        return await load_location(info, self.destination_id)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Transfer:
        def at(key: str) -> datetime | None:
            return None if doc.get(key) is None else utc(doc[key])

        return cls(
            id=strawberry.ID(doc["_id"]), status=TransferStatus(doc["status"]),
            lines=[TransferLine(sku=strawberry.ID(x["sku"]), quantity=x["quantity"])
                   for x in doc["lines"]],
            note=doc.get("note"), created_at=utc(doc["created_at"]),
            shipped_at=at("shipped_at"), received_at=at("received_at"),
            cancelled_at=at("cancelled_at"), source_id=doc["from_location_id"],
            destination_id=doc["to_location_id"],
        )


async def load_transfer(info: Info, transfer_id: str | None) -> Transfer | None:
    if transfer_id is None:
        return None
    doc = await info.context.loaders.transfers_by_id.load(transfer_id)
    return None if doc is None else Transfer.from_doc(doc)


@strawberry.input(description="Narrows a location's stock list; all fields optional, combined "
                  "with AND.")
class InventoryFilter:
    low_stock: bool | None = strawberry.field(
        default=None, description="true: only levels with at most OMNIGW_LOW_STOCK_UNITS units "
        "available (on hand less reserved); false: only those above.")
    sku: strawberry.ID | None = strawberry.field(
        default=None, description="Only this product (sku_ id).")
    category: str | None = strawberry.field(
        default=None, description="Only products of this category, 1 to 100 characters.")


async def inventory(
    info: Info, location_id: str, filter: InventoryFilter | None, first: int | None,
    after: str | None, last: int | None, before: str | None,
) -> Connection[StockLevel]:
    """``Location.inventory``: a page of the location's levels, by SKU."""
    f = filter or InventoryFilter()
    sku = ids.check(f.sku, "sku_", field="sku") if f.sku is not None else None
    if f.category is not None and not 1 <= len(f.category) <= 100:
        raise BadUserInput("`category` must be 1 to 100 characters.", field="category")
    tag = list_tag("Location.inventory", location_id, f.low_stock, sku, f.category)
    page = paging(first=first, after=after, last=last, before=before, tag=tag, timed=False)
    query = InventoryQuery(paging=page, low_stock=f.low_stock,
                           low_stock_units=info.context.settings.low_stock_units, sku=sku,
                           category=f.category)
    docs = await info.context.loaders.inventory_by_location.load((location_id, query))
    return connection(docs, page, StockLevel.from_doc, lambda d: Keyset(id=d["_id"]), tag)


def _movement_key(doc: dict[str, Any]) -> Keyset:
    return Keyset(id=doc["_id"], at=utc(doc["at"]))


async def location_movements(
    info: Info, location_id: str, first: int | None, after: str | None, last: int | None,
    before: str | None,
) -> Connection[StockMovement]:
    """``Location.movements``: a page of the location's movements, newest first."""
    tag = list_tag("Location.movements", location_id)
    page = paging(first=first, after=after, last=last, before=before, tag=tag, timed=True)
    docs = await info.context.loaders.movements_by_location.load((location_id, page))
    return connection(docs, page, StockMovement.from_doc, _movement_key, tag)


async def product_movements(
    info: Info, sku: str, location: str | None, first: int | None, after: str | None,
    last: int | None, before: str | None,
) -> Connection[StockMovement]:
    """``Product.movements``: a page of the product's movements, newest first."""
    location_id = ids.check(location, "loc_", field="location") if location else None
    tag = list_tag("Product.movements", sku, location_id)
    page = paging(first=first, after=after, last=last, before=before, tag=tag, timed=True)
    docs = await info.context.loaders.movements_by_sku.load(
        (sku, ProductMovementsQuery(paging=page, location_id=location_id)))
    return connection(docs, page, StockMovement.from_doc, _movement_key, tag)


@strawberry.input(description="Narrows the transfer list; all fields optional, combined "
                  "with AND.")
class TransferFilter:
    location: strawberry.ID | None = strawberry.field(
        default=None, description="Only transfers from or to this location (loc_ id).")
    statuses: list[TransferStatus] | None = strawberry.field(
        default=None, description="Only transfers in one of these statuses.")


@strawberry.type
class TransferQuery:
    @strawberry.field(description="Transfers between locations, newest first; a partner sees "
                      "those between locations of its channels.")
    async def transfers(
        self, info: Info,
        filter: Annotated[TransferFilter | None, strawberry.argument(
            description="Optional filter.")] = None,
        first: FirstArgument = None, after: AfterArgument = None,
        last: LastArgument = None, before: BeforeArgument = None,
    ) -> Connection[Transfer]:
        f = filter or TransferFilter()
        location_id = ids.check(f.location, "loc_", field="location") if f.location else None
        statuses = None if f.statuses is None else sorted(s.name for s in f.statuses)
        tag = list_tag("transfers", location_id, statuses)
        page = paging(first=first, after=after, last=last, before=before, tag=tag, timed=True)
        docs = await repo.list_transfers(info.context.db, scope=info.context.scope, paging=page,
                                         location_id=location_id, statuses=statuses)
        return connection(docs, page, Transfer.from_doc,
                          lambda d: Keyset(id=d["_id"], at=utc(d["created_at"])), tag)

