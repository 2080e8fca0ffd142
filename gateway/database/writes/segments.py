"""Segment writes: save (insert or replace by id) and delete."""

from __future__ import annotations

from pymongo import ReturnDocument

from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.segments import COLLECTION


async def save(db: Database, *, segment_id: str, fields: Doc, created: Doc) -> Doc:
    """Set ``fields`` on the segment (``created`` too when it is new); the segment after."""
    found: Doc = await db[COLLECTION].find_one_and_update(
        {"_id": segment_id}, {"$set": fields, "$setOnInsert": created, "$inc": {"version": 1}},
        upsert=True, return_document=ReturnDocument.AFTER)
    return found


async def delete(db: Database, *, segment_id: str, owner: str | None) -> Doc | None:
    """Remove a segment (of ``owner`` unless None); the removed document or ``None``."""
    query: Doc = {"_id": segment_id, **({"owner": owner} if owner is not None else {})}
    found: Doc | None = await db[COLLECTION].find_one_and_delete(query)
    return found
