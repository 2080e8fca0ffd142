"""A member's timeline (``Member.history``): orders, payments and visits of every member of
the cluster, merged by time, newest first, assembled here and sorted once.

For all the clusters of a tick, one aggregate per collection reads a page of each member's
documents (``paging.limit`` at most, sorted and cut by the server). Each cluster's documents,
of every collection and every member, are then put in one list, sorted once by ``(time, id)``
(the reading order: newest first, or oldest first when paging backward) and cut to
``paging.limit``: the timeline page, with the extra item that says more lie beyond.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from strawberry.dataloader import DataLoader

from gateway.clock import utc
from gateway.database import activity
from gateway.database.activity import ACTIVITY_COLLECTIONS, TIME_FIELD, ActivityFilter
from gateway.database.query import Doc, Keyset, Paging
from gateway.loaders.batch import SharedLoader
from gateway.loaders.members import Cluster, by_page

if TYPE_CHECKING:
    from gateway.loaders import Loaders


@dataclass(frozen=True)
class HistoryQuery:
    """The arguments of one ``Member.history`` page (hashable, so it can be part of a key)."""

    paging: Paging
    where: ActivityFilter
    collections: tuple[str, ...] = ACTIVITY_COLLECTIONS


@dataclass(frozen=True)
class Moment:
    """One item of a timeline: a document of ``collection`` at its position ``key``."""

    collection: str
    doc: Doc
    key: Keyset


def merged(found: dict[str, dict[str, list[Doc]]], cluster: Cluster, paging: Paging
           ) -> list[Moment]:
    """The cluster's page of one timeline from each collection's documents per member: one
    sort, in reading order, ``paging.limit`` items at most."""
    moments = [
        Moment(collection, doc, Keyset(id=doc["_id"], at=utc(doc[TIME_FIELD[collection]])))
        for collection, by_member in found.items()
        for member_id in cluster
        for doc in by_member.get(member_id, [])
    ]
    moments.sort(key=lambda m: (m.key.at, m.key.id), reverse=not paging.backward)
    return moments[:paging.limit]


def history_by_member(loaders: Loaders) -> DataLoader[tuple[Cluster, HistoryQuery],
                                                      list[Moment]]:
    async def batch(keys: list[tuple[Cluster, HistoryQuery]]) -> list[list[Moment]]:
        found: dict[HistoryQuery, dict[str, dict[str, list[Doc]]]] = {}
        for query, member_ids in by_page(keys).items():
            # One aggregate per collection for every member of every cluster, sent concurrently.
            results = await asyncio.gather(*(
                activity.latest_by_member(
                    loaders.db, collection, scope=loaders.scope, member_ids=member_ids,
                    where=query.where, paging=query.paging,
                )
                for collection in query.collections
            ))
            found[query] = dict(zip(query.collections, results, strict=True))
        return [merged(found[query], cluster, query.paging) for cluster, query in keys]

    return SharedLoader(load_fn=batch)
