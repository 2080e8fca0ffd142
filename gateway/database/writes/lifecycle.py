"""Writes of an order's life after it is placed: payments authorised, captured, voided and
refunded; shipments, pick-ups, completion and returns; the order events of the timeline.

Every change here is applied **once per operation id** (a shipment's, a refund's, a
capture's...). The document it changes keeps the ids of the operations applied to it in
``ops`` (the latest :data:`OPS_KEPT`), and the update matches only while the id is absent and
appends it in the same single-document update. So a concurrent duplicate, or a retry of a
request that died half-way, finds the id there and changes nothing: the caller reads the
document again to tell "already applied" from "refused" (:func:`applied`).
"""

from __future__ import annotations

from typing import Any, Final

from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

from gateway.database import Database
from gateway.database.products import stock_key
from gateway.database.query import Doc
from gateway.database.scope import Scope
from gateway.database.writes import orders as order_writes

# Operation ids kept per document: far more than the operations one order, payment or stock
# level sees within a retry's time.
OPS_KEPT: Final = order_writes.OPS_KEPT
# Open orders take payments; these statuses still owe money or stock to the buyer.
OPEN: Final = ["PLACED", "PAID"]


def _once(op_id: str) -> Doc:
    return {"ops": {"$ne": op_id}}


def _record(op_id: str, kept: int = OPS_KEPT) -> Doc:
    return {"ops": {"$each": [op_id], "$slice": -kept}}


def applied(doc: Doc | None, op_id: str) -> bool:
    """Whether ``op_id`` was applied to ``doc`` (read after a conditional update missed)."""
    return doc is not None and op_id in doc.get("ops", [])


async def get(db: Database, collection: str, doc_id: str, *, scope: Scope) -> Doc | None:
    """One order or payment the caller may see."""
    found: Doc | None = await db[collection].find_one(scope.restrict({"_id": doc_id}))
    return found


async def change_order(db: Database, *, scope: Scope, order_id: str, op_id: str,
                       where: Doc | None = None, update: Doc) -> Doc | None:
    """Apply ``update`` to an order once for ``op_id`` while it also matches ``where``; the
    order after, or ``None`` (refused, or already applied: see :func:`applied`)."""
    found: Doc | None = await db["orders"].find_one_and_update(
        scope.restrict({"_id": order_id, **_once(op_id), **(where or {})}),
        {**update, "$push": {**update.get("$push", {}), **_record(op_id)}},
        return_document=ReturnDocument.AFTER,
    )
    return found


async def undo_order(db: Database, *, order_id: str, op_id: str, update: Doc) -> None:
    """Undo an order change of ``op_id`` exactly (a later step of its operation was
    refused): ``update`` reverses it, and the id leaves ``ops``."""
    await db["orders"].update_one({"_id": order_id, "ops": op_id},
                                  {**update, "$pull": {**update.get("$pull", {}), "ops": op_id}})


async def change_payment(db: Database, *, scope: Scope, payment_id: str, op_id: str,
                         where: Doc | None = None, update: Doc) -> Doc | None:
    """Apply ``update`` to a payment once for ``op_id`` while it matches ``where``; the
    payment after, or ``None``."""
    found: Doc | None = await db["payments"].find_one_and_update(
        scope.restrict({"_id": payment_id, **_once(op_id), **(where or {})}),
        {**update, "$push": {**update.get("$push", {}), **_record(op_id)}},
        return_document=ReturnDocument.AFTER,
    )
    return found


async def set_payment_status(db: Database, *, payment_id: str, where: Doc, status: str) -> None:
    """Move a payment to ``status`` while it matches ``where`` (a follow-up of a refund)."""
    await db["payments"].update_one({"_id": payment_id, **where}, {"$set": {"status": status}})


async def payments_of(db: Database, *, order_id: str) -> list[Doc]:
    """Every payment of an order, oldest first (the rules' view: unscoped)."""
    docs: list[Doc] = await db["payments"].find(
        {"order_id": order_id}, sort=[("paid_at", 1), ("_id", 1)]).to_list(None)
    return docs


async def insert_many_once(db: Database, collection: str, docs: list[Doc]) -> None:
    """Insert documents whose ``_id`` is fixed by their operation; those already there stay."""
    try:
        await db[collection].insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", [])):
            raise


async def delete_ids(db: Database, collection: str, ids: list[str]) -> None:
    """Remove documents written by a step that is being undone (those absent are ignored)."""
    await db[collection].delete_many({"_id": {"$in": ids}})


