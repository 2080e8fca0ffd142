"""The live poller's one query shape: activity of some members or channels since a time.

One ``find`` per collection and tick serves every subscriber of the process: the members and
channels of all of them go into one ``$in`` each, in ``(time, _id)`` order (see
``gateway.live`` for the keyset and the ids it skips). The query is not scoped: the poller
hands each document only to the subscribers whose scope allows its channel
(``Scope.allows``).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from gateway.database import Database
from gateway.database.activity import TIME_FIELD
from gateway.database.query import Doc, combine, find


async def since(
    db: Database,
    collection: str,
    *,
    member_ids: Collection[str],
    channel_ids: Collection[str],
    start: datetime,
    limit: int,
) -> list[Doc]:
    """Up to ``limit`` documents of ``collection`` for these members or channels, in
    ``(time, _id)`` order, from ``start`` on: ONE ``find``."""
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
        combine(keys[0] if len(keys) == 1 else {"$or": keys}, {time_field: {"$gte": start}}),
        sort=[(time_field, 1), ("_id", 1)],
        limit=limit,
    )
