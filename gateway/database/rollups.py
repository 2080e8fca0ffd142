"""Member rollups (``member_rollups``): read them, recompute them from the activity
collections, rebuild them, and compare them with a recomputation.

The rollups are maintained by every write that changes them (``gateway.commerce.rollups``
says how, and why exactly once); this module is what reads them, and what proves them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from gateway.database import Database
from gateway.database.query import BATCH_SIZE, Doc, aggregate, find
from gateway.database.scope import Scope
from gateway.database.writes.rollups import COUNTERS, rollup_id

FIELDS: Final = ("member_id", "channel_id", *COUNTERS, "first_at", "last_at")
WRITE_BATCH: Final = 2_000

# What one order counts towards spend, as an aggregation expression over an order document:
# its total less what was refunded of it (refunds of returns included), in the channel's
# currency (SPEND) and at its FX snapshot (SPEND_BASE); nothing once it is cancelled. The one
# definition of spend: the rollups sum it (so ``lifetimeValue`` and ``channelSummaries`` read
# it), and so does ``omnichannelReach`` (gateway.database.analytics).
_CANCELLED: Final[Doc] = {"$eq": ["$status", "CANCELLED"]}
SPEND: Final[Doc] = {"$cond": [_CANCELLED, 0, {
    "$subtract": ["$total", {"$ifNull": ["$refunded", 0]}]}]}
SPEND_BASE: Final[Doc] = {"$cond": [_CANCELLED, 0, {
    "$subtract": ["$total_base", {"$ifNull": ["$refunded_base", 0]}]}]}


async def rollups_by_members(db: Database, member_ids: Sequence[str], *,
                             scope: Scope) -> list[Doc]:
    """The rollups of ``member_ids`` in the channels the caller may see: one ``find`` on the
    ``member_id`` index, one document per (member, channel), whatever the members' past."""
    return await find(
        db["member_rollups"],
        scope.restrict({"member_id": {"$in": list(dict.fromkeys(member_ids))}}),
        projection=dict.fromkeys(FIELDS, 1),
    )


async def recompute(db: Database) -> dict[str, Doc]:
    """Every rollup as the activity collections say it should be (two aggregates over all of
    ``orders`` and ``visits``; an order counts its total less its refunds), by ``_id``."""
    orders = await aggregate(db["orders"], [
        {"$match": {"member_id": {"$ne": None}}},
        {"$group": {
            "_id": {"member": "$member_id", "channel": "$channel_id"},
            "orders": {"$sum": {"$cond": [_CANCELLED, 0, 1]}},
            "spend": {"$sum": SPEND},
            "spend_base": {"$sum": SPEND_BASE},
            "first_at": {"$min": "$placed_at"},
            "last_at": {"$max": "$placed_at"},
        }},
    ])
    visits = await aggregate(db["visits"], [
        {"$match": {"member_id": {"$ne": None}}},
        {"$group": {"_id": {"member": "$member_id", "channel": "$channel_id"},
                    "visits": {"$sum": 1}, "first_at": {"$min": "$at"},
                    "last_at": {"$max": "$at"}}},
    ])
    found: dict[str, Doc] = {}
    for row in orders + visits:
        member, channel = row["_id"]["member"], row["_id"]["channel"]
        doc = found.setdefault(rollup_id(member, channel), {
            "_id": rollup_id(member, channel), "member_id": member, "channel_id": channel,
            **dict.fromkeys(COUNTERS, 0), "first_at": None, "last_at": None})
        for field in COUNTERS:
            doc[field] += row.get(field, 0)
        times = [t for t in (doc["first_at"], row["first_at"]) if t is not None]
        doc["first_at"] = min(times) if times else None
        times = [t for t in (doc["last_at"], row["last_at"]) if t is not None]
        doc["last_at"] = max(times) if times else None
    return found


async def rebuild(db: Database) -> int:
    """Replace every rollup with its recomputation; the number of rollups written.

    Run it while no write changes the totals (after a bulk load, or with writes stopped):
    it first clears the due entries of the activity documents (the recomputation counts
    their events), then rewrites ``member_rollups`` with empty ``recent`` rings."""
    for collection in ("orders", "visits"):
        await db[collection].update_many({"rollup_due": {"$exists": True}},
                                          {"$unset": {"rollup_due": ""}})
    docs = [{**doc, "recent": []} for doc in (await recompute(db)).values()]
    await db["member_rollups"].delete_many({})
    for start in range(0, len(docs), WRITE_BATCH):
        await db["member_rollups"].insert_many(docs[start:start + WRITE_BATCH], ordered=False)
    return len(docs)


@dataclass(frozen=True)
class Difference:
    """A rollup that differs from its recomputation (``None``: missing on that side)."""

    rollup_id: str
    stored: Doc | None
    expected: Doc | None


def _comparable(doc: Doc) -> dict[str, Any]:
    row = {field: doc.get(field, 0 if field in COUNTERS else None) for field in FIELDS}
    for field in ("first_at", "last_at"):  # engines differ in time zone awareness
        at = row[field]
        if at is not None:
            row[field] = at.replace(tzinfo=None)
    return row


async def differences(db: Database) -> list[Difference]:
    """Every rollup that differs from a recomputation (empty: the rollups are right)."""
    expected = await recompute(db)
    cursor = db["member_rollups"].find({}, dict.fromkeys(FIELDS, 1), batch_size=BATCH_SIZE)
    stored: dict[str, Doc] = {doc["_id"]: doc for doc in await cursor.to_list(None)}
    found = []
    for key in sorted(set(expected) | set(stored)):
        have, want = stored.get(key), expected.get(key)
        if have is None or want is None or _comparable(have) != _comparable(want):
            found.append(Difference(rollup_id=key, stored=have, expected=want))
    return found
