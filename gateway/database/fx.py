"""Exchange rates: today's rate of each currency (``fx_rates``) and every rate ever set
(``fx_history``).

``fx_rates`` holds one document per currency, ``_id`` the ISO 4217 code: ``rate`` (units of
the base currency per unit of the currency, a decimal string), ``as_of``, and the id of the
snapshot it belongs to (``snapshot_id``, ``fx_...``). ``setFxRate`` inserts a new snapshot in
``fx_history`` (its ``_id`` is the snapshot id) and then makes it today's rate; a write keeps
the rate and the snapshot id it used, so what it was saved with never changes.
"""

from __future__ import annotations

from gateway.database import Database
from gateway.database.query import Doc, find

CURRENT = "fx_rates"
HISTORY = "fx_history"


async def current_rates(db: Database) -> list[Doc]:
    """Today's rate of every currency, by currency code."""
    return await find(db[CURRENT], {}, sort=[("_id", 1)])


async def snapshot(db: Database, snapshot_id: str) -> Doc | None:
    """One snapshot of the history by id."""
    found: Doc | None = await db[HISTORY].find_one({"_id": snapshot_id})
    return found
