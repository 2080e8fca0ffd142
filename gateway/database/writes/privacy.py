"""Writes of consent, erasure and the member audit trail.

Consent: a record is inserted into ``consents``, then the member document's current state is
moved by one conditional update that matches only when the record is newer than the state it
replaces (``consent_at.<purpose>:<channel>``; at the same time, the one with the greater id,
``consent_id.<purpose>:<channel>``: the order the reads use), so records applied out of order
or concurrently leave the latest one in force. ``consented`` lists the ``<purpose>:<channel>``
pairs granted now.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.database import Database
from gateway.database.consents import COLLECTION, state_field, state_key
from gateway.database.query import Doc

AUDIT = "audit"


async def insert_consent(db: Database, doc: Doc) -> None:
    await db[COLLECTION].insert_one(doc)


async def apply_consent(db: Database, *, member_id: str, purpose: str, channel_id: str,
                        granted: bool, at: datetime, record_id: str) -> bool:
    """Make a record the member's current consent unless a newer one is (by time, then id);
    True if it did."""
    field = state_field(purpose, channel_id)
    path, id_path = f"consent_at.{field}", f"consent_id.{field}"
    update: dict[str, Any] = {"$set": {path: at, id_path: record_id}}
    update["$addToSet" if granted else "$pull"] = {"consented": state_key(purpose, channel_id)}
    result = await db["members"].update_one({"_id": member_id, "$or": [
        {path: {"$exists": False}}, {path: {"$lt": at}},
        # a tie: the greater id wins (a state without an id, from before, loses to any)
        {path: at, id_path: {"$not": {"$gt": record_id}}}]}, update)
    return bool(result.matched_count == 1)


async def insert_audit(db: Database, doc: Doc) -> None:
    """Append one entry to the member audit trail (erasures, exports)."""
    await db[AUDIT].insert_one(doc)


async def read_member(db: Database, member_id: str) -> Doc | None:
    """A member document as stored (every field), for erasure and export."""
    found: Doc | None = await db["members"].find_one({"_id": member_id})
    return found


async def ids_of(db: Database, collection: str, member_ids: list[str]) -> list[str]:
    """The ids of a collection's documents of these members (one find)."""
    docs = await db[collection].find({"member_id": {"$in": member_ids}}, {"_id": 1},
                                     batch_size=10_000).to_list(None)
    return [d["_id"] for d in docs]


async def records_of(db: Database, collection: str, query: Doc,
                     projection: dict[str, int] | None = None) -> list[Doc]:
    """Every document of a collection matching ``query`` (only the fields of ``projection``
    when given), in id order (one find)."""
    found: list[Doc] = await db[collection].find(query, projection, sort=[("_id", 1)],
                                                 batch_size=10_000).to_list(None)
    return found


async def set_each(db: Database, collection: str, changes: dict[str, Doc]) -> int:
    """Set fields of each document (id -> its ``$set``): one ``update_many`` per distinct
    ``$set`` (documents that change alike share one); none when nothing changes. How many
    documents it changed."""
    alike: dict[str, tuple[Doc, list[str]]] = {}
    for doc_id, fields in changes.items():
        alike.setdefault(repr(sorted(fields.items())), (fields, []))[1].append(doc_id)
    changed = 0
    for fields, ids in alike.values():
        result = await db[collection].update_many({"_id": {"$in": ids}}, {"$set": fields})
        changed += int(result.modified_count)
    return changed


async def delete_of(db: Database, collection: str, member_ids: list[str]) -> int:
    """Delete a collection's documents of these members; how many."""
    result = await db[collection].delete_many({"member_id": {"$in": member_ids}})
    return int(result.deleted_count)


async def update_all(db: Database, collection: str, query: Doc, update: Doc) -> int:
    """One ``update_many``; how many documents it changed."""
    result = await db[collection].update_many(query, update)
    return int(result.modified_count)
