"""Stock writes on ``inventory`` (one document per SKU and location: ``on_hand``,
``reserved``) and the ``stock_movements`` audit trail.

Available units are ``on_hand - reserved``. Every change that lowers them is ONE conditional
update that matches only while enough units are available, so concurrent orders can never
oversell and no level ever goes negative. Every change that raises them adds ``on_hand`` in
one conditional update that matches only while the level stays at or below
``OMNIGW_MAX_STOCK_LEVEL`` (:func:`compare_and_adjust` through its expected level,
:func:`put_incoming` and ``gateway.database.writes.lifecycle.put_stock`` through their
``ceiling``); giving reserved units back moves no on-hand units and has no ceiling.

A reservation for an order or a transfer that is not written yet also appends a *hold* to the
document's ``holds`` array, in the same update: ``{order, quantity, until, token}`` (``order``
names the owner, an ``ord_`` or ``trf_`` id; ``token`` the attempt that made it). Giving a
hold back removes it in the update that lowers ``reserved``, and matches only while it is
there, so its units come back at most once (``gateway.commerce.reservations``).

A transfer's holds outlive its insert: at its source a hold of the units it will take
(``quantity``), at its destination a hold of none with the units on their way
(``incoming``). Shipping removes the first in the update that takes the units out, receiving
the second in the update that puts them in, so each side changes exactly once however many
callers (or retries of a step cut half-way) run the step (``gateway.commerce.transfers``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

from gateway.database import Database
from gateway.database.products import stock_key
from gateway.database.query import Doc

DUPLICATE_KEY = 11000


def _available_at_least(quantity: int) -> Doc:
    return {"$expr": {"$gte": [{"$subtract": ["$on_hand", "$reserved"]}, quantity]}}


@dataclass(frozen=True)
class Hold:
    """Who holds reserved units until their order is written: the order's id, the attempt
    (``token``) and until when the units wait for the order."""

    order_id: str
    token: str
    until: datetime


async def reserve(
    db: Database, *, sku: str, location_id: str, quantity: int, hold: Hold
) -> bool:
    """Reserve ``quantity`` units for ``hold.order_id`` (``reserved += q`` and a hold) if that
    many are available and the order holds none here yet."""
    result = await db["inventory"].update_one(
        {"_id": stock_key(sku, location_id), **_available_at_least(quantity),
         "holds.order": {"$ne": hold.order_id}},
        {"$inc": {"reserved": quantity},
         "$push": {"holds": {"order": hold.order_id, "quantity": quantity,
                             "until": hold.until, "token": hold.token}}},
    )
    return bool(result.modified_count == 1)


async def rearm(db: Database, *, sku: str, location_id: str, hold: Hold) -> bool:
    """Take over the hold ``hold.order_id`` already has here (left by an attempt that
    stopped): this attempt's token and deadline; False when there is none."""
    result = await db["inventory"].update_one(
        {"_id": stock_key(sku, location_id), "holds.order": hold.order_id},
        {"$set": {"holds.$.token": hold.token, "holds.$.until": hold.until}},
    )
    return bool(result.modified_count == 1)


async def unhold(db: Database, *, sku: str, location_id: str, quantity: int, hold: Hold) -> bool:
    """Give back the units of a hold this attempt made, if it still is there."""
    result = await db["inventory"].update_one(
        {"_id": stock_key(sku, location_id),
         "holds": {"$elemMatch": {"order": hold.order_id, "token": hold.token}}},
        {"$inc": {"reserved": -quantity}, "$pull": {"holds": {"order": hold.order_id}}},
    )
    return bool(result.modified_count == 1)


async def add_incoming(
    db: Database, *, sku: str, location_id: str, quantity: int, hold: Hold
) -> bool:
    """Announce ``quantity`` units on their way to a location for ``hold.order_id`` (a hold of
    no reserved units, ``incoming: q``), creating the level at 0 when the SKU is new there;
    False when the owner already has a hold here."""
    try:
        result = await db["inventory"].update_one(
            {"_id": stock_key(sku, location_id), "holds.order": {"$ne": hold.order_id}},
            {"$push": {"holds": {"order": hold.order_id, "quantity": 0, "incoming": quantity,
                                 "until": hold.until, "token": hold.token}},
             "$setOnInsert": {"sku": sku, "location_id": location_id, "on_hand": 0,
                              "reserved": 0}},
            upsert=True,
        )
    except DuplicateKeyError:  # the level exists and the owner already holds here
        return False
    return bool(result.modified_count == 1 or result.upserted_id is not None)


async def take_held(
    db: Database, *, sku: str, location_id: str, quantity: int, owner: str
) -> Doc | None:
    """The units ``owner`` holds here leave the location: ``on_hand -= q``, ``reserved -= q``
    and the hold removed, in one update that matches only while the hold is there (exactly
    once). The level after, or ``None`` when the hold was gone."""
    found: Doc | None = await db["inventory"].find_one_and_update(
        {"_id": stock_key(sku, location_id),
         "holds": {"$elemMatch": {"order": owner, "quantity": quantity}}},
        {"$inc": {"on_hand": -quantity, "reserved": -quantity},
         "$pull": {"holds": {"order": owner}}},
        return_document=ReturnDocument.AFTER,
    )
    return found


