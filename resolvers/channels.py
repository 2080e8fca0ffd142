"""Channels (where the brand sells) and locations (stores, rural outlets, warehouses)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from gateway import ids
from gateway.admission.cost import cost_note
from gateway.context import Info
from gateway.database import channels as repo
from gateway.database.query import Doc
from resolvers.node import Node
from resolvers.relations import MaybeAwaitable, relation, relation_field, resolved
from resolvers.relay import AfterArgument, BeforeArgument, Connection, FirstArgument, LastArgument
from resolvers.time_bucket import TimeBucket

if TYPE_CHECKING:
    from resolvers.analytics import Conversion, FootfallSeries, SalesSeries, TopProducts
    from resolvers.products import StockLevel
    from resolvers.stock import InventoryFilter, StockMovement

# Arguments of the analytics fields (resolvers/analytics.py has the rules and the costs).
_SINCE = strawberry.argument(description="Start of the window, inclusive (naive means UTC).")
_UNTIL = strawberry.argument(
    description="End of the window, exclusive; at most 400 days after since (a setting)."
)
_BUCKET = strawberry.argument(
    description="Bucket size; at most 1,000 buckets per series (a setting)."
)
_FIRST = strawberry.argument(description="How many products per ranking, 1 to 100.")


@strawberry.enum(description="The four kinds of sales channel.")
class ChannelKind(Enum):
    ONLINE_SHOP = strawberry.enum_value("ONLINE_SHOP", description="The brand's own online shop.")
    SUPERMARKET = strawberry.enum_value("SUPERMARKET", description="A supermarket chain's stores.")
    RURAL_OUTLET = strawberry.enum_value("RURAL_OUTLET", description="Village points of sale.")
    OVERSEAS = strawberry.enum_value("OVERSEAS", description="A cross-border marketplace.")


@strawberry.enum(description="What a physical location is.")
class LocationKind(Enum):
    STORE = strawberry.enum_value("STORE", description="A supermarket store.")
    OUTLET = strawberry.enum_value("OUTLET", description="A rural outlet or service point.")
    WAREHOUSE = strawberry.enum_value("WAREHOUSE", description="A warehouse serving a channel.")


@strawberry.federation.type(
    keys=[ids.key_of("Channel")],
    description="A sales channel of the brand.",
)
class Channel(Node):
    id: strawberry.ID = strawberry.field(description="Channel id, prefix ch_.")
    name: str = strawberry.field(description="Display name.")
    kind: ChannelKind = strawberry.field(description="Which of the four kinds it is.")
    currency: str = strawberry.field(description="ISO 4217 currency of its prices and orders.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")
    time_zone: str = strawberry.field(description="IANA time zone, e.g. Asia/Shanghai.")

    fulfilment_location_ids: strawberry.Private[tuple[str, ...]] = ()

    @strawberry.field(description="The channel's physical locations (none for online channels).")
    async def locations(self, info: Info) -> list[Location]:
        docs = await info.context.loaders.locations_by_channel.load(self.id)
        return [Location.from_doc(d) for d in docs]

    @strawberry.field(
        description="Where its orders placed without a location are served from, in the order "
        "allocation tries them: warehouses, and stores that ship (possibly another channel's; "
        "only those the caller sees are listed). An order goes whole to the first that has "
        "every line. Empty for supermarkets and rural outlets, whose orders name the store or "
        "outlet.")
    async def fulfilment_locations(self, info: Info) -> list[Location]:
        docs = await info.context.loaders.locations_by_id.load_many(
            list(self.fulfilment_location_ids))
        return [Location.from_doc(d) for d in docs if d is not None]

    def _parent(self) -> Any:
        from resolvers.analytics import Parent

        return Parent(id=self.id, time_zone=self.time_zone, currency=self.currency,
                      kind=self.kind.name)

    @strawberry.field(description="Orders, units and revenue per bucket in the channel's time "
                      "zone; cancelled orders excluded. " + cost_note("Channel.sales"))
    async def sales(
        self, info: Info, since: Annotated[datetime, _SINCE],
        until: Annotated[datetime, _UNTIL], bucket: Annotated[TimeBucket, _BUCKET],
    ) -> Annotated[SalesSeries, strawberry.lazy("resolvers.analytics")]:
        from resolvers import analytics

        return await analytics.sales(info, self._parent(), since, until, bucket)

    @strawberry.field(description="Best sellers in a window, by units and by revenue. "
                      + cost_note("Channel.topProducts"))
    async def top_products(
        self, info: Info, since: Annotated[datetime, _SINCE],
        until: Annotated[datetime, _UNTIL], first: Annotated[int, _FIRST] = 10,
    ) -> Annotated[TopProducts, strawberry.lazy("resolvers.analytics")]:
        from resolvers import analytics

        return await analytics.top_products(info, self._parent(), since, until, first)

    @strawberry.field(description="Visitors, buyers and conversion rate in a window; per "
                      "location too for supermarkets and rural outlets. "
                      + cost_note("Channel.conversion"))
    async def conversion(
        self, info: Info, since: Annotated[datetime, _SINCE], until: Annotated[datetime, _UNTIL]
    ) -> Annotated[Conversion, strawberry.lazy("resolvers.analytics")]:
        from resolvers import analytics

        return await analytics.conversion(info, self._parent(), since, until)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Channel:
        return cls(
            id=strawberry.ID(doc["_id"]),
            name=doc["name"],
            kind=ChannelKind(doc["kind"]),
            currency=doc["currency"],
            country=doc["country"],
            time_zone=doc["time_zone"],
            fulfilment_location_ids=tuple(doc.get("fulfilment_location_ids") or ()),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Channel | None:
        return await load_channel(info, ids.check(id, "ch_"))


@strawberry.federation.type(
    keys=[ids.key_of("Location")],
    description="A store, rural outlet or warehouse.",
)
class Location(Node):
    id: strawberry.ID = strawberry.field(description="Location id, prefix loc_.")
    name: str = strawberry.field(description="Display name.")
    kind: LocationKind = strawberry.field(description="Store, outlet or warehouse.")
    city: str = strawberry.field(description="City, town or village.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")
    time_zone: str = strawberry.field(description="IANA time zone of the location.")
    channel_id: strawberry.Private[str]

    @relation_field(description="The channel the location belongs to.",
                      graphql_type=Channel | None)
    def channel(self, info: Info) -> MaybeAwaitable[Channel | None]:
        return channel_of(info, self.channel_id)

    @strawberry.field(description="Visits per bucket in the location's time zone, by kind, "
                      "with distinct members and anonymous visits. "
                      + cost_note("Location.footfall"))
    async def footfall(
        self, info: Info, since: Annotated[datetime, _SINCE],
        until: Annotated[datetime, _UNTIL], bucket: Annotated[TimeBucket, _BUCKET],
    ) -> Annotated[FootfallSeries, strawberry.lazy("resolvers.analytics")]:
        from resolvers.analytics import Parent, footfall

        return await footfall(info, Parent(id=self.id, time_zone=self.time_zone), since, until,
                              bucket)

    @strawberry.field(description="The location's stock, one level per product, by SKU.")
    async def inventory(
        self, info: Info,
        filter: Annotated[
            Annotated[InventoryFilter, strawberry.lazy("resolvers.stock")] | None,
            strawberry.argument(description="Optional filter.")] = None,
        first: FirstArgument = None, after: AfterArgument = None,
        last: LastArgument = None, before: BeforeArgument = None,
    ) -> Connection[Annotated[StockLevel, strawberry.lazy("resolvers.products")]]:
        from resolvers.stock import inventory

        return await inventory(info, self.id, filter, first, after, last, before)

    @strawberry.field(description="Changes of the location's on-hand units, newest first.")
    async def movements(
        self, info: Info, first: FirstArgument = None, after: AfterArgument = None,
        last: LastArgument = None, before: BeforeArgument = None,
    ) -> Connection[Annotated[StockMovement, strawberry.lazy("resolvers.stock")]]:
        from resolvers.stock import location_movements

        return await location_movements(info, self.id, first, after, last, before)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Location:
        return cls(
            id=strawberry.ID(doc["_id"]),
            name=doc["name"],
            kind=LocationKind(doc["kind"]),
            city=doc["city"],
            country=doc["country"],
            time_zone=doc["time_zone"],
            channel_id=doc["channel_id"],
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Location | None:
        return await load_location(info, ids.check(id, "loc_"))


def _channel(doc: Doc | None) -> Channel | None:
    return None if doc is None else Channel.from_doc(doc)


def _location(doc: Doc | None) -> Location | None:
    return None if doc is None else Location.from_doc(doc)


def channel_of(info: Info, channel_id: str | None) -> MaybeAwaitable[Channel | None]:
    """The channel through the request's loader (at once when loaded), or None when absent or
    not visible."""
    if channel_id is None:
        return None
    return relation(info.context.loaders.channels_by_id, channel_id, _channel)


def location_of(info: Info, location_id: str | None) -> MaybeAwaitable[Location | None]:
    """The location through the request's loader (at once when loaded), or None when absent
    or not visible."""
    if location_id is None:
        return None
    return relation(info.context.loaders.locations_by_id, location_id, _location)


async def load_channel(info: Info, channel_id: str | None) -> Channel | None:
    """The channel through the request's loader, or None when absent or not visible."""
    return await resolved(channel_of(info, channel_id))


async def load_location(info: Info, location_id: str | None) -> Location | None:
    """The location through the request's loader, or None when absent or not visible."""
    return await resolved(location_of(info, location_id))


@strawberry.type
class ChannelQuery:
    @strawberry.field(description="Every channel the caller may see, by id.")
    async def channels(self, info: Info) -> list[Channel]:
        docs = await repo.list_channels(info.context.db, scope=info.context.scope)
        return [Channel.from_doc(d) for d in docs]

    @strawberry.field(description="One channel by id; null when unknown.")
    async def channel(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="ch_ id.")]
    ) -> Channel | None:
        return await load_channel(info, ids.check(id, "ch_"))

    @strawberry.field(description="One location by id; null when unknown.")
    async def location(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="loc_ id.")]
    ) -> Location | None:
        return await load_location(info, ids.check(id, "loc_"))
