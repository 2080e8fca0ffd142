"""Returns in any channel: units of a delivered order come back at any location the caller
may act in (an online order returned at a supermarket or a rural outlet, and the other way).

``returnOrder`` (once per key, its id ``ret_`` fixed by the key):

1. one conditional update of the order adds the units to each line's ``returned`` while
   ``returned + units <= delivered`` (shipped or collected; every unit of an imported sale)
   and the order is SHIPPED or COMPLETED, recording the return (id, location, lines);
2. each unit is restocked at the return location (``on_hand += q``, a stock movement), or
   written off with the reason given (no stock change; the reason stays on the return). A
   level that would pass ``OMNIGW_MAX_STOCK_LEVEL`` refuses the whole return with
   LIMIT_EXCEEDED: the lines restocked are taken off the shelf again and step 1 undone, so
   nothing is left of it (no return, refund or movement) and the key stays unspent;
3. the value of the units at the order's prices, less their lines' discounts (shared out
   so that a line's returns come to what it cost: ``gateway.commerce.pricing.units_value``),
   is refunded to the original payments,
   oldest first (``gateway.commerce.refunds.refund_value``), which takes back revenue,
   lifetime value, channel summaries, points and tier;
4. the return document (``returns``) and the order event RETURNED are written.

A partner acts only in its channels: it must see both the order's channel and the return
location's (a store that takes back another channel's order needs a key for both).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.clock import now
from gateway.commerce import order_stock, validation
from gateway.commerce.idempotency import Once, run_once
from gateway.commerce.operations import delivered, order_of, record_event, stable_id
from gateway.commerce.order_stock import Units
from gateway.commerce.pricing import units_value
from gateway.commerce.refunds import refund_value
from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.scope import Scope
from gateway.database.writes import lifecycle
from gateway.errors import Rejected, UserError, reject
from gateway.loaders import Loaders
from gateway.settings import Settings

RETURNABLE = ["SHIPPED", "COMPLETED"]


@dataclass(frozen=True)
class ReturnLine:
    """Units of one SKU coming back; written off (not restocked) when a reason is given."""

    sku: str
    quantity: int
    write_off_reason: str | None = None


async def return_order(
    *, db: Database, loaders: Loaders, settings: Settings, scope: Scope, caller: str,
    order_id: str, location_id: str, lines: list[ReturnLine], reason: str,
    idempotency_key: str,
) -> Once:
    """Take units of a delivered order back (see the module docstring); the return id."""
    validation.idempotency_key(idempotency_key)
    validation.text(reason, field="reason")
    if not 1 <= len(lines) <= validation.MAX_LINES:
        raise reject("INVALID", f"Give 1 to {validation.MAX_LINES} lines.", field="lines")
    for n, line in enumerate(lines):
        if line.write_off_reason is not None:
            validation.text(line.write_off_reason, field=f"lines.{n}.writeOffReason")
    return_id = stable_id("ret_", caller, "returnOrder", idempotency_key)

    async def work(_: str, resumed: bool) -> None:
        order = await order_of(db, scope=scope, order_id=order_id)
        if await loaders.locations_by_id.load(location_id) is None:
            raise reject("NOT_FOUND", f"Unknown location {location_id}.", field="location")
        record = next((r for r in order.get("returns", []) if r["id"] == return_id), None)
        if record is None:
            record, order = await _take_back(db, scope=scope, order=order,
                                             return_id=return_id, location_id=location_id,
                                             lines=lines)
        asked = {line.sku: n for n, line in enumerate(lines)}
        restocked = [Units(x["sku"], x["quantity"], asked[x["sku"]]) for x in record["lines"]
                     if x.get("write_off_reason") is None]
        try:
            levels = await order_stock.restock(db, location_id=record["location_id"],
                                               units=restocked, op_id=return_id,
                                               ceiling=settings.max_stock_level)
        except Rejected:
            await _undo_take_back(db, order_id=order["_id"], record=record)
            raise
        await order_stock.restocked(db, location_id=record["location_id"], units=restocked,
                                    levels=levels, op_id=return_id, order_id=order["_id"],
                                    by=caller)
        stored = [{"sku": x["sku"], "quantity": x["quantity"],
                   "unit_price": order["lines"][x["line"]]["unit_price"],
                   "write_off_reason": x.get("write_off_reason")} for x in record["lines"]]
        refunds = await refund_value(
            db=db, loaders=loaders, settings=settings, order_id=order_id,
            amount=sum(units_value(order["lines"][x["line"]], x["quantity"],
                                   before=_returned_before(order, return_id, x["line"]))
                       for x in record["lines"]), op_id=return_id,
            by=caller, reason=f"return: {reason}", location_id=record["location_id"],
            lines=stored, return_id=return_id)
        doc = {"_id": return_id, "order_id": order_id, "member_id": order.get("member_id"),
               "channel_id": order["channel_id"], "location_id": record["location_id"],
               "lines": stored, "reason": reason, "currency": order["currency"],
               "refund_ids": [r["_id"] for r in refunds],
               "refunded": sum(r["amount"] for r in refunds), "at": now(), "by": caller}
        await lifecycle.insert_once(db, "returns", doc)
        await record_event(db, order=order, kind="RETURNED", op_id=return_id, by=caller,
                           location_id=record["location_id"], return_id=return_id)

    return await run_once(
        db, caller=caller, mutation="returnOrder", key=idempotency_key,
        request=[order_id, location_id, [[x.sku, x.quantity, x.write_off_reason] for x in lines],
                 reason],
        new_id=return_id, work=work, lease_seconds=settings.idempotency_lease_seconds)


def _returned_before(order: Doc, return_id: str, line: int) -> int:
    """Units of a line returned by the returns recorded before ``return_id`` (the order's
    ``returns`` keep the order in which their counters were applied)."""
    units = 0
    for record in order.get("returns", []):
        if record["id"] == return_id:
            break
        units += sum(x["quantity"] for x in record["lines"] if x["line"] == line)
    return units


async def _take_back(db: Database, *, scope: Scope, order: Doc, return_id: str,
                     location_id: str, lines: list[ReturnLine]) -> tuple[Doc, Doc]:
    """Step 1: the order's ``returned`` counters, once; the return's record and the order
    after."""
    if order["status"] not in RETURNABLE:
        raise reject("CONFLICT", f"Order {order['_id']} is {order['status']}: only shipped "
                     "or completed orders take returns.", field="order")
    index = {line["sku"]: i for i, line in enumerate(order["lines"])}
    errors: list[UserError] = []
    where: Doc = {"status": {"$in": RETURNABLE}}
    taken: list[Doc] = []
    for n, line in enumerate(lines):
        i = index.get(line.sku)
        try:
            if i is None:
                raise reject("NOT_FOUND", f"{line.sku} is not on order {order['_id']}.",
                             field=f"lines.{n}.sku")
            if any(x["line"] == i for x in taken):
                raise reject("INVALID", f"{line.sku} appears on two lines; use one line.",
                             field=f"lines.{n}.sku")
            got = delivered(order["lines"][i], order)
            left = got - order["lines"][i].get("returned", 0)
            if not 1 <= line.quantity <= left:
                raise reject("INVALID", f"{line.sku}: {left} of {got} units delivered can "
                             f"still be returned, not {line.quantity}.",
                             field=f"lines.{n}.quantity")
        except Rejected as exc:
            errors += exc.errors
            continue
        where[f"lines.{i}.returned"] = {"$not": {"$gt": got - line.quantity}}
        taken.append({"sku": line.sku, "quantity": line.quantity, "line": i,
                      "write_off_reason": line.write_off_reason})
    if errors:
        raise Rejected(*errors)
    record = {"id": return_id, "location_id": location_id, "lines": taken}
    after = await lifecycle.change_order(
        db, scope=scope, order_id=order["_id"], op_id=return_id, where=where,
        update={"$inc": {"returned_units": sum(x["quantity"] for x in taken),
                         **{f"lines.{x['line']}.returned": x["quantity"] for x in taken}},
                "$push": {"returns": record}})
    if after is None:
        after = await order_of(db, scope=scope, order_id=order["_id"])
        if not lifecycle.applied(after, return_id):
            raise reject("CONFLICT", f"Order {order['_id']} changed meanwhile; read it and "
                         "try again.", field="order")
        record = next(r for r in after["returns"] if r["id"] == return_id)
    return record, after


async def _undo_take_back(db: Database, *, order_id: str, record: Doc) -> None:
    """Undo step 1 exactly (the restock was refused): the counters and the record go."""
    await lifecycle.undo_order(db, order_id=order_id, op_id=record["id"], update={
        "$inc": {"returned_units": -sum(x["quantity"] for x in record["lines"]),
                 **{f"lines.{x['line']}.returned": -x["quantity"] for x in record["lines"]}},
        "$pull": {"returns": {"id": record["id"]}}})
