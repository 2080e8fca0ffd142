"""Rollup writes: fold one event into a ``member_rollups`` document, and clear the event's
*due* entry on the activity document that announced it (``gateway.commerce.rollups`` has the
protocol and why it counts every event exactly once).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pymongo.errors import DuplicateKeyError

from gateway.database import Database
from gateway.database.query import Doc

# How many recent event ids a rollup remembers (its ``recent`` ring): a fold of an event still
# in the ring changes nothing. See gateway.commerce.rollups for why this bounds nothing that
# matters.
RECENT: Final = 500
COUNTERS: Final = ("orders", "spend", "spend_base", "visits")


def rollup_id(member_id: str, channel_id: str) -> str:
    """The ``_id`` of a member's rollup in a channel."""
    return f"{member_id}|{channel_id}"


async def fold(db: Database, *, member_id: str, channel_id: str, event_id: str,
               counts: dict[str, int], at: datetime | None) -> bool:
    """Add ``counts`` (and ``at`` to the first/last activity times) to the rollup of
    ``(member_id, channel_id)`` unless ``event_id`` is in its ``recent`` ring: one
    conditional upsert. True when this call changed the rollup.

    A duplicate ``_id`` means the document exists and already holds the event (or was
    created by a concurrent first fold): the update is then sent once more without upsert
    (only in that race), and matches only if the event is still not there.
    """
    update: Doc = {
        "$inc": {field: counts.get(field, 0) for field in COUNTERS},
        "$push": {"recent": {"$each": [event_id], "$slice": -RECENT}},
        "$setOnInsert": {"member_id": member_id, "channel_id": channel_id},
    }
    if at is not None:
        update["$min"] = {"first_at": at}
        update["$max"] = {"last_at": at}
    query = {"_id": rollup_id(member_id, channel_id), "recent": {"$ne": event_id}}
    try:
        result = await db["member_rollups"].update_one(query, update, upsert=True)
    except DuplicateKeyError:
        result = await db["member_rollups"].update_one(query, update)
        return bool(result.modified_count)
    return bool(result.modified_count or result.upserted_id is not None)


async def settle(db: Database, *, collection: str, doc_id: str, event_id: str) -> None:
    """Remove the due entry of ``event_id`` from the activity document (folded)."""
    await db[collection].update_one({"_id": doc_id},
                                    {"$pull": {"rollup_due": {"id": event_id}}})


async def overdue(db: Database, collection: str, *, now: datetime, limit: int) -> list[Doc]:
    """Documents of ``collection`` with a due entry past its deadline (``rollup_due`` only)."""
    docs: list[Doc] = await db[collection].find(
        {"rollup_due.until": {"$lt": now}}, {"rollup_due": 1}, limit=limit).to_list()
    return docs
