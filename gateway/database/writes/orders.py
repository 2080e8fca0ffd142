"""Order, payment and visit writes."""

from __future__ import annotations

from pymongo import ReturnDocument

from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.scope import Scope

# Operation ids an order keeps (see gateway.database.writes.lifecycle).
OPS_KEPT = 1000


async def insert(db: Database, collection: str, doc: Doc) -> None:
    """Insert one order, payment or visit (its ``_id`` is chosen by the caller)."""
    await db[collection].insert_one(doc)


async def set_status(db: Database, *, scope: Scope, order_id: str, from_statuses: list[str],
                     to: str, extra: Doc | None = None, due: Doc | None = None,
                     where: Doc | None = None) -> Doc | None:
    """Move an order (of a channel the caller may see) from one of ``from_statuses`` to
    ``to`` while it also matches ``where``, appending ``due`` to its ``rollup_due`` entries;
    the document before the change, or ``None`` when it did not match (one conditional
    findAndModify)."""
    update: Doc = {"$set": {"status": to, **(extra or {})}}
    if due is not None:
        update["$push"] = {"rollup_due": due}
    found: Doc | None = await db["orders"].find_one_and_update(
        scope.restrict({"_id": order_id, "status": {"$in": from_statuses}, **(where or {})}),
        update)
    return found


async def add_paid(
    db: Database, *, scope: Scope, order_id: str, payment_id: str, amount: int, currency: str
) -> Doc | None:
    """``paid += amount`` for ``payment_id``, once: while the order is open, in ``currency``,
    ``paid + authorized + amount`` does not exceed its total, and the payment's id is not
    among the order's ``ops`` (it is added in the same update, so a retry of a request that
    died before inserting the payment cannot count it twice). The document after, or
    ``None``."""
    found: Doc | None = await db["orders"].find_one_and_update(
        scope.restrict({
            "_id": order_id,
            "currency": currency,
            "status": {"$in": ["PLACED", "PAID"]},
            "ops": {"$ne": payment_id},
            "$expr": {"$lte": [{"$add": [{"$ifNull": ["$paid", 0]},
                                         {"$ifNull": ["$authorized", 0]}, amount]}, "$total"]},
        }),
        {"$inc": {"paid": amount}, "$push": {"ops": {"$each": [payment_id], "$slice": -OPS_KEPT}}},
        return_document=ReturnDocument.AFTER,
    )
    return found


async def delete(db: Database, collection: str, doc_id: str) -> None:
    """Remove a document written by a step that is being undone."""
    await db[collection].delete_one({"_id": doc_id})
