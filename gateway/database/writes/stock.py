"""Stock writes on ``inventory`` (one document per SKU and location: ``on_hand``,
``reserved``) and the ``stock_movements`` audit trail.

Available units are ``on_hand - reserved``. Every change that lowers them is ONE conditional
update that matches only while enough units are available, so concurrent orders can never
oversell and no level ever goes negative.
"""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from gateway.database import Database
from gateway.database.products import stock_key
from gateway.database.query import Doc


def _available_at_least(quantity: int) -> Doc:
    return {"$expr": {"$gte": [{"$subtract": ["$on_hand", "$reserved"]}, quantity]}}


async def reserve(db: Database, *, sku: str, location_id: str, quantity: int) -> bool:
    """Hold ``quantity`` units for an order (``reserved += q``) if that many are available."""
    result = await db["inventory"].update_one(
        {"_id": stock_key(sku, location_id), **_available_at_least(quantity)},
        {"$inc": {"reserved": quantity}},
    )
    return bool(result.modified_count == 1)


async def release(db: Database, *, sku: str, location_id: str, quantity: int) -> bool:
    """Give a reservation back (``reserved -= q``, never below zero)."""
    result = await db["inventory"].update_one(
        {"_id": stock_key(sku, location_id), "reserved": {"$gte": quantity}},
        {"$inc": {"reserved": -quantity}},
    )
    return bool(result.modified_count == 1)


async def take(db: Database, *, sku: str, location_id: str, quantity: int) -> bool:
    """Record units that left the shelf in a sale already made (``on_hand -= q``) if that many
    are available."""
    result = await db["inventory"].update_one(
        {"_id": stock_key(sku, location_id), **_available_at_least(quantity)},
        {"$inc": {"on_hand": -quantity}},
    )
    return bool(result.modified_count == 1)


async def put_back(db: Database, *, sku: str, location_id: str, quantity: int) -> None:
    """Undo :func:`take` (``on_hand += q``)."""
    await db["inventory"].update_one(
        {"_id": stock_key(sku, location_id)}, {"$inc": {"on_hand": quantity}}
    )


async def compare_and_adjust(
    db: Database, *, sku: str, location_id: str, expected_on_hand: int, delta: int
) -> Doc | None:
    """``on_hand += delta`` only while ``on_hand == expected_on_hand`` and the result stays at
    or above ``reserved``; the document after the change, or ``None`` when the level moved.
    An unstocked pair is created when ``expected_on_hand`` is 0."""
    query: Doc = {"_id": stock_key(sku, location_id), "on_hand": expected_on_hand}
    if delta < 0:
        query["reserved"] = {"$lte": expected_on_hand + delta}
    update: dict[str, Any] = {"$inc": {"on_hand": delta}}
    if expected_on_hand == 0:
        update["$setOnInsert"] = {"sku": sku, "location_id": location_id, "reserved": 0}
    try:
        found: Doc | None = await db["inventory"].find_one_and_update(
            query, update, upsert=expected_on_hand == 0 and delta > 0,
            return_document=ReturnDocument.AFTER,
        )
    except DuplicateKeyError:
        return None
    return found


async def level(db: Database, *, sku: str, location_id: str) -> Doc | None:
    found: Doc | None = await db["inventory"].find_one({"_id": stock_key(sku, location_id)})
    return found


async def insert_movement(db: Database, movement: Doc) -> None:
    """Append one audit entry: who, why, before, after."""
    await db["stock_movements"].insert_one(movement)
