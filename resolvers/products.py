"""Goods: products, their per-channel offers, and stock per location."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from gateway import ids
from gateway.context import Info
from gateway.database import products as repo
from gateway.database.query import Doc, Keyset
from gateway.errors import BadUserInput
from resolvers.channels import Channel, Location, channel_of, load_location
from resolvers.node import Node
from resolvers.relations import MaybeAwaitable, relation, relation_field, resolved
from resolvers.relay import (
    TOTAL_COUNT,
    AfterArgument,
    BeforeArgument,
    Connection,
    Counter,
    FirstArgument,
    LastArgument,
    connection,
    counted,
    list_tag,
    paging,
)
from resolvers.scalars import Long, Money, money

if TYPE_CHECKING:
    from resolvers.stock import StockMovement

MAX_TEXT = 100


@strawberry.type(description="A product's price and availability in one channel.")
class Offer:
    price: Money = strawberry.field(description="Unit price in the channel's currency.")
    listed: bool = strawberry.field(
        description="Whether the channel sells the product (placeOrder refuses it when not).")
    channel_id: strawberry.Private[str]
    sku: strawberry.Private[str]

    @relation_field(description="The channel of this offer.", graphql_type=Channel | None)
    def channel(self, info: Info) -> MaybeAwaitable[Channel | None]:
        return channel_of(info, self.channel_id)

    @strawberry.field(
        description="Units available to promise: on hand and not reserved, summed over the "
        "channel's stock locations (its fulfilment locations; for supermarkets and rural "
        "outlets, its stores or outlets). One order is served from one location, so it may "
        "get fewer than this at once. Read for a whole page of products in one command.")
    async def available_to_promise(self, info: Info) -> Long:
        return Long(await info.context.loaders.availability_by_offer.load(
            (self.sku, self.channel_id)))

    @strawberry.field(
        description="Whether the channel sells the product now: listed, and at least one unit "
        "available to promise. (Before stock was counted this was the listing alone: that is "
        "`listed`.)")
    async def available(self, info: Info) -> bool:
        return self.listed and await self.available_to_promise(info) > 0

    @classmethod
    def from_doc(cls, doc: dict[str, Any], sku: str) -> Offer:
        return cls(
            price=money(doc["price"], doc["currency"]),
            listed=doc["available"],
            channel_id=doc["channel_id"],
            sku=sku,
        )


@strawberry.type(description="Stock of a product at one location.")
class StockLevel(Node):
    id: strawberry.ID = strawberry.field(
        description="Stock level id: stk_<sku>@<location id>, one per product and location "
        "(so a client cache updates the level that adjustStock returns)."
    )
    on_hand: int = strawberry.field(
        description="Units physically at the location, 0 to OMNIGW_MAX_STOCK_LEVEL (default "
        "1,000,000,000; adjustStock keeps it there).")
    reserved: int = strawberry.field(
        description="Units held for placed orders, 0 to onHand.")
    available: int = strawberry.field(description="Units that can be sold: onHand - reserved.")
    incoming: Long = strawberry.field(
        description="Units on their way here in transfers created or shipped, not yet received.")
    sku: strawberry.ID = strawberry.field(description="The product's SKU.")
    location_id: strawberry.Private[str]

    @strawberry.field(description="Where the stock is.")
    async def location(self, info: Info) -> Location | None:
        return await load_location(info, self.location_id)

    @strawberry.field(description="The product; null if it left the catalogue.")
    async def product(self, info: Info) -> Product | None:
        return await load_product(info, self.sku)

    @strawberry.field(description="Whether at most OMNIGW_LOW_STOCK_UNITS units are available "
                      "(the `lowStock` filter of Location.inventory).")
    def low_stock(self, info: Info) -> bool:
        return self.available <= info.context.settings.low_stock_units

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> StockLevel:
        return cls(
            id=strawberry.ID(ids.stock_id(doc["sku"], doc["location_id"])),
            on_hand=doc["on_hand"],
            reserved=doc["reserved"],
            available=doc["on_hand"] - doc["reserved"],
            incoming=Long(sum(h.get("incoming", 0) for h in doc.get("holds") or [])),
            sku=strawberry.ID(doc["sku"]),
            location_id=doc["location_id"],
        )


async def load_stock(info: Info, sku: str, location_id: str) -> StockLevel | None:
    """The stock of ``sku`` at a location the caller may see (the repository checks); else
    None."""
    doc = await info.context.loaders.stock_by_sku_location.load((sku, location_id))
    return None if doc is None else StockLevel.from_doc(doc)


@strawberry.federation.type(
    keys=[ids.key_of("Product")],
    description="A product of the brand's catalogue.",
)
class Product(Node):
    id: strawberry.ID = strawberry.field(description="Same as sku (prefix sku_).")
    sku: strawberry.ID = strawberry.field(description="Stock keeping unit, prefix sku_.")
    name: str = strawberry.field(description="Display name.")
    brand: str = strawberry.field(description="Brand.")
    category: str = strawberry.field(description="Category, e.g. tea, snacks.")
    offers: list[Offer] = strawberry.field(
        description="Price and availability in each channel that lists the product."
    )

    @strawberry.field(description="The offer in one channel; null when not listed there.")
    def offer(
        self, channel: Annotated[strawberry.ID, strawberry.argument(description="ch_ id.")]
    ) -> Offer | None:
        channel_id = ids.check(channel, "ch_", field="channel")
        return next((o for o in self.offers if o.channel_id == channel_id), None)

    @strawberry.field(description="Stock at one location; null when not stocked there.")
    async def stock(
        self,
        info: Info,
        location: Annotated[strawberry.ID, strawberry.argument(description="loc_ id.")],
    ) -> StockLevel | None:
        return await load_stock(info, self.sku, ids.check(location, "loc_", field="location"))

    @strawberry.field(description="Changes of this product's on-hand units, newest first, at "
                      "one location or at every location the caller sees.")
    async def movements(
        self, info: Info,
        location: Annotated[strawberry.ID | None, strawberry.argument(
            description="Only at this location (loc_ id).")] = None,
        first: FirstArgument = None, after: AfterArgument = None,
        last: LastArgument = None, before: BeforeArgument = None,
    ) -> Connection[Annotated[StockMovement, strawberry.lazy("resolvers.stock")]]:
        from resolvers.stock import product_movements

        return await product_movements(info, self.sku, location, first, after, last, before)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Product:
        return cls(
            id=strawberry.ID(doc["_id"]),
            sku=strawberry.ID(doc["_id"]),
            name=doc["name"],
            brand=doc["brand"],
            category=doc["category"],
            offers=[Offer.from_doc(o, doc["_id"]) for o in doc.get("offers", [])],
        )

    @classmethod
    async def resolve_reference(cls, info: Info, sku: strawberry.ID) -> Product | None:
        return await load_product(info, ids.check(sku, "sku_", field="sku"))


def _product(doc: Doc | None) -> Product | None:
    return None if doc is None else Product.from_doc(doc)


def product_of(info: Info, sku: str | None) -> MaybeAwaitable[Product | None]:
    """The product through the request's loader (at once when loaded), or None."""
    if sku is None:
        return None
    return relation(info.context.loaders.products_by_sku, sku, _product)


