"""The ``idempotency`` collection: one document per (caller, mutation, key).

``_id`` is ``"<caller>:<mutation>:<key>"``, so the unique ``_id`` picks exactly one winner when
several requests claim the same key at once. A document holds the request's fingerprint, its
status (``PENDING`` while the winner works, ``DONE`` after), the id of the object created, the
holder's ``token``, its lease (``lease_until``, renewed while it works) and, for a fenced work,
``committed`` once an attempt has committed to writing the result. A TTL index on
``created_at`` removes it after the retention period (see indexes.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from gateway.database import Database
from gateway.database.query import Doc

COLLECTION = "idempotency"


async def claim(
    db: Database, *, key_id: str, fingerprint: str, result_id: str, token: str, now: datetime,
    lease: timedelta,
) -> Doc | None:
    """Insert a PENDING claim; ``None`` when this call won, else the existing document
    (read after the insert failed)."""
    doc = {"_id": key_id, "fingerprint": fingerprint, "status": "PENDING",
           "result_id": result_id, "token": token, "created_at": now, "claimed_at": now,
           "lease_until": now + lease}
    try:
        await db[COLLECTION].insert_one(doc)
    except DuplicateKeyError:
        return await get(db, key_id=key_id) or {"_id": key_id, "status": "GONE"}
    return None


async def get(db: Database, *, key_id: str) -> Doc | None:
    found: Doc | None = await db[COLLECTION].find_one({"_id": key_id})
    return found


async def renew(db: Database, *, key_id: str, token: str, until: datetime) -> bool:
    """Extend the holder's lease; False when the claim is no longer this holder's."""
    result = await db[COLLECTION].update_one(
        {"_id": key_id, "token": token, "status": "PENDING"}, {"$set": {"lease_until": until}}
    )
    return bool(result.matched_count == 1)


async def complete(db: Database, *, key_id: str, token: str, result_id: str) -> None:
    """Mark the claim DONE with the id of what was created."""
    await db[COLLECTION].update_one(
        {"_id": key_id, "token": token}, {"$set": {"status": "DONE", "result_id": result_id}}
    )


async def commit(db: Database, *, key_id: str, token: str) -> bool:
    """Mark the holder's PENDING claim committed (its result is about to be written); False
    when the claim is no longer this holder's."""
    result = await db[COLLECTION].update_one(
        {"_id": key_id, "token": token, "status": "PENDING"}, {"$set": {"committed": True}}
    )
    return bool(result.matched_count == 1)


async def hand_on(db: Database, *, key_id: str, token: str, new_token: str,
                  until: datetime) -> None:
    """End the holder's lease (``until``, in the past) and replace its token, so that its
    renewals stop matching and the next request takes the PENDING claim over at once."""
    await db[COLLECTION].update_one(
        {"_id": key_id, "token": token, "status": "PENDING"},
        {"$set": {"token": new_token, "lease_until": until}})


async def release(db: Database, *, key_id: str, token: str) -> bool:
    """Give a claim up (the work was refused), so the same key can be used again; False when
    it was no longer this holder's."""
    result = await db[COLLECTION].delete_one({"_id": key_id, "token": token})
    return bool(result.deleted_count == 1)


async def take_over(db: Database, *, key_id: str, old_token: str, token: str,
                    now: datetime, lease: timedelta) -> Doc | None:
    """Take a PENDING claim whose lease ran out (its holder stopped; its token is still
    ``old_token``); the claim after, or ``None`` when someone else moved it first or the
    holder renewed. A claim written before leases existed counts from ``claimed_at``."""
    found: Doc | None = await db[COLLECTION].find_one_and_update(
        {"_id": key_id, "token": old_token, "status": "PENDING",
         "$or": [{"lease_until": {"$lt": now}},
                 {"lease_until": None, "claimed_at": {"$lt": now - lease}}]},
        {"$set": {"token": token, "claimed_at": now, "lease_until": now + lease}},
        return_document=ReturnDocument.AFTER,
    )
    return found


async def exists(db: Database, *, collection: str, doc_id: str) -> bool:
    """Whether the object a claim was for was written (used when resuming a stale claim)."""
    found = await db[collection].find_one({"_id": doc_id}, {"_id": 1})
    return found is not None
