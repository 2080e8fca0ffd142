"""Member, identity, points-ledger and merge writes."""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument

from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.writes.orders import OPS_KEPT


async def insert(db: Database, collection: str, doc: Doc) -> None:
    """Insert one member, identity, ledger entry or merge record."""
    await db[collection].insert_one(doc)


async def find_one(db: Database, collection: str, doc_id: str) -> Doc | None:
    found: Doc | None = await db[collection].find_one({"_id": doc_id})
    return found


async def delete(db: Database, collection: str, doc_id: str) -> Doc | None:
    """Remove a document by ``_id``; the removed document or ``None``."""
    found: Doc | None = await db[collection].find_one_and_delete({"_id": doc_id})
    return found


async def add_points(db: Database, *, member_id: str, delta: int, tier: str | None) -> Doc | None:
    """``points += delta`` (and the tier, when given); the member after the change."""
    update: dict[str, Any] = {"$inc": {"points": delta}}
    if tier is not None:
        update["$set"] = {"tier": tier}
    found: Doc | None = await db["members"].find_one_and_update(
        {"_id": member_id}, update, return_document=ReturnDocument.AFTER
    )
    return found


async def add_points_once(db: Database, *, member_id: str, delta: int, tier: str,
                          op: str) -> Doc | None:
    """``points += delta`` and the tier, once for ``op`` (a ledger entry's id): the update
    records ``op`` in the member's ``points_ops`` (the latest ``OPS_KEPT``) and matches only
    while it is absent. The member after, or ``None`` when ``op`` was applied before."""
    found: Doc | None = await db["members"].find_one_and_update(
        {"_id": member_id, "points_ops": {"$ne": op}},
        {"$inc": {"points": delta}, "$set": {"tier": tier},
         "$push": {"points_ops": {"$each": [op], "$slice": -OPS_KEPT}}},
        return_document=ReturnDocument.AFTER)
    return found


async def fill_balance(db: Database, *, entry_id: str, balance: int) -> bool:
    """Set the balance of a ledger entry written without one (by a retry that found its
    points moved); True when it matched."""
    result = await db["points_ledger"].update_one({"_id": entry_id, "balance": None},
                                                  {"$set": {"balance": balance}})
    return bool(result.matched_count == 1)


async def update_member(db: Database, *, query: Doc, update: Doc) -> bool:
    """One conditional update of a member; True when it matched."""
    result = await db["members"].update_one(query, update)
    return bool(result.matched_count == 1)


async def move_identities(db: Database, *, ids: list[str], from_member: str,
                          to_member: str) -> int:
    """Give the identities ``ids`` held by ``from_member`` to ``to_member``."""
    result = await db["identities"].update_many(
        {"_id": {"$in": ids}, "member_id": from_member}, {"$set": {"member_id": to_member}}
    )
    return int(result.modified_count)


async def set_merge_status(db: Database, *, merge_id: str, from_status: str, to: str,
                           extra: Doc | None = None) -> Doc | None:
    """Move a merge record between statuses (one winner); the record before, or ``None``."""
    found: Doc | None = await db["merges"].find_one_and_update(
        {"_id": merge_id, "status": from_status}, {"$set": {"status": to, **(extra or {})}}
    )
    return found