async def load_product(info: Info, sku: str | None) -> Product | None:
    return await resolved(product_of(info, sku))


def _text(value: str | None, field: str) -> str | None:
    if value is not None and not 1 <= len(value) <= MAX_TEXT:
        raise BadUserInput(f"`{field}` must be 1 to {MAX_TEXT} characters.", field=field)
    return value


@strawberry.type(description="A page of products (Relay connection), and how many there are.")
class ProductConnection(Connection[Product]):
    counter: strawberry.Private[Counter]

    @strawberry.field(description=TOTAL_COUNT)
    async def total_count(self) -> Long:
        return Long(await self.counter())


@strawberry.input(description="Narrows a product list; all fields optional and combined with AND.")
class ProductFilter:
    category: str | None = strawberry.field(default=None, description="Exact category.")
    brand: str | None = strawberry.field(default=None, description="Exact brand.")
    channel: strawberry.ID | None = strawberry.field(
        default=None, description="Only products with an offer in this channel (ch_ id)."
    )


@strawberry.type
class ProductQuery:
    @strawberry.field(description="One product by SKU; null when unknown.")
    async def product(
        self, info: Info, sku: Annotated[strawberry.ID, strawberry.argument(description="sku_ id.")]
    ) -> Product | None:
        return await load_product(info, ids.check(sku, "sku_", field="sku"))

    @strawberry.field(description="Products in SKU order, a page at a time.")
    async def products(
        self,
        info: Info,
        filter: Annotated[
            ProductFilter | None, strawberry.argument(description="Optional filter.")
        ] = None,
        first: FirstArgument = None,
        after: AfterArgument = None,
        last: LastArgument = None,
        before: BeforeArgument = None,
    ) -> ProductConnection:
        f = filter or ProductFilter()
        category, brand = _text(f.category, "category"), _text(f.brand, "brand")
        channel_id = ids.check(f.channel, "ch_", field="channel") if f.channel else None
        tag = list_tag("products", category, brand, channel_id)
        page = paging(first=first, after=after, last=last, before=before, tag=tag, timed=False)
        db, scope = info.context.db, info.context.scope
        query = repo.products_query(scope=scope, category=category, brand=brand,
                                    channel_id=channel_id)
        docs = await repo.list_products(db, query, scope=scope, paging=page)
        return counted(ProductConnection,
                       connection(docs, page, Product.from_doc, lambda d: Keyset(id=d["_id"]),
                                  tag),
                       lambda: repo.count_products(db, query))
