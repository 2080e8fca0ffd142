"""Repository functions for API keys (collection ``api_keys``).

A document holds only the key's hash (``_id``), never the key: ``name`` (unique), ``role``,
``channels``, ``created_at`` and ``revoked_at`` (null while the key is valid).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from gateway.database import Database
from gateway.database.query import Doc, find

COLLECTION: Final = "api_keys"


async def by_hash(db: Database, key_hash: str) -> Doc | None:
    """The key document with this hash, revoked or not; ``None`` when there is none."""
    docs = await find(db[COLLECTION], {"_id": key_hash}, limit=1)
    return docs[0] if docs else None


async def insert(db: Database, doc: Doc, *, replace: bool = False) -> None:
    """Store a new key document; with ``replace``, first remove any key of the same name."""
    if replace:
        await db[COLLECTION].delete_many({"name": doc["name"]})
    await db[COLLECTION].insert_one(doc)


async def list_all(db: Database) -> list[Doc]:
    """Every key document, by name."""
    return await find(db[COLLECTION], {}, sort=[("name", 1)])


async def revoke(db: Database, key_hash: str, *, at: datetime) -> bool:
    """Mark the key revoked (once); False when it was already revoked or does not exist."""
    result = await db[COLLECTION].update_one(
        {"_id": key_hash, "revoked_at": None}, {"$set": {"revoked_at": at}}
    )
    return bool(result.modified_count)
