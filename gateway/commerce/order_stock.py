"""The stock side of an order's units: units leave with a shipment, a collection or a sale
imported from a till, reserved units are released, returned units are restocked (and taken
back off the shelf when the return is refused). Each is applied once per operation id; units
that leave or arrive leave a movement per line (``gateway.commerce.stock.movement``, kind
``SHIPMENT``, ``PICKUP``, ``SALE`` or ``RETURN``, naming the order; one insert for all its
lines, ids derived from the operation's). A retry that finds a line already applied records
its movement without the level before and after, which only the attempt that changed it read.
:func:`untake` undoes a :func:`take` whose operation failed later, movements included.

Restocking is the one change here that adds on-hand units: each line's update matches only
while its level stays at or below ``OMNIGW_MAX_STOCK_LEVEL``. Releasing a reservation (a
cancelled order, an expired pick-up, units shipped from elsewhere) moves no on-hand units,
and undoing a take puts back units the same operation just took: neither can refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.commerce.operations import stable_id
from gateway.commerce.stock import movement, past_ceiling
from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.writes import lifecycle
from gateway.errors import reject


@dataclass(frozen=True)
class Units:
    """``quantity`` units of ``sku``; ``line`` is the index that names it in messages
    (``lines.<line>.quantity``)."""

    sku: str
    quantity: int
    line: int


async def take(db: Database, *, location_id: str, units: Sequence[Units], reserved: bool,
               op_id: str, order_id: str, kind: str, by: str, field: str = "lines",
               give_back: bool = True) -> None:
    """Units leave ``location_id`` (on-hand, and the order's reservation when ``reserved``),
    shipped or collected (``kind``); INSUFFICIENT_STOCK, with every unit put back, when one
    line is short. With ``give_back=False`` the lines before it stay taken: the caller gives
    them back with :func:`untake` once no other attempt of ``op_id`` may still use them."""
    done: list[Units] = []
    levels: list[Doc | None] = []
    for unit in units:
        after = await lifecycle.take_stock(db, sku=unit.sku, location_id=location_id,
                                           quantity=unit.quantity, reserved=reserved,
                                           op_id=op_id)
        if after is None and not lifecycle.applied(
                await lifecycle.stock_level(db, sku=unit.sku, location_id=location_id), op_id):
            if give_back:
                for back in done:
                    await lifecycle.untake_stock(db, sku=back.sku, location_id=location_id,
                                                 quantity=back.quantity, reserved=reserved,
                                                 op_id=op_id)
            raise reject("INSUFFICIENT_STOCK", f"Not enough {unit.sku} at {location_id} for "
                         f"{unit.quantity}.", field=f"{field}.{unit.line}.quantity")
        done.append(unit)
        levels.append(after)
    await _moved(db, location_id=location_id, units=units, levels=levels, sign=-1,
                 op_id=op_id, order_id=order_id, kind=kind, by=by)


async def untake(db: Database, *, location_id: str, units: Sequence[Units], reserved: bool,
                 op_id: str) -> None:
    """Undo :func:`take` of ``op_id`` exactly (a later step of its operation failed): the
    units it took go back (a line it did not take is left as it is) and its movements are
    deleted."""
    for unit in units:
        await lifecycle.untake_stock(db, sku=unit.sku, location_id=location_id,
                                     quantity=unit.quantity, reserved=reserved, op_id=op_id)
    await lifecycle.delete_ids(db, "stock_movements",
                               [movement_id(op_id, unit.sku, location_id) for unit in units])


def movement_id(op_id: str, sku: str, location_id: str) -> str:
    """The id of the movement that ``op_id`` writes for ``sku`` at ``location_id``."""
    return stable_id("mov_", op_id, sku, location_id)


async def release(db: Database, *, location_id: str, units: Sequence[Units], op_id: str) -> None:
    """The order's reserved units at ``location_id`` become available again (on-hand does
    not move: no ceiling)."""
    for unit in units:
        await lifecycle.release_stock(db, sku=unit.sku, location_id=location_id,
                                      quantity=unit.quantity, op_id=op_id)


async def restock(db: Database, *, location_id: str, units: Sequence[Units], op_id: str,
                  ceiling: int, field: str = "lines") -> list[Doc | None]:
    """Returned units go back on the shelf at ``location_id``, each level at most ``ceiling``:
    LIMIT_EXCEEDED, with every unit taken off again, when one line would pass it. The levels
    after (``None``: applied by an earlier attempt); :func:`restocked` records them."""
    levels: list[Doc | None] = []
    for n, unit in enumerate(units):
        after = await lifecycle.put_stock(db, sku=unit.sku, location_id=location_id,
                                          quantity=unit.quantity, op_id=op_id, ceiling=ceiling)
        if after is None and not lifecycle.applied(
                await lifecycle.stock_level(db, sku=unit.sku, location_id=location_id), op_id):
            await unstock(db, location_id=location_id, units=units[:n], op_id=op_id)
            raise past_ceiling(doing=f"Restocking {unit.quantity}", sku=unit.sku,
                               location_id=location_id, ceiling=ceiling,
                               field=f"{field}.{unit.line}.quantity")
        levels.append(after)
    return levels


async def unstock(db: Database, *, location_id: str, units: Sequence[Units], op_id: str) -> None:
    """Undo :func:`restock` of ``op_id`` exactly (the return was refused after it)."""
    for unit in units:
        await lifecycle.unput_stock(db, sku=unit.sku, location_id=location_id,
                                    quantity=unit.quantity, op_id=op_id)


async def restocked(db: Database, *, location_id: str, units: Sequence[Units],
                    levels: Sequence[Doc | None], op_id: str, order_id: str, by: str) -> None:
    """The ``RETURN`` movements of :func:`restock`."""
    await _moved(db, location_id=location_id, units=units, levels=levels, sign=1,
                 op_id=op_id, order_id=order_id, kind="RETURN", by=by)


async def _moved(db: Database, *, location_id: str, units: Sequence[Units],
                 levels: Sequence[Doc | None], sign: int, op_id: str, order_id: str,
                 kind: str, by: str) -> None:
    if units:
        await lifecycle.insert_many_once(db, "stock_movements", [
            movement(kind=kind, sku=unit.sku, location_id=location_id,
                     delta=sign * unit.quantity, after=after, by=by, reason=op_id,
                     movement_id=movement_id(op_id, unit.sku, location_id),
                     order_id=order_id)
            for unit, after in zip(units, levels, strict=True)])
