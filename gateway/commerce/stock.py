"""Manual stock changes: a compare-and-set on ``on_hand`` with an audit entry."""

from __future__ import annotations

import asyncio

from gateway.clock import now
from gateway.commerce import validation
from gateway.commerce.common import new_id
from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.writes import stock as stock_writes
from gateway.errors import reject
from gateway.loaders import Loaders
from gateway.settings import Settings


async def adjust_stock(
    *, db: Database, loaders: Loaders, settings: Settings, caller: str, sku: str,
    location_id: str, delta: int, reason: str, expected_on_hand: int,
) -> tuple[Doc, Doc]:
    """Change ``on_hand`` by ``delta`` only if it still is ``expected_on_hand`` (else
    STOCK_CHANGED with the current level) and stays at or above what is reserved; then append
    a ``stock_movements`` entry (who, why, before, after). Returns (level, movement).
    ``|delta|`` is at most ``settings.max_stock_adjustment`` and the new level at most
    ``settings.max_stock_level`` (LIMIT_EXCEEDED): a level always fits GraphQL's Int."""
    validation.text(reason, field="reason")
    if delta == 0:
        raise reject("INVALID", "delta cannot be zero.", field="delta")
    if abs(delta) > settings.max_stock_adjustment:
        raise reject("LIMIT_EXCEEDED", f"delta may be at most {settings.max_stock_adjustment} "
                     "in size (OMNIGW_MAX_STOCK_ADJUSTMENT).", field="delta")
    if expected_on_hand < 0:
        raise reject("INVALID", "expectedOnHand cannot be negative.", field="expectedOnHand")
    if expected_on_hand + delta < 0:
        raise reject("INVALID", "On-hand stock cannot go below zero.", field="delta")
    if expected_on_hand + delta > settings.max_stock_level:
        raise reject("LIMIT_EXCEEDED", f"On-hand stock may be at most {settings.max_stock_level} "
                     "units (OMNIGW_MAX_STOCK_LEVEL).", field="delta")
    product, location = await asyncio.gather(
        loaders.products_by_sku.load(sku), loaders.locations_by_id.load(location_id)
    )
    if product is None:
        raise reject("NOT_FOUND", f"Unknown SKU {sku}.", field="sku")
    if location is None:
        raise reject("NOT_FOUND", f"Unknown location {location_id}.", field="location")
    after = await stock_writes.compare_and_adjust(
        db, sku=sku, location_id=location_id, expected_on_hand=expected_on_hand, delta=delta
    )
    if after is None:
        current = await stock_writes.level(db, sku=sku, location_id=location_id)
        on_hand = current["on_hand"] if current else 0
        if current is not None and on_hand == expected_on_hand:
            raise reject("INVALID", f"On-hand cannot go below the {current['reserved']} units "
                         "reserved.", field="delta")
        raise reject("STOCK_CHANGED", f"On-hand stock of {sku} at {location_id} is {on_hand}, "
                     f"not {expected_on_hand}.", field="expectedOnHand")
    movement = {
        "_id": new_id("mov_"), "sku": sku, "location_id": location_id, "delta": delta,
        "reason": reason, "before": expected_on_hand, "after": after["on_hand"],
        "by": caller, "at": now(),
    }
    await stock_writes.insert_movement(db, movement)
    return after, movement
