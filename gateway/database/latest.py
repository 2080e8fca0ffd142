"""A page of each key's newest-first list, for many keys in ONE ``aggregate``: a member's
history page (orders, payments, visits) and points ledger, for every member of a tick.

Two shapes, the same answer; :class:`gateway.database.engine.Features` says which one an
engine runs (the table is in :mod:`gateway.database.engine`):

- **union** (MongoDB 4.4+): one branch per key, each ``[$match, $sort, $limit]``; the first
  branch is the pipeline itself and every other one a ``$unionWith`` on the same collection.
  Each ``$match`` starts with equality on the key (``member_id``), the prefix of the
  ``(member_id, time desc, _id desc)`` index of every collection read this way
  (``gateway/database/indexes.py``); the page's bounds are a range on the time (the index's
  second field); ``$sort`` is the index's order (or its reverse for a backward page); and
  ``$limit`` is ``paging.limit`` (``first + 1``). So the server walks at most ``first + 1``
  index keys per key and fetches as many documents: the cost of a page does not depend on how
  long a member's history is. (Filters outside the index, a partner's channels or a status,
  are applied to the documents the walk fetches: a page then examines until it has found
  ``first + 1`` that pass.)
- **grouped** (engines without ``$unionWith``: the test server and the embedded store):
  ``$match`` every key's documents, ``$sort``, ``$group`` with ``$push``, ``$slice``. The
  server reads every matching document; these engines read the whole collection for any
  ``$match`` anyway.

A union command holds at most :data:`MAX_BRANCHES` branches (MongoDB refuses a pipeline of
more than 1,000 stages): more keys than that are sent as several commands, concurrently.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Final

from gateway.database.query import Doc, Paging, aggregate, combine, time_window

MAX_BRANCHES: Final = 500


def union_pipeline(collection: str, *, key_field: str, keys: Sequence[Any], query: Doc,
                   time_field: str, paging: Paging) -> list[Doc]:
    """The union shape: one ``[$match, $sort, $limit]`` branch per key (see the module)."""
    bounds, sort = time_window(time_field, paging)
    branches: list[list[Doc]] = [
        [{"$match": combine({key_field: key}, query, bounds)}, {"$sort": dict(sort)},
         {"$limit": paging.limit}] for key in keys]
    return [*branches[0], *({"$unionWith": {"coll": collection, "pipeline": branch}}
                            for branch in branches[1:])]


def grouped_pipeline(*, key_field: str, keys: Sequence[Any], query: Doc, time_field: str,
                     paging: Paging) -> list[Doc]:
    """The grouped shape: every matching document, grouped per key, then cut."""
    bounds, sort = time_window(time_field, paging)
    return [
        {"$match": combine({key_field: {"$in": list(keys)}}, query, bounds)},
        {"$sort": dict(sort)},
        {"$group": {"_id": f"${key_field}", "docs": {"$push": "$$ROOT"}}},
        {"$project": {"docs": {"$slice": ["$docs", paging.limit]}}},
    ]


async def latest_per_key(
    collection: Any, *, key_field: str, keys: Sequence[Any], query: Doc, time_field: str,
    paging: Paging, union: bool,
) -> dict[Any, list[Doc]]:
    """For each key, a page (``paging.limit`` documents at most, in reading order) of its
    newest-first list: one aggregate for all keys, in the ``union`` or the grouped shape."""
    unique = list(dict.fromkeys(keys))
    if not unique:
        return {}
    if not union:
        pipeline = grouped_pipeline(key_field=key_field, keys=unique, query=query,
                                    time_field=time_field, paging=paging)
        return {row["_id"]: row["docs"] for row in await aggregate(collection, pipeline)}
    chunks = [unique[i:i + MAX_BRANCHES] for i in range(0, len(unique), MAX_BRANCHES)]
    results = await asyncio.gather(*(aggregate(collection, union_pipeline(
        collection.name, key_field=key_field, keys=chunk, query=query, time_field=time_field,
        paging=paging)) for chunk in chunks))
    found: dict[Any, list[Doc]] = defaultdict(list)
    for docs in results:
        for doc in docs:
            found[doc[key_field]].append(doc)
    # Each branch comes sorted; sorting its few documents again costs nothing and relies on
    # no engine's promise about the order of a union.
    return {key: sorted(docs, key=lambda d: (d[time_field], d["_id"]),
                        reverse=not paging.backward) for key, docs in found.items()}