async def insert_once(db: Database, collection: str, doc: Doc) -> bool:
    """Insert a document whose ``_id`` is its operation's; False when it was there already."""
    try:
        await db[collection].insert_one(doc)
    except DuplicateKeyError:
        return False
    return True


async def take_stock(db: Database, *, sku: str, location_id: str, quantity: int,
                     reserved: bool, op_id: str) -> Doc | None:
    """Units leave a location once for ``op_id``: ``on_hand -= q`` (and ``reserved -= q``
    when they were reserved for the order) while that many are there; the level after, or
    ``None`` (short, or already taken: see :func:`applied`)."""
    where: Doc = ({"reserved": {"$gte": quantity}, "on_hand": {"$gte": quantity}} if reserved
                  else {"$expr": {"$gte": [{"$subtract": ["$on_hand", "$reserved"]}, quantity]}})
    inc: dict[str, Any] = {"on_hand": -quantity}
    if reserved:
        inc["reserved"] = -quantity
    found: Doc | None = await db["inventory"].find_one_and_update(
        {"_id": stock_key(sku, location_id), **_once(op_id), **where},
        {"$inc": inc, "$push": _record(op_id, 100)},
        return_document=ReturnDocument.AFTER,
    )
    return found


async def untake_stock(db: Database, *, sku: str, location_id: str, quantity: int,
                       reserved: bool, op_id: str) -> None:
    """Undo :func:`take_stock` of ``op_id`` exactly (a later line was short). It cannot
    refuse at ``OMNIGW_MAX_STOCK_LEVEL``: the units it puts back left moments ago in the same
    operation, so only a level raised to the ceiling in between passes it, by those units."""
    inc: dict[str, Any] = {"on_hand": quantity}
    if reserved:
        inc["reserved"] = quantity
    await db["inventory"].update_one({"_id": stock_key(sku, location_id), "ops": op_id},
                                     {"$inc": inc, "$pull": {"ops": op_id}})


async def put_stock(db: Database, *, sku: str, location_id: str, quantity: int,
                    op_id: str, ceiling: int) -> Doc | None:
    """Units arrive at a location once for ``op_id`` (``on_hand += q``; a level is created
    when the location never stocked the product) while the level stays at or below
    ``ceiling``; the level after, or ``None`` (past the ceiling, or already applied: see
    :func:`applied`)."""
    if quantity > ceiling:  # a new level too would pass it (an upsert checks no range)
        return None
    try:
        found: Doc | None = await db["inventory"].find_one_and_update(
            {"_id": stock_key(sku, location_id), **_once(op_id),
             "on_hand": {"$lte": ceiling - quantity}},
            {"$inc": {"on_hand": quantity}, "$push": _record(op_id, 100),
             "$setOnInsert": {"sku": sku, "location_id": location_id, "reserved": 0}},
            upsert=True, return_document=ReturnDocument.AFTER,
        )
    except DuplicateKeyError:  # the level exists, and holds the op or is too high
        return None
    return found


async def unput_stock(db: Database, *, sku: str, location_id: str, quantity: int,
                      op_id: str) -> None:
    """Undo :func:`put_stock` of ``op_id`` exactly (a later line, or its order, refused)."""
    await db["inventory"].update_one({"_id": stock_key(sku, location_id), "ops": op_id},
                                     {"$inc": {"on_hand": -quantity}, "$pull": {"ops": op_id}})


async def release_stock(db: Database, *, sku: str, location_id: str, quantity: int,
                        op_id: str) -> bool:
    """Reserved units go back to available once for ``op_id`` (``reserved -= q``). On-hand
    does not move, so no ``OMNIGW_MAX_STOCK_LEVEL`` applies."""
    result = await db["inventory"].update_one(
        {"_id": stock_key(sku, location_id), **_once(op_id), "reserved": {"$gte": quantity}},
        {"$inc": {"reserved": -quantity}, "$push": _record(op_id, 100)},
    )
    return bool(result.modified_count == 1)


async def stock_level(db: Database, *, sku: str, location_id: str) -> Doc | None:
    found: Doc | None = await db["inventory"].find_one({"_id": stock_key(sku, location_id)})
    return found


async def location(db: Database, location_id: str) -> Doc | None:
    """A location as the rules see it (an order's pick-up store may be another channel's)."""
    found: Doc | None = await db["locations"].find_one({"_id": location_id})
    return found


async def pickup_failed(db: Database, *, order_id: str) -> None:
    """Count a wrong collection code."""
    await db["orders"].update_one({"_id": order_id, "pickup.status": "READY"},
                                  {"$inc": {"pickup.failures": 1}})
