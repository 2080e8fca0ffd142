"""The only place a DataLoader is constructed: one fresh set per request.

Each batch function sends one query for all the keys of a tick (``$in``) and returns one
value per key, in key order, ``None`` (or an empty list) for a miss.

Member activity is keyed by the member's *cluster*: the member's own id followed by the ids
of the members merged into it (``merged_ids`` on the member document). The history, summary
and points-ledger loaders query by every id of every cluster in one ``$in`` and fold the
results back per cluster, so a merged member's orders, payments and visits count for the
survivor without being rewritten.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from gateway.database import (
    Database,
    activity,
    analytics,
    channels,
    member_records,
    members,
    products,
)
from gateway.database.activity import ACTIVITY_COLLECTIONS, TIME_FIELD, ActivityFilter
from gateway.database.query import Doc, Paging, nearest
from gateway.database.scope import ADMIN, Scope
from gateway.money import Rates
from gateway.telemetry import metrics, tracing

K = TypeVar("K")
V = TypeVar("V")


class SharedLoader(DataLoader[K, V]):
    """A DataLoader whose cached results survive a cancelled caller.

    Every load of a key hands out the same cached future. When graphql-core cancels the
    fields of an object (an error in one of them nulls the object), a task awaiting that
    future is cancelled, and asyncio cancels the awaited future with it: every other field
    waiting for the same key then failed with ``CancelledError``, and so did the request.
    Each caller awaits its own shield of the shared future instead.
    """

    def load(self, key: K) -> Awaitable[V]:
        return asyncio.shield(super().load(key))


def _loader(
    fetch: Callable[[list[K]], Awaitable[dict[K, V]]], default: Any = None
) -> DataLoader[K, Any]:
    async def batch(keys: list[K]) -> list[Any]:
        found = await fetch(keys)
        return [found.get(key, default) for key in keys]

    return SharedLoader(load_fn=batch)


@dataclass(frozen=True)
class HistoryQuery:
    """The arguments of one ``Member.history`` page (hashable, so it can be part of a key)."""

    paging: Paging
    where: ActivityFilter
    collections: tuple[str, ...] = ACTIVITY_COLLECTIONS


@dataclass(frozen=True)
class HistoryPage:
    """Up to ``paging.limit`` documents per collection for one member, in reading order."""

    by_collection: dict[str, list[Doc]]


Cluster = tuple[str, ...]


def cluster_of(member: Doc) -> list[str]:
    """The member's id followed by the ids of the members merged into it."""
    return [member["_id"], *member.get("merged_ids", [])]


def _owners(clusters: Sequence[Cluster]) -> tuple[list[str], dict[str, list[Cluster]]]:
    """Every id of the clusters (once) and, for each id, the clusters it belongs to."""
    owners: dict[str, list[Cluster]] = defaultdict(list)
    for cluster in dict.fromkeys(clusters):
        for member_id in cluster:
            owners[member_id].append(cluster)
    return list(owners), owners


@dataclass(frozen=True)
class LedgerQuery:
    """The arguments of one ``Member.pointsLedger`` page."""

    paging: Paging


