"""Allocation: where an order placed without a location is served from, and the reservation
of an order's lines at one location.

Each online shop and overseas marketplace names its **fulfilment locations** (the channel
document's ``fulfilment_location_ids``, in order of preference: warehouses, and stores that
ship). ``placeOrder`` without a location reserves the order there, by this rule:

1. One read: the level of every line's SKU at every fulfilment location (one ``find``).
2. The order goes **whole to one location**: the first, in the channel's order, where every
   line is available in full. Orders are not split, so an order ships, is collected and is
   cancelled in one place, and its ``location`` says where.
3. There each line is reserved with one conditional update, as at a store (it matches only
   while enough units are available, and records a hold that expires if the order is never
   written: ``gateway.commerce.reservations``). If a line loses a race for the last units,
   the lines already reserved there are given back and the next location the read found
   able is tried.
4. When no location can serve, nothing is reserved and nothing written: ``INSUFFICIENT_STOCK``
   on each line that no single location holds in full, or on ``lines`` when each line is
   somewhere but no location holds them all (place them as separate orders).

A retry that took over an attempt that stopped (``gateway.commerce.idempotency``) goes first
to a location where that attempt left holds, and re-arms them instead of reserving again.

A channel with no fulfilment locations cannot take orders without a location
(``INSUFFICIENT_STOCK``); supermarkets and rural outlets name the store or outlet instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gateway.database import Database
from gateway.database import stock as stock_reads
from gateway.database.products import stock_key
from gateway.database.query import Doc
from gateway.database.writes import stock as stock_writes
from gateway.database.writes.stock import Hold
from gateway.errors import Rejected, UserError, reject


class Line(Protocol):
    """Units of one SKU: an order's line, a transfer's."""

    @property
    def sku(self) -> str: ...

    @property
    def quantity(self) -> int: ...


def fulfilment_locations(channel: Doc) -> list[str]:
    """The channel's fulfilment locations, in order of preference (none for stores' channels)."""
    return list(channel.get("fulfilment_location_ids") or [])


async def allocate(
    db: Database, *, channel: Doc, lines: Sequence[Line], hold: Hold, resumed: bool,
    give_back: bool = True,
) -> str:
    """Reserve every line at one fulfilment location of ``channel`` (the rule above); the
    location's id, or ``Rejected`` with INSUFFICIENT_STOCK. With ``give_back=False`` (the
    holds may be another attempt's, which may still write its order) a lost race gives
    nothing back and tries no other location."""
    candidates = fulfilment_locations(channel)
    levels = await stock_reads.levels(db, skus=[line.sku for line in lines],
                                      location_ids=candidates) if candidates else {}

    def available(location_id: str, line: Line) -> int:
        doc = levels.get(stock_key(line.sku, location_id))
        return 0 if doc is None else int(doc["on_hand"] - doc["reserved"])

    def held(location_id: str) -> bool:
        return any(h.get("order") == hold.order_id
                   for line in lines
                   for h in (levels.get(stock_key(line.sku, location_id)) or {}).get("holds", []))

    able = [loc for loc in candidates
            if all(available(loc, line) >= line.quantity for line in lines)]
    if resumed:
        able = [loc for loc in candidates if held(loc)] + [
            loc for loc in able if not held(loc)]
    lost: Rejected | None = None
    for location_id in able:
        try:
            await reserve_lines(db, location_id=location_id, lines=lines, hold=hold,
                                resumed=resumed, give_back=give_back,
                                place=f"the fulfilment locations of {channel['_id']}")
        except Rejected as exc:  # the last units went to another order meanwhile
            if not give_back:
                raise
            lost = exc
            continue
        return location_id
    if lost is not None:
        raise lost
    short = [UserError(f"lines.{i}.quantity", "INSUFFICIENT_STOCK",
                       f"Not enough {line.sku} for {line.quantity} at any fulfilment location "
                       f"of {channel['_id']}.")
             for i, line in enumerate(lines)
             if all(available(loc, line) < line.quantity for loc in candidates)]
    if short:
        raise Rejected(*short)
    raise reject("INSUFFICIENT_STOCK", f"No single fulfilment location of {channel['_id']} "
                 "holds every line; place them as separate orders.", field="lines")


async def reserve_lines(db: Database, *, location_id: str, lines: Sequence[Line], hold: Hold,
                        resumed: bool, place: str | None = None, give_back: bool = True) -> None:
    """Reserve line after line at one location (a resumed attempt first re-arms the holds its
    predecessor left); on the first failure give the earlier ones back (unless
    ``give_back=False``: they may be an attempt's that committed to its order). ``place``
    names the location in the user error (an allocation's may be another channel's)."""
    done: list[Line] = []
    try:
        for i, line in enumerate(lines):
            if not (await stock_writes.reserve(db, sku=line.sku, location_id=location_id,
                                               quantity=line.quantity, hold=hold)
                    or (resumed and await stock_writes.rearm(db, sku=line.sku,
                                                            location_id=location_id, hold=hold))):
                raise reject("INSUFFICIENT_STOCK",
                             f"Not enough {line.sku} at {place or location_id} for "
                             f"{line.quantity}.",
                             field=f"lines.{i}.quantity")
            done.append(line)
    except BaseException:
        if give_back:
            await unhold_lines(db, location_id=location_id, lines=done, hold=hold)
        raise


async def unhold_lines(db: Database, *, location_id: str | None, lines: Sequence[Line],
                       hold: Hold) -> None:
    """Give back the holds this attempt made (an order that will not be written)."""
    if location_id is None:
        return
    for line in lines:
        await stock_writes.unhold(db, sku=line.sku, location_id=location_id,
                                  quantity=line.quantity, hold=hold)


async def release_holds(db: Database, *, location_id: str, lines: Sequence[Line],
                        owner: str) -> None:
    """Give back the holds ``owner`` has at ``location_id``, whichever attempt made them (an
    order that will never be written: no claim names it any more)."""
    for line in lines:
        await stock_writes.release_held(db, sku=line.sku, location_id=location_id,
                                        quantity=line.quantity, owner=owner)
