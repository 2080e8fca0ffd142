"""Query shapes shared by the repository modules: lookups by id, keyset pages, latest-per-key.

Documents come back as plain dicts; callers map them to GraphQL types.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Doc = dict[str, Any]

# A generous batch size keeps a page in one command (no getMore) up to the 16 MB reply limit.
BATCH_SIZE = 10_000


async def find(
    collection: Any,
    query: Doc,
    *,
    sort: Sequence[tuple[str, int]] | None = None,
    limit: int = 0,
    projection: Doc | None = None,
) -> list[Doc]:
    """One ``find`` command; all matching documents."""
    cursor = collection.find(
        query, projection, sort=list(sort) if sort else None, limit=limit, batch_size=BATCH_SIZE
    )
    docs: list[Doc] = await cursor.to_list(None)
    return docs


async def count(collection: Any, query: Doc) -> int:
    """One count (``countDocuments``: an aggregate): how many documents match."""
    found: int = await collection.count_documents(query)
    return found


async def aggregate(collection: Any, pipeline: list[Doc]) -> list[Doc]:
    """One ``aggregate`` command; all result documents."""
    cursor = await collection.aggregate(pipeline, batchSize=BATCH_SIZE)
    docs: list[Doc] = await cursor.to_list(None)
    return docs


async def by_ids(collection: Any, ids: Sequence[Any], query: Doc | None = None) -> dict[Any, Doc]:
    """Documents whose ``_id`` is in ``ids`` (and match ``query``), keyed by ``_id``."""
    unique = list(dict.fromkeys(ids))
    match: Doc = {"_id": {"$in": unique}}
    if query:
        match = {"$and": [match, query]}
    return {doc["_id"]: doc for doc in await find(collection, match)}


async def grouped_by(
    collection: Any, field: str, keys: Sequence[Any], query: Doc | None = None,
    sort: Sequence[tuple[str, int]] | None = None,
) -> dict[Any, list[Doc]]:
    """Documents whose ``field`` is in ``keys``, grouped by that field (one ``find``)."""
    match: Doc = {field: {"$in": list(dict.fromkeys(keys))}}
    if query:
        match = {"$and": [match, query]}
    grouped: dict[Any, list[Doc]] = defaultdict(list)
    for doc in await find(collection, match, sort=sort or [("_id", 1)]):
        grouped[doc[field]].append(doc)
    return grouped


@dataclass(frozen=True)
class Keyset:
    """A position in a list ordered by ``(time desc, _id desc)`` or by ``_id`` ascending."""

    id: str
    at: datetime | None = None


@dataclass(frozen=True)
class Paging:
    """Which slice of an ordered list a page reads (a Relay connection's arguments, decoded).

    ``after`` and ``before`` bound the list (both exclusive, either may be absent); ``size``
    items are read from the start of what remains (``first``), or from its end when
    ``backward`` (``last``). Repository functions return up to ``size + 1`` documents in
    reading order: the list's order, or the reverse when ``backward``; the extra one tells
    the caller that more items lie in that direction.
    """

    size: int
    backward: bool = False
    after: Keyset | None = None
    before: Keyset | None = None

    @property
    def limit(self) -> int:
        return self.size + 1


def after_by_time(time_field: str, after: Keyset | None) -> Doc:
    """Filter for the items strictly after ``after`` in ``(time, _id)`` descending order (the
    range on the time alone first, so that an index on the time bounds its walk by it)."""
    if after is None or after.at is None:
        return {}
    return {
        time_field: {"$lte": after.at},
        "$or": [
            {time_field: {"$lt": after.at}},
            {time_field: after.at, "_id": {"$lt": after.id}},
        ]
    }


def before_by_time(time_field: str, before: Keyset | None) -> Doc:
    """Filter for the items strictly before ``before`` in ``(time, _id)`` descending order
    (with the range on the time alone, as :func:`after_by_time`)."""
    if before is None or before.at is None:
        return {}
    return {
        time_field: {"$gte": before.at},
        "$or": [
            {time_field: {"$gt": before.at}},
            {time_field: before.at, "_id": {"$gt": before.id}},
        ]
    }


def combine(*parts: Doc) -> Doc:
    """AND the non-empty filter parts together."""
    present = [p for p in parts if p]
    if not present:
        return {}
    return present[0] if len(present) == 1 else {"$and": present}


def time_window(time_field: str, paging: Paging) -> tuple[Doc, list[tuple[str, int]]]:
    """The bounds and the reading order of a page of a ``(time, _id)`` descending list."""
    direction = 1 if paging.backward else -1
    bounds = combine(after_by_time(time_field, paging.after),
                     before_by_time(time_field, paging.before))
    return bounds, [(time_field, direction), ("_id", direction)]


async def page_by_time(
    collection: Any, query: Doc, *, time_field: str, paging: Paging
) -> list[Doc]:
    """Up to ``paging.limit`` documents of a newest-first list, in reading order."""
    bounds, sort = time_window(time_field, paging)
    return await find(collection, combine(query, bounds), sort=sort, limit=paging.limit)


async def page_by_id(collection: Any, query: Doc, *, paging: Paging) -> list[Doc]:
    """Up to ``paging.limit`` documents of an ``_id``-ordered list, in reading order."""
    keyset: Doc = {}
    if paging.after is not None:
        keyset["$gt"] = paging.after.id
    if paging.before is not None:
        keyset["$lt"] = paging.before.id
    direction = -1 if paging.backward else 1
    return await find(collection, combine(query, {"_id": keyset} if keyset else {}),
                      sort=[("_id", direction)], limit=paging.limit)


async def first_by_id_per_key(
    collection: Any, *, key_field: str, keys: Sequence[Any], query: Doc, paging: Paging
) -> dict[Any, list[Doc]]:
    """For each key, a page (``paging.limit`` documents at most, in reading order) of its
    ``_id``-ordered list: ONE aggregate for all keys."""
    keyset: Doc = {}
    if paging.after is not None:
        keyset["$gt"] = paging.after.id
    if paging.before is not None:
        keyset["$lt"] = paging.before.id
    match = combine({key_field: {"$in": list(dict.fromkeys(keys))}}, query,
                    {"_id": keyset} if keyset else {})
    pipeline: list[Doc] = [
        {"$match": match},
        {"$sort": {"_id": -1 if paging.backward else 1}},
        {"$group": {"_id": f"${key_field}", "docs": {"$push": "$$ROOT"}}},
        {"$project": {"docs": {"$slice": ["$docs", paging.limit]}}},
    ]
    return {row["_id"]: row["docs"] for row in await aggregate(collection, pipeline)}


def nearest(docs: list[Doc], time_field: str, paging: Paging) -> list[Doc]:
    """The first ``paging.limit`` of documents gathered from several lists of one
    newest-first list, in reading order."""
    ordered = sorted(docs, key=lambda d: (d[time_field], d["_id"]), reverse=not paging.backward)
    return ordered[:paging.limit]
