"""The writes of campaigns and coupons (gateway/database/campaigns.py describes the documents).

A coupon use is taken by one conditional ``$inc`` that matches only while ``uses <
max_uses``: whatever the concurrency, in one channel or several, at most ``max_uses``
requests succeed.
"""

from __future__ import annotations

from pymongo import ReturnDocument

from gateway.database import Database
from gateway.database.campaigns import CAMPAIGNS, COUPONS, REDEMPTIONS
from gateway.database.query import Doc


async def insert_campaign(db: Database, doc: Doc) -> None:
    await db[CAMPAIGNS].insert_one(doc)


async def insert_coupons(db: Database, docs: list[Doc]) -> None:
    """Insert a batch of coupons (``ordered=False``: every one that can be is inserted; a
    taken code raises ``BulkWriteError`` naming it)."""
    await db[COUPONS].insert_many(docs, ordered=False)


async def delete_batch(db: Database, batch_id: str) -> None:
    """Remove a batch's coupons (a refused or resumed ``createCoupons``)."""
    await db[COUPONS].delete_many({"batch_id": batch_id, "uses": 0})


async def take_use(db: Database, *, code: str) -> Doc | None:
    """``uses += 1`` while a use is left; the coupon after, or ``None`` when none is."""
    found: Doc | None = await db[COUPONS].find_one_and_update(
        {"_id": code, "$expr": {"$lt": ["$uses", "$max_uses"]}},
        {"$inc": {"uses": 1}}, return_document=ReturnDocument.AFTER)
    return found


async def give_use(db: Database, *, code: str) -> None:
    """``uses -= 1``: a use given back (its order was refused or cancelled)."""
    await db[COUPONS].update_one({"_id": code, "uses": {"$gt": 0}}, {"$inc": {"uses": -1}})


async def insert_redemption(db: Database, doc: Doc) -> None:
    await db[REDEMPTIONS].insert_one(doc)


async def release_redemption(db: Database, *, redemption_id: str, at: object) -> bool:
    """``REDEEMED`` -> ``RELEASED`` (one winner); True when this call released it."""
    found = await db[REDEMPTIONS].find_one_and_update(
        {"_id": redemption_id, "status": "REDEEMED"},
        {"$set": {"status": "RELEASED", "released_at": at}})
    return found is not None
