"""The only place a DataLoader is constructed: one fresh set per request.

Each batch function sends one query for all the keys of a tick (``$in``) and returns one
value per key, in key order, ``None`` (or an empty list) for a miss.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from gateway import metrics, tracing
from gateway.database import Database, activity, channels, members, products
from gateway.database.activity import ACTIVITY_COLLECTIONS, ActivityFilter
from gateway.database.query import Doc, Keyset
from gateway.database.scope import Scope

K = TypeVar("K")
V = TypeVar("V")


def _loader(
    fetch: Callable[[list[K]], Awaitable[dict[K, V]]], default: Any = None
) -> DataLoader[K, Any]:
    async def batch(keys: list[K]) -> list[Any]:
        found = await fetch(keys)
        return [found.get(key, default) for key in keys]

    return DataLoader(load_fn=batch)


@dataclass(frozen=True)
class HistoryQuery:
    """The arguments of one ``Member.history`` page (hashable, so it can be part of a key)."""

    first: int
    after: Keyset | None
    where: ActivityFilter
    collections: tuple[str, ...] = ACTIVITY_COLLECTIONS


@dataclass(frozen=True)
class HistoryPage:
    """Up to ``first + 1`` newest documents per collection for one member."""

    by_collection: dict[str, list[Doc]]


@dataclass
class Loaders:
    channels_by_id: DataLoader[str, Doc | None]
    locations_by_id: DataLoader[str, Doc | None]
    locations_by_channel: DataLoader[str, list[Doc]]
    products_by_sku: DataLoader[str, Doc | None]
    stock_by_sku_location: DataLoader[tuple[str, str], Doc | None]
    members_by_id: DataLoader[str, Doc | None]
    identities_by_id: DataLoader[str, Doc | None]
    identities_by_member: DataLoader[str, list[Doc]]
    orders_by_id: DataLoader[str, Doc | None]
    payments_by_id: DataLoader[str, Doc | None]
    visits_by_id: DataLoader[str, Doc | None]
    payments_by_order: DataLoader[str, list[Doc]]
    history_by_member: DataLoader[tuple[str, HistoryQuery], HistoryPage]
    summaries_by_member: DataLoader[str, list[Doc]]
    fx_rates: DataLoader[str, dict[str, Decimal]]


def create_loaders(db: Database, scope: Scope) -> Loaders:
    """A fresh set of loaders bound to one request's database and scope."""

    def by_ids(collection: str) -> DataLoader[str, Doc | None]:
        return _loader(lambda ids: activity.by_ids_in(db, collection, ids, scope=scope))

    async def all_channels(ids: list[str]) -> dict[str, Doc]:
        # Channels are a short reference list: fetch them all once so that every later level
        # of the query finds them in the loader's cache.
        found = {doc["_id"]: doc for doc in await channels.list_channels(db, scope=scope)}
        for channel_id, doc in found.items():
            if channel_id not in ids:
                loaders.channels_by_id.prime(channel_id, doc)
        return found

    async def history(keys: list[tuple[str, HistoryQuery]]) -> list[HistoryPage]:
        by_query: dict[HistoryQuery, list[str]] = defaultdict(list)
        for member_id, query in keys:
            by_query[query].append(member_id)
        pages: dict[tuple[str, HistoryQuery], HistoryPage] = {}
        for query, member_ids in by_query.items():
            found = {
                collection: await activity.latest_by_member(
                    db, collection, scope=scope, member_ids=member_ids, where=query.where,
                    after=query.after, limit=query.first + 1,
                )
                for collection in query.collections
            }
            for member_id in member_ids:
                pages[(member_id, query)] = HistoryPage(
                    {c: found[c].get(member_id, []) for c in query.collections}
                )
        return [pages[key] for key in keys]

    async def summaries(member_ids: list[str]) -> list[list[Doc]]:
        orders = await activity.order_totals_by_member(db, member_ids, scope=scope)
        visits = await activity.visit_totals_by_member(db, member_ids, scope=scope)
        rows: dict[str, list[Doc]] = defaultdict(list)
        for row in orders + visits:
            rows[row["_id"]["member"]].append(row)
        return [rows.get(member_id, []) for member_id in member_ids]

    async def fx(keys: Sequence[str]) -> list[dict[str, Decimal]]:
        rates = await channels.fx_rates(db)
        return [rates for _ in keys]

    loaders = Loaders(
        channels_by_id=_loader(all_channels),
        locations_by_id=_loader(lambda ids: channels.locations_by_ids(db, ids, scope=scope)),
        locations_by_channel=_loader(
            lambda ids: channels.locations_by_channels(db, ids, scope=scope), default=[]
        ),
        products_by_sku=_loader(lambda skus: products.products_by_skus(db, skus, scope=scope)),
        stock_by_sku_location=_loader(
            lambda keys: _stock(db, keys)
        ),
        members_by_id=_loader(lambda ids: members.members_by_ids(db, ids, scope=scope)),
        identities_by_id=_loader(lambda ids: members.identities_by_ids(db, ids, scope=scope)),
        identities_by_member=_loader(
            lambda ids: members.identities_by_members(db, ids, scope=scope), default=[]
        ),
        orders_by_id=by_ids("orders"),
        payments_by_id=by_ids("payments"),
        visits_by_id=by_ids("visits"),
        payments_by_order=_loader(
            lambda ids: activity.payments_by_orders(db, ids, scope=scope), default=[]
        ),
        history_by_member=DataLoader(load_fn=history),
        summaries_by_member=DataLoader(load_fn=summaries),
        fx_rates=DataLoader(load_fn=fx),
    )
    for name, loader in vars(loaders).items():
        loader.load_fn = _observed(name, loader.load_fn)
    return loaders


def _observed(name: str, batch: Callable[[list[Any]], Awaitable[list[Any]]]) -> Any:
    """``batch`` inside a span, with its size counted (``omnigw_dataloader_batch_size``)."""
    async def observed(keys: list[Any]) -> list[Any]:
        metrics.observe_batch(name, len(keys))
        with tracing.tracer().start_as_current_span(
            f"dataloader {name}", attributes={"dataloader.name": name, "batch.size": len(keys)}
        ):
            return await batch(keys)

    return observed


async def _stock(db: Database, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Doc]:
    found = await products.stock_by_keys(db, keys)
    return {
        key: found[products.stock_key(*key)] for key in keys if products.stock_key(*key) in found
    }