@dataclass
class Loaders:
    channels_by_id: DataLoader[str, Doc | None]
    locations_by_id: DataLoader[str, Doc | None]
    locations_by_channel: DataLoader[str, list[Doc]]
    products_by_sku: DataLoader[str, Doc | None]
    stock_by_sku_location: DataLoader[tuple[str, str], Doc | None]
    members_by_id: DataLoader[str, Doc | None]
    members_for_rules: DataLoader[str, Doc | None]
    identities_by_id: DataLoader[str, Doc | None]
    identities_by_member: DataLoader[str, list[Doc]]
    orders_by_id: DataLoader[str, Doc | None]
    payments_by_id: DataLoader[str, Doc | None]
    visits_by_id: DataLoader[str, Doc | None]
    payments_by_order: DataLoader[str, list[Doc]]
    history_by_member: DataLoader[tuple[Cluster, HistoryQuery], HistoryPage]
    summaries_by_member: DataLoader[Cluster, list[Doc]]
    ledger_by_member: DataLoader[tuple[Cluster, LedgerQuery], list[Doc]]
    merges_by_member: DataLoader[str, list[Doc]]
    fx_rates: DataLoader[str, Rates]  # keyed by the base currency
    footfall_by_location: DataLoader[analytics.SeriesKey, list[Doc]]
    sales_by_channel: DataLoader[analytics.SeriesKey, list[Doc]]
    top_products_by_channel: DataLoader[analytics.PlainKey, list[Doc]]
    conversion_by_channel: DataLoader[analytics.PlainKey, analytics.ActivityRows]
    scope: Scope = ADMIN

    def member_written(self, doc: Doc, *, created: bool = False) -> None:
        """A write changed (or ``created``) a member: the rules' loader gets the document;
        the caller's loader gets it as the caller's scope reads it when the caller created
        it, and reads it again through its scope otherwise."""
        self.members_for_rules.prime(doc["_id"], doc, force=True)
        if self.members_by_id is self.members_for_rules:
            return
        if created:
            self.members_by_id.prime(doc["_id"], members.seen_by(doc, self.scope), force=True)
        elif self.members_by_id.cache_map.get(doc["_id"]) is not None:
            self.members_by_id.clear(doc["_id"])


