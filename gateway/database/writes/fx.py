"""The writes of ``setFxRate``: a snapshot in ``fx_history``, then today's rate in ``fx_rates``
(gateway/database/fx.py describes both collections)."""

from __future__ import annotations

from datetime import datetime

from pymongo.errors import DuplicateKeyError

from gateway.database import Database
from gateway.database.fx import CURRENT, HISTORY
from gateway.database.query import Doc


async def insert_snapshot(db: Database, doc: Doc) -> None:
    """Record a new rate (``_id``: its snapshot id) in the history."""
    await db[HISTORY].insert_one(doc)


async def make_current(db: Database, *, snapshot: Doc) -> bool:
    """Make ``snapshot`` today's rate of its currency, unless a snapshot set later already is
    (two concurrent ``setFxRate`` of one currency: the later ``as_of`` stays). True when it
    became today's rate. One conditional upsert."""
    at: datetime = snapshot["as_of"]
    try:
        result = await db[CURRENT].update_one(
            {"_id": snapshot["currency"], "$or": [{"as_of": {"$lt": at}},
                                                  {"as_of": {"$exists": False}}]},
            {"$set": {"currency": snapshot["currency"], "rate": snapshot["rate"], "as_of": at,
                      "snapshot_id": snapshot["_id"]}},
            upsert=True,
        )
    except DuplicateKeyError:  # the currency's document holds a later snapshot
        return False
    return bool(result.matched_count or result.upserted_id is not None)
