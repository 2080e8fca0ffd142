"""Stock changes and their movements: the functions every write that moves units calls.

A **movement** is one change of a location's on-hand units, in ``stock_movements``: its kind,
the SKU and location, the change (``delta``), the level before and after, why, who and when,
and what made it (a transfer, an order). Every change of on-hand units writes one:
``adjustStock`` (``ADJUSTMENT``, below), a transfer leaving and arriving (``TRANSFER_OUT``,
``TRANSFER_IN``, :mod:`gateway.commerce.transfers`), an order's units shipped or collected
(``SHIPMENT``, ``PICKUP``), sold at a till and imported (``SALE``,
:mod:`gateway.commerce.imports`) and returned units put back on the shelf (``RETURN``; all
four through :mod:`gateway.commerce.order_stock`). Reserving and releasing change only
``reserved`` (a promise, not a movement). :func:`movement` makes the document for all of them.

The kinds that add units (:data:`ADDS_UNITS`) never take a level past
``OMNIGW_MAX_STOCK_LEVEL``, so every level fits GraphQL's Int: the update that adds them
matches only while the level stays at or below it (an adjustment through its expected level),
and a miss is refused with LIMIT_EXCEEDED (:func:`past_ceiling`) with nothing written.
"""

from __future__ import annotations

import asyncio
from typing import Final

from gateway.clock import now
from gateway.commerce import validation
from gateway.commerce.common import new_id
from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.writes import stock as stock_writes
from gateway.errors import Rejected, reject
from gateway.loaders import Loaders
from gateway.settings import Settings

# What a movement records (MovementKind in the schema).
KINDS: Final = ("ADJUSTMENT", "TRANSFER_OUT", "TRANSFER_IN", "SHIPMENT", "PICKUP", "SALE",
                "RETURN")
# The kinds that add on-hand units, each refused past OMNIGW_MAX_STOCK_LEVEL.
ADDS_UNITS: Final = ("ADJUSTMENT", "TRANSFER_IN", "RETURN")


def past_ceiling(*, doing: str, sku: str, location_id: str, ceiling: int,
                 field: str) -> Rejected:
    """LIMIT_EXCEEDED: ``doing`` (``"Receiving 5"``) would take the level of ``sku`` at
    ``location_id`` past ``ceiling`` (``OMNIGW_MAX_STOCK_LEVEL``)."""
    return reject("LIMIT_EXCEEDED", f"{doing} of {sku} would take its level at {location_id} "
                  f"past {ceiling} units (OMNIGW_MAX_STOCK_LEVEL).", field=field)


def movement(
    *, kind: str, sku: str, location_id: str, delta: int, after: Doc | None, by: str,
    reason: str, movement_id: str | None = None, transfer_id: str | None = None,
    order_id: str | None = None,
) -> Doc:
    """A movement document; ``after`` is the level after the change (``None``: not known, the
    change was made by an earlier attempt)."""
    assert kind in KINDS, kind
    assert delta < 0 or kind in ADDS_UNITS, f"{kind} adds units: list it in ADDS_UNITS"
    on_hand = None if after is None else after["on_hand"]
    return {
        "_id": movement_id or new_id("mov_"), "kind": kind, "sku": sku,
        "location_id": location_id, "delta": delta,
        "before": None if on_hand is None else on_hand - delta, "after": on_hand,
        "reason": reason, "by": by, "at": now(), "transfer_id": transfer_id,
        "order_id": order_id,
    }


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
    entry = movement(kind="ADJUSTMENT", sku=sku, location_id=location_id, delta=delta,
                     after=after, by=caller, reason=reason)
    await stock_writes.insert_movement(db, entry)
    return after, entry
