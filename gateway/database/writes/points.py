"""The writes of points spent as a payment (gateway/commerce/points.py).

A member's balance moves by one conditional update each way. Spending takes the points and
records the operation in ``points_holds`` in the same update (``{op, points, at}``, ``op`` =
``"REDEEM:<payment id>"``), only while the balance covers it and the operation is not held
already: so a balance never goes below zero and a retry of the same payment never spends
twice. The hold is settled (removed) once the payment is written, or given back (points
returned, hold removed, in one update that matches only while the hold is there) when it
cannot be. A refund gives points back by one update that records its id on the member, so
it is applied once (:func:`credit_once`).
"""

from __future__ import annotations

from datetime import datetime

from pymongo import ReturnDocument

from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.writes.orders import OPS_KEPT


async def hold(db: Database, *, member_id: str, points: int, op: str,
               at: datetime) -> Doc | None:
    """``points -= n`` while ``points >= n`` and ``op`` is not held; the member after."""
    found: Doc | None = await db["members"].find_one_and_update(
        {"_id": member_id, "points": {"$gte": points}, "points_holds.op": {"$ne": op}},
        {"$inc": {"points": -points}, "$push": {"points_holds": {"op": op, "points": points,
                                                                 "at": at}}},
        return_document=ReturnDocument.AFTER)
    return found


async def held(db: Database, *, member_id: str, op: str) -> Doc | None:
    """The member while ``op`` is held (a resumed attempt finds its predecessor's hold)."""
    found: Doc | None = await db["members"].find_one({"_id": member_id, "points_holds.op": op})
    return found


async def settle(db: Database, *, member_id: str, op: str) -> None:
    """The payment is written: the hold is done with."""
    await db["members"].update_one({"_id": member_id}, {"$pull": {"points_holds": {"op": op}}})


async def give_back(db: Database, *, member_id: str, op: str, points: int) -> bool:
    """Undo a hold whose payment could not be written (once: only while it is held)."""
    result = await db["members"].update_one(
        {"_id": member_id, "points_holds.op": op},
        {"$inc": {"points": points}, "$pull": {"points_holds": {"op": op}}})
    return bool(result.modified_count)


async def credit_once(db: Database, *, member_id: str, points: int, op: str) -> Doc | None:
    """``points += n`` once for ``op`` (a refund): the update records ``op`` in the member's
    ``points_ops`` (the latest ``OPS_KEPT``) and matches only while it is absent. The member
    after, or ``None`` when ``op`` was applied before."""
    found: Doc | None = await db["members"].find_one_and_update(
        {"_id": member_id, "points_ops": {"$ne": op}},
        {"$inc": {"points": points},
         "$push": {"points_ops": {"$each": [op], "$slice": -OPS_KEPT}}},
        return_document=ReturnDocument.AFTER)
    return found
