"""The stock side of fulfilment and returns, in three functions: units leave with a shipment
or a collection, reserved units are released, returned units are restocked. Each is applied
once per operation id and leaves a ``stock_movements`` entry (one insert for all its lines).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.clock import now
from gateway.commerce.operations import stable_id
from gateway.database import Database
from gateway.database.writes import lifecycle
from gateway.errors import reject


@dataclass(frozen=True)
class Units:
    """``quantity`` units of ``sku`` (``line`` is its index on the order, for messages)."""

    sku: str
    quantity: int
    line: int


async def take(db: Database, *, location_id: str, units: Sequence[Units], reserved: bool,
               op_id: str, by: str, field: str = "lines") -> None:
    """Units leave ``location_id`` (on-hand, and the order's reservation when ``reserved``);
    INSUFFICIENT_STOCK, with every unit put back, when one line is short."""
    done: list[Units] = []
    for unit in units:
        after = await lifecycle.take_stock(db, sku=unit.sku, location_id=location_id,
                                           quantity=unit.quantity, reserved=reserved,
                                           op_id=op_id)
        if after is None and not lifecycle.applied(
                await lifecycle.stock_level(db, sku=unit.sku, location_id=location_id), op_id):
            for back in done:
                await lifecycle.untake_stock(db, sku=back.sku, location_id=location_id,
                                             quantity=back.quantity, reserved=reserved,
                                             op_id=op_id)
            raise reject("INSUFFICIENT_STOCK", f"Not enough {unit.sku} at {location_id} for "
                         f"{unit.quantity}.", field=f"{field}.{unit.line}.quantity")
        done.append(unit)
    await _moved(db, location_id=location_id, units=units, sign=-1, op_id=op_id, by=by)


async def release(db: Database, *, location_id: str, units: Sequence[Units], op_id: str) -> None:
    """The order's reserved units at ``location_id`` become available again."""
    for unit in units:
        await lifecycle.release_stock(db, sku=unit.sku, location_id=location_id,
                                      quantity=unit.quantity, op_id=op_id)


async def restock(db: Database, *, location_id: str, units: Sequence[Units], op_id: str,
                  by: str) -> None:
    """Returned units go back on the shelf at ``location_id``."""
    for unit in units:
        await lifecycle.put_stock(db, sku=unit.sku, location_id=location_id,
                                  quantity=unit.quantity, op_id=op_id)
    await _moved(db, location_id=location_id, units=units, sign=1, op_id=op_id, by=by)


async def _moved(db: Database, *, location_id: str, units: Sequence[Units], sign: int,
                 op_id: str, by: str) -> None:
    if units:
        await lifecycle.insert_many_once(db, "stock_movements", [
            {"_id": stable_id("mov_", op_id, unit.sku, location_id), "sku": unit.sku,
             "location_id": location_id, "delta": sign * unit.quantity, "reason": op_id,
             "by": by, "at": now()}
            for unit in units])