def create_loaders(db: Database, scope: Scope) -> Loaders:
    """A fresh set of loaders bound to one request's database and scope."""

    def by_ids(collection: str) -> DataLoader[str, Doc | None]:
        return _loader(lambda ids: activity.by_ids_in(db, collection, ids, scope=scope))

    channel_list: asyncio.Task[list[Doc]] | None = None

    async def all_channels(ids: list[str]) -> dict[str, Doc]:
        # Channels are a short reference list: one command per request fetches them all, and
        # every later batch (at any level of the query) awaits that same command.
        nonlocal channel_list
        if channel_list is None:
            channel_list = asyncio.ensure_future(channels.list_channels(db, scope=scope))
        return {doc["_id"]: doc for doc in await asyncio.shield(channel_list)}

    async def history(keys: list[tuple[Cluster, HistoryQuery]]) -> list[HistoryPage]:
        by_query: dict[HistoryQuery, list[Cluster]] = defaultdict(list)
        for cluster, query in keys:
            by_query[query].append(cluster)
        pages: dict[tuple[Cluster, HistoryQuery], HistoryPage] = {}
        for query, clusters in by_query.items():
            member_ids, _ = _owners(clusters)
            # One aggregate per collection for every member of every cluster, sent concurrently.
            results = await asyncio.gather(*(
                activity.latest_by_member(
                    db, collection, scope=scope, member_ids=member_ids, where=query.where,
                    paging=query.paging,
                )
                for collection in query.collections
            ))
            found = dict(zip(query.collections, results, strict=True))
            for cluster in clusters:
                pages[(cluster, query)] = HistoryPage({
                    c: nearest([d for m in cluster for d in found[c].get(m, [])],
                               TIME_FIELD[c], query.paging)
                    for c in query.collections
                })
        return [pages[key] for key in keys]

    async def summaries(clusters: list[Cluster]) -> list[list[Doc]]:
        member_ids, owners = _owners(clusters)
        orders, visits = await asyncio.gather(
            activity.order_totals_by_member(db, member_ids, scope=scope),
            activity.visit_totals_by_member(db, member_ids, scope=scope),
        )
        rows: dict[Cluster, list[Doc]] = defaultdict(list)
        for row in orders + visits:
            for cluster in owners[row["_id"]["member"]]:
                rows[cluster].append(row)
        return [rows.get(cluster, []) for cluster in clusters]

    async def ledger(keys: list[tuple[Cluster, LedgerQuery]]) -> list[list[Doc]]:
        by_query: dict[LedgerQuery, list[Cluster]] = defaultdict(list)
        for cluster, query in keys:
            by_query[query].append(cluster)
        pages: dict[tuple[Cluster, LedgerQuery], list[Doc]] = {}
        for query, clusters in by_query.items():
            member_ids, _ = _owners(clusters)
            found = await member_records.ledger_by_members(
                db, member_ids, scope=scope, paging=query.paging)
            for cluster in clusters:
                pages[(cluster, query)] = nearest(
                    [d for m in cluster for d in found.get(m, [])], "at", query.paging)
        return [pages[key] for key in keys]

    async def fx(bases: Sequence[str]) -> list[Rates]:
        rates = await channels.fx_rates(db)
        return [Rates(base=base, per_unit=rates) for base in bases]

    members_by_id: DataLoader[str, Doc | None] = _loader(
        lambda ids: members.members_by_ids(db, ids, scope=scope))
    loaders = Loaders(
        channels_by_id=_loader(all_channels),
        locations_by_id=_loader(lambda ids: channels.locations_by_ids(db, ids, scope=scope)),
        locations_by_channel=_loader(
            lambda ids: channels.locations_by_channels(db, ids, scope=scope), default=[]
        ),
        products_by_sku=_loader(lambda skus: products.products_by_skus(db, skus, scope=scope)),
        stock_by_sku_location=_loader(lambda keys: _stock(db, keys, scope)),
        members_by_id=members_by_id,
        # The rules of a write (points, tier) read a member whatever the caller may see; an
        # admin's request shares one loader (and its cache) for both.
        members_for_rules=members_by_id if scope.unrestricted else _loader(
            lambda ids: members.members_by_ids(db, ids, scope=ADMIN)),
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
        history_by_member=SharedLoader(load_fn=history),
        summaries_by_member=SharedLoader(load_fn=summaries),
        ledger_by_member=SharedLoader(load_fn=ledger),
        merges_by_member=_loader(
            lambda ids: member_records.merges_by_members(db, ids, scope=scope), default=[]),
        fx_rates=SharedLoader(load_fn=fx),
        footfall_by_location=SharedLoader(
            load_fn=lambda keys: analytics.footfall_batch(db, keys, scope=scope)
        ),
        sales_by_channel=SharedLoader(
            load_fn=lambda keys: analytics.sales_batch(db, keys, scope=scope)
        ),
        top_products_by_channel=SharedLoader(
            load_fn=lambda keys: analytics.top_products_batch(db, keys, scope=scope)
        ),
        conversion_by_channel=SharedLoader(
            load_fn=lambda keys: analytics.conversion_batch(db, keys, scope=scope)
        ),
        scope=scope,
    )
    observed: set[int] = set()
    for name, loader in vars(loaders).items():  # a loader shared by two names is wrapped once
        if isinstance(loader, DataLoader) and id(loader) not in observed:
            observed.add(id(loader))
            loader.load_fn = _observed(name, loader.load_fn)
    return loaders


def _observed(name: str, batch: Callable[[list[Any]], Awaitable[Sequence[Any]]]) -> Any:
    """``batch`` inside a span, with its size counted (``omnigw_dataloader_batch_size``)."""
    async def observed(keys: list[Any]) -> Sequence[Any]:
        metrics.observe_batch(name, len(keys))
        with tracing.tracer().start_as_current_span(
            f"dataloader {name}", attributes={"dataloader.name": name, "batch.size": len(keys)}
        ):
            return await batch(keys)

    return observed


async def _stock(
    db: Database, keys: list[tuple[str, str]], scope: Scope
) -> dict[tuple[str, str], Doc]:
    found = await products.stock_by_keys(db, keys, scope=scope)
    return {
        key: found[products.stock_key(*key)] for key in keys if products.stock_key(*key) in found
    }
