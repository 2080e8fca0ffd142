"""Loaders of stock: availability of offers, a location's levels, movements, transfers.

Pages are keyed by their parent and the page's arguments; the parents that ask for the same
page shape in one tick are read together (one aggregate per shape).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from strawberry.dataloader import DataLoader

from gateway.database import stock
from gateway.database.products import stock_key
from gateway.database.query import Doc, Paging, combine
from gateway.loaders.batch import SharedLoader, by_key

if TYPE_CHECKING:
    from gateway.loaders import Loaders

Q = TypeVar("Q")
# Channels that sell from their own locations (orders name one): their offers' availability
# is counted there.
OWN_LOCATIONS = frozenset({"SUPERMARKET", "RURAL_OUTLET"})


def _shapes(keys: Sequence[tuple[str, Q]]) -> dict[Q, list[str]]:
    """The parents of a tick's keys, by the page shape they ask for."""
    parents: dict[Q, list[str]] = defaultdict(list)
    for parent, query in keys:
        parents[query].append(parent)
    return parents


def availability_by_offer(loaders: Loaders) -> DataLoader[tuple[str, str], int]:
    """Units available to promise of each (SKU, channel): the sum, over the channel's stock
    locations, of what is on hand and not reserved. A channel's stock locations are its
    fulfilment locations, or, for supermarkets and rural outlets, its own locations. One
    ``find`` on inventory for every offer of the tick (the channels are the request's cached
    list; stores' locations one more ``find`` when such a channel is asked)."""

    async def batch(keys: list[tuple[str, str]]) -> list[int]:
        channel_ids = sorted({channel for _, channel in keys})
        channels = await loaders.channels_by_id.load_many(channel_ids)
        places = {doc["_id"]: list(doc.get("fulfilment_location_ids") or [])
                  for doc in channels if doc is not None}
        own = [c for c in channel_ids if c in places and not places[c]
               and next(d for d in channels if d and d["_id"] == c)["kind"] in OWN_LOCATIONS]
        if own:
            for channel_id, docs in zip(own, await loaders.locations_by_channel.load_many(own),
                                        strict=True):
                places[channel_id] = [doc["_id"] for doc in docs]
        every = sorted({loc for locs in places.values() for loc in locs})
        levels = await stock.levels(loaders.db, skus=[sku for sku, _ in keys],
                                    location_ids=every) if every else {}

        def promise(sku: str, channel_id: str) -> int:
            docs = (levels.get(stock_key(sku, loc)) for loc in places.get(channel_id, []))
            return sum(max(0, d["on_hand"] - d["reserved"]) for d in docs if d is not None)

        return [promise(sku, channel_id) for sku, channel_id in keys]

    return SharedLoader(load_fn=batch)


@dataclass(frozen=True)
class InventoryQuery:
    """The arguments of one ``Location.inventory`` page."""

    paging: Paging
    low_stock: bool | None = None
    low_stock_units: int = 0
    sku: str | None = None
    category: str | None = None


def inventory_by_location(loaders: Loaders) -> DataLoader[tuple[str, InventoryQuery], list[Doc]]:
    """A page of each location's levels (locations the caller already sees)."""

    async def batch(keys: list[tuple[str, InventoryQuery]]) -> list[list[Doc]]:
        found: dict[InventoryQuery, dict[str, list[Doc]]] = {}
        for query, locations in _shapes(keys).items():
            skus = None
            if query.category is not None:
                skus = await stock.skus_in_category(loaders.db, query.category)
            match = combine(
                {"sku": query.sku} if query.sku is not None else {},
                {"sku": {"$in": skus}} if skus is not None else {},
                stock.low_stock_filter(query.low_stock, query.low_stock_units)
                if query.low_stock is not None else {},
            )
            found[query] = await stock.inventory_pages(loaders.db, locations, query=match,
                                                       paging=query.paging)
        return [found[query].get(location, []) for location, query in keys]

    return SharedLoader(load_fn=batch)


def movements_by_location(loaders: Loaders) -> DataLoader[tuple[str, Paging], list[Doc]]:
    """A page of each location's movements, newest first (locations the caller sees)."""

    async def batch(keys: list[tuple[str, Paging]]) -> list[list[Doc]]:
        found = {paging: await stock.movements_by_location(loaders.db, locations, paging=paging,
                                                           scope=loaders.scope)
                 for paging, locations in _shapes(keys).items()}
        return [found[paging].get(location, []) for location, paging in keys]

    return SharedLoader(load_fn=batch)


@dataclass(frozen=True)
class ProductMovementsQuery:
    """The arguments of one ``Product.movements`` page."""

    paging: Paging
    location_id: str | None = None


def movements_by_sku(
    loaders: Loaders,
) -> DataLoader[tuple[str, ProductMovementsQuery], list[Doc]]:
    """A page of each product's movements, newest first, at the locations the caller sees."""

    async def batch(keys: list[tuple[str, ProductMovementsQuery]]) -> list[list[Doc]]:
        found = {query: await stock.movements_by_sku(
                     loaders.db, skus, location_id=query.location_id, paging=query.paging,
                     scope=loaders.scope)
                 for query, skus in _shapes(keys).items()}
        return [found[query].get(sku, []) for sku, query in keys]

    return SharedLoader(load_fn=batch)


def movements_by_id(loaders: Loaders) -> DataLoader[str, Doc | None]:
    return by_key(lambda ids: stock.movements_by_ids(loaders.db, ids, scope=loaders.scope))


def transfers_by_id(loaders: Loaders) -> DataLoader[str, Doc | None]:
    return by_key(lambda ids: stock.transfers_by_ids(loaders.db, ids, scope=loaders.scope))