async def put_incoming(
    db: Database, *, sku: str, location_id: str, quantity: int, owner: str, ceiling: int
) -> Doc | None:
    """The units on their way for ``owner`` arrive: ``on_hand += q`` and its incoming hold
    removed, in one update that matches only while that hold is there (exactly once) and the
    level stays at or below ``ceiling``. The level after, or ``None``."""
    found: Doc | None = await db["inventory"].find_one_and_update(
        {"_id": stock_key(sku, location_id),
         "holds": {"$elemMatch": {"order": owner, "incoming": quantity}},
         "on_hand": {"$lte": ceiling - quantity}},
        {"$inc": {"on_hand": quantity}, "$pull": {"holds": {"order": owner}}},
        return_document=ReturnDocument.AFTER,
    )
    return found


async def release_held(
    db: Database, *, sku: str, location_id: str, quantity: int, owner: str
) -> bool:
    """Give back the units ``owner`` holds here (``reserved -= q``, the hold removed), once.
    On-hand does not move (a cancelled transfer's units never left), so no ceiling applies."""
    result = await db["inventory"].update_one(
        {"_id": stock_key(sku, location_id),
         "holds": {"$elemMatch": {"order": owner, "quantity": quantity}}},
        {"$inc": {"reserved": -quantity}, "$pull": {"holds": {"order": owner}}},
    )
    return bool(result.modified_count == 1)


async def drop_holds(db: Database, *, doc_ids: list[str], owner: str) -> None:
    """Remove the holds of no reserved units ``owner`` has on these levels (one command)."""
    await db["inventory"].update_many(
        {"_id": {"$in": doc_ids}, "holds": {"$elemMatch": {"order": owner, "quantity": 0}}},
        {"$pull": {"holds": {"order": owner, "quantity": 0}}},
    )


async def expired_holds(db: Database, *, now: datetime, limit: int) -> list[Doc]:
    """Inventory documents with a hold past its deadline (``_id`` and ``holds`` only)."""
    docs: list[Doc] = await db["inventory"].find(
        {"holds.until": {"$lt": now}}, {"holds": 1}, limit=limit).to_list()
    return docs


async def end_hold(
    db: Database, *, doc_id: str, order_id: str, quantity: int, now: datetime, give_back: bool
) -> bool:
    """Remove an expired hold, and with ``give_back`` its units (``reserved -= q``); matches
    only while the hold is there and still expired (nobody re-armed it)."""
    update: Doc = {"$pull": {"holds": {"order": order_id}}}
    if give_back:
        update["$inc"] = {"reserved": -quantity}
    result = await db["inventory"].update_one(
        {"_id": doc_id, "holds": {"$elemMatch": {"order": order_id, "until": {"$lt": now}}}},
        update,
    )
    return bool(result.modified_count == 1)


async def confirm_hold(db: Database, *, doc_id: str, owner: str, now: datetime) -> bool:
    """Keep an expired hold whose owner was written, without a deadline (a transfer's holds
    stay until it ships or is received); matches only while it is there and still expired."""
    result = await db["inventory"].update_one(
        {"_id": doc_id, "holds": {"$elemMatch": {"order": owner, "until": {"$lt": now}}}},
        {"$unset": {"holds.$.until": ""}},
    )
    return bool(result.modified_count == 1)


async def release(
    db: Database, *, sku: str, location_id: str, quantity: int, order_id: str
) -> bool:
    """Give a written order's reservation back (``reserved -= q``, never below zero), and its
    hold if the sweeper has not removed it yet. On-hand does not move, so no ceiling applies."""
    result = await db["inventory"].update_one(
        {"_id": stock_key(sku, location_id), "reserved": {"$gte": quantity}},
        {"$inc": {"reserved": -quantity}, "$pull": {"holds": {"order": order_id}}},
    )
    return bool(result.modified_count == 1)


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


async def record_movements(db: Database, movements: list[Doc]) -> None:
    """Write movements whose ids are derived from what made them (a transfer's step, a
    caller's key), in one command: a movement already written is kept, except that one made
    by the change itself (``after`` known) gives its levels, author and time to one written
    first by a caller that found the change already made (and knew none of them)."""
    if not movements:
        return
    try:
        await db["stock_movements"].insert_many(movements, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(error.get("code") != DUPLICATE_KEY for error in errors):
            raise
        for error in errors:
            movement = movements[error["index"]]
            if movement.get("after") is not None:
                await db["stock_movements"].update_one(
                    {"_id": movement["_id"], "after": None},
                    {"$set": {k: movement[k] for k in ("before", "after", "by", "at")}})
