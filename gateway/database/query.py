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


def after_by_time(time_field: str, after: Keyset | None) -> Doc:
    """Filter for the items strictly after ``after`` in ``(time, _id)`` descending order."""
    if after is None or after.at is None:
        return {}
    return {
        "$or": [
            {time_field: {"$lt": after.at}},
            {time_field: after.at, "_id": {"$lt": after.id}},
        ]
    }


def combine(*parts: Doc) -> Doc:
    """AND the non-empty filter parts together."""
    present = [p for p in parts if p]
    if not present:
        return {}
    return present[0] if len(present) == 1 else {"$and": present}


async def page_by_time(
    collection: Any, query: Doc, *, time_field: str, first: int, after: Keyset | None
) -> list[Doc]:
    """Up to ``first + 1`` documents, newest first, strictly after the keyset ``after``."""
    return await find(
        collection,
        combine(query, after_by_time(time_field, after)),
        sort=[(time_field, -1), ("_id", -1)],
        limit=first + 1,
    )


async def page_by_id(collection: Any, query: Doc, *, first: int, after: Keyset | None) -> list[Doc]:
    """Up to ``first + 1`` documents in ``_id`` order, strictly after ``after``."""
    keyset = {"_id": {"$gt": after.id}} if after is not None else {}
    return await find(collection, combine(query, keyset), sort=[("_id", 1)], limit=first + 1)


async def latest_per_key(
    collection: Any,
    *,
    key_field: str,
    keys: Sequence[Any],
    query: Doc,
    time_field: str,
    after: Keyset | None,
    limit: int,
) -> dict[Any, list[Doc]]:
    """For each key, its ``limit`` newest documents after ``after``: ONE aggregate for all keys.

    The server sorts and groups; only ``limit`` documents per key come back.
    """
    match = combine({key_field: {"$in": list(dict.fromkeys(keys))}}, query,
                    after_by_time(time_field, after))
    pipeline: list[Doc] = [
        {"$match": match},
        {"$sort": {time_field: -1, "_id": -1}},
        {"$group": {"_id": f"${key_field}", "docs": {"$push": "$$ROOT"}}},
        {"$project": {"docs": {"$slice": ["$docs", limit]}}},
    ]
    return {row["_id"]: row["docs"] for row in await aggregate(collection, pipeline)}
