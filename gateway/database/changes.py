"""The live poller's one query shape: new activity after a ``(time, _id)`` keyset.

One ``find`` per collection and tick serves every subscriber of the process: the members and
channels of all of them go into one ``$in`` each, and the keyset (ascending) makes each
document come back once. The query is not scoped: the poller hands each document only to
the subscribers whose scope allows its channel (``Scope.allows``).
"""

from __future__ import annotations

from collections.abc import Collection

from gateway.database import Database
from gateway.database.activity import TIME_FIELD
from gateway.database.query import Doc, Keyset, combine, find


def after_ascending(time_field: str, after: Keyset) -> Doc:
    """Documents strictly after ``after`` in ``(time, _id)`` ascending order."""
    return {
        "$or": [
            {time_field: {"$gt": after.at}},
            {time_field: after.at, "_id": {"$gt": after.id}},
        ]
    }


async def since(
    db: Database,
    collection: str,
    *,
    member_ids: Collection[str],
    channel_ids: Collection[str],
    after: Keyset,
    limit: int,
) -> list[Doc]:
    """Up to ``limit`` documents of ``collection`` for these members or channels, oldest first,
    strictly after ``after``: ONE ``find``."""
    keys = [
        {field: {"$in": sorted(values)}}
        for field, values in (("member_id", member_ids), ("channel_id", channel_ids))
        if values
    ]
    if not keys:
        return []
    time_field = TIME_FIELD[collection]
    return await find(
        db[collection],
        combine(keys[0] if len(keys) == 1 else {"$or": keys},
                after_ascending(time_field, after)),
        sort=[(time_field, 1), ("_id", 1)],
        limit=limit,
    )
