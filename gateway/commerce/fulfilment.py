"""Fulfilment: an order's goods leave by a shipment, or are collected in a store.

::

    PLACED --pay--> PAID --shipOrder--> SHIPPED --(more shipments)--> SHIPPED
      |              |                                  --completeOrder (all shipped)--> COMPLETED
      |              +--collectOrder (its code, before it expires)--------------------> COMPLETED
      +--------------+--cancelOrder / expirePickup--> CANCELLED (stock released, money back)

**Shipments** (``shipOrder``): some or all of the units not yet shipped, from a location, with
a carrier and a tracking number. The units leave that location's on-hand stock, and its
reservation when the order was reserved there; shipped from elsewhere (a store shipping an
online order), they leave that location's available stock and the order's reservation is
released where it was held. The first shipment makes the order SHIPPED; at most
:data:`MAX_SHIPMENTS` per order.

A shipment's id is fixed by the caller and the key, and a request that only stalled may wake
up after a retry took its shipment over: both then take units under that id (a retry finds a
line taken and does not take it again), so shipping is a fenced work
(:func:`gateway.commerce.idempotency.run_fenced`). A request records the shipment only after
committing its claim (one update conditional on its token), so one that was taken over records
nothing (``IDEMPOTENCY_KEY_IN_USE``); a failed request gives back the units taken under the id
(whichever request took them) only once no claim names it; a retry that took over a committed
claim gives back nothing. An order change refused for good (cancelled, at the shipment limit,
or its units shipped by another shipment meanwhile) gives them back at once: no attempt can
record that shipment. So an order is shipped only with its units taken once.

**Pick-up in store**: an order reserved at a store or outlet is made ready
(``preparePickup``: a 6-digit collection code, valid ``OMNIGW_PICKUP_HOLD_HOURS``); the buyer
shows the code and the store collects it (``collectOrder``: the order must be paid; the
reserved units leave the shelf; COMPLETED). A wrong code is INVALID; after
:data:`MAX_CODE_FAILURES` wrong codes the pick-up is locked (CONFLICT). An uncollected order
past its time is expired (``expirePickup``): cancelled, its reservation released, the points
it earned taken back and its payments voided or refunded. A retry of an expiry that failed
half-way finishes it: each step is once (the points: ``gateway.commerce.loyalty.reverse``,
called again on every retry, takes them back once and only if the order earned them).

Each step is one conditional update of the order that records the step's operation id, so it
happens once, and each writes an order event (``gateway.commerce.operations``). A collection's
operation id is the order's (``collect:<order id>``), whatever the key: a collection whose
update finds the order collected by another gives back none of the units taken under it.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Final

from gateway.clock import now, utc
from gateway.commerce import loyalty, order_stock, rollups, validation
from gateway.commerce.idempotency import Attempt, Once, run_fenced, run_once
from gateway.commerce.operations import delivered, order_of, record_event, stable_id
from gateway.commerce.order_stock import Units
from gateway.commerce.settlement import settle_cancelled
from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.scope import Scope
from gateway.database.writes import lifecycle
from gateway.errors import Rejected, reject
from gateway.loaders import Loaders
from gateway.settings import Settings

MAX_SHIPMENTS: Final = 20
MAX_CODE_FAILURES: Final = 5
PICKUP_KINDS: Final = ("STORE", "OUTLET")
SHIPPABLE: Final = ["PAID", "SHIPPED"]


async def ship_order(
    *, db: Database, loaders: Loaders, settings: Settings, scope: Scope, caller: str,
    order_id: str, location_id: str, carrier: str, tracking_number: str,
    lines: list[tuple[str, int]] | None, idempotency_key: str,
) -> Once:
    """Ship units of a paid order once per key (see the module docstring); the shipment id.
    A fenced work (:func:`gateway.commerce.idempotency.run_fenced`)."""
    validation.text(carrier, field="carrier", max_length=50)
    validation.text(tracking_number, field="trackingNumber", max_length=100)
    shipment_id = stable_id("shp_", caller, "shipOrder", idempotency_key)
    seen: list[Doc] = []  # the order as this attempt read it
    taking: list[Units] = []  # the units this attempt takes under the shipment id

    async def work(attempt: Attempt) -> None:
        order = await order_of(db, scope=scope, order_id=order_id)
        seen.append(order)
        shipment = next((s for s in order.get("shipments", []) if s["id"] == shipment_id),
                        None)
        if shipment is None:
            shipment = await _new_shipment(db, loaders=loaders, order=order, caller=caller,
                                           shipment_id=shipment_id, location_id=location_id,
                                           carrier=carrier, tracking_number=tracking_number,
                                           lines=lines, scope=scope, attempt=attempt,
                                           taking=taking)
        attempt.written()  # the shipment stands: a later failure hands the key on
        units = [Units(x["sku"], x["quantity"], x["line"]) for x in shipment["lines"]]
        if order.get("stock") == "RESERVED" and order["location_id"] != shipment["location_id"]:
            await order_stock.release(db, location_id=order["location_id"], units=units,
                                      op_id=shipment_id)
        await record_event(db, order=order, kind="SHIPPED", op_id=shipment_id, by=caller,
                           location_id=shipment["location_id"], shipment=shipment)

    async def undo(attempt: Attempt) -> None:
        """No claim names the shipment any more: the units any attempt took under its id go
        back, movements included (those this attempt chose; an attempt that took a claim
        over and was refused before choosing gives back those of the order as it read it)."""
        if not seen:
            return  # the order was not found: nothing was taken
        units = taking or (_asked(seen[0], lines) if attempt.resumed else [])
        if units:
            await order_stock.untake(db, location_id=location_id, units=units,
                                     reserved=_reserved(seen[0], location_id),
                                     op_id=shipment_id)

    validation.idempotency_key(idempotency_key)
    return await run_fenced(db, caller=caller, mutation="shipOrder", key=idempotency_key,
                            request=[order_id, location_id, carrier, tracking_number, lines],
                            new_id=shipment_id, work=work, undo=undo,
                            lease_seconds=settings.idempotency_lease_seconds)


def _reserved(order: Doc, location_id: str) -> bool:
    """Whether a shipment from ``location_id`` takes the order's reserved units."""
    return order.get("stock") == "RESERVED" and order["location_id"] == location_id


def _asked(order: Doc, lines: list[tuple[str, int]] | None) -> list[Units]:
    """The units a shipment of ``lines`` (default: every unit left) takes from ``order``,
    unchecked."""
    index = {line["sku"]: i for i, line in enumerate(order["lines"])}
    if lines is None:
        return [Units(line["sku"], left, i) for i, line in enumerate(order["lines"])
                if (left := line["quantity"] - delivered(line, order)) > 0]
    return [Units(sku, quantity, index[sku]) for sku, quantity in lines if sku in index]


async def _new_shipment(
    db: Database, *, loaders: Loaders, order: Doc, caller: str, shipment_id: str,
    location_id: str, carrier: str, tracking_number: str, lines: list[tuple[str, int]] | None,
    scope: Scope, attempt: Attempt, taking: list[Units],
) -> Doc:
    if order["status"] not in SHIPPABLE:
        raise reject("CONFLICT", f"Order {order['_id']} is {order['status']}: only a paid "
                     "order ships.", field="order")
    if (order.get("pickup") or {}).get("status") == "READY":
        raise reject("CONFLICT", f"Order {order['_id']} waits for pick-up.", field="order")
    if await loaders.locations_by_id.load(location_id) is None:
        raise reject("NOT_FOUND", f"Unknown location {location_id}.", field="location")
    units = _units(order, lines, bound=lambda line: line["quantity"] - delivered(line, order),
                   what="shipped")
    taking[:] = units
    reserved = _reserved(order, location_id)
    # A short line leaves the others taken: the undo gives them back once no claim names the
    # shipment (a retry may have taken this one's over and be using them).
    await order_stock.take(db, location_id=location_id, units=units, reserved=reserved,
                           op_id=shipment_id, order_id=order["_id"], kind="SHIPMENT",
                           by=caller, give_back=False)
    await attempt.commit()  # refused when a retry took the shipment over meanwhile
    shipment = {"id": shipment_id, "location_id": location_id, "carrier": carrier,
                "tracking_number": tracking_number, "at": now(), "by": caller,
                "lines": [{"sku": u.sku, "quantity": u.quantity, "line": u.line}
                          for u in units]}
    where: Doc = {"status": {"$in": SHIPPABLE}, f"shipments.{MAX_SHIPMENTS - 1}":
                  {"$exists": False}}
    for u in units:
        where[f"lines.{u.line}.shipped"] = {
            "$not": {"$gt": order["lines"][u.line]["quantity"] - u.quantity}}
    after = await lifecycle.change_order(
        db, scope=scope, order_id=order["_id"], op_id=shipment_id, where=where,
        update={"$inc": {f"lines.{u.line}.shipped": u.quantity for u in units},
                "$set": {"status": "SHIPPED"}, "$min": {"shipped_at": shipment["at"]},
                "$push": {"shipments": shipment}})
    if after is None:
        current = await order_of(db, scope=scope, order_id=order["_id"])
        if lifecycle.applied(current, shipment_id):
            return next(s for s in current["shipments"] if s["id"] == shipment_id)
        # Refused for good (the status, the shipments and the units shipped only move on):
        # no attempt can record this shipment, so its units go back now, whoever holds it.
        await order_stock.untake(db, location_id=location_id, units=units, reserved=reserved,
                                 op_id=shipment_id)
        if len(current.get("shipments", [])) >= MAX_SHIPMENTS:
            raise reject("LIMIT_EXCEEDED", f"An order ships in at most {MAX_SHIPMENTS} "
                         "shipments.", field="order")
        raise reject("CONFLICT", f"Order {order['_id']} changed meanwhile (now "
                     f"{current['status']}); read it and try again.", field="order")
    return shipment


def _units(order: Doc, lines: list[tuple[str, int]] | None, *,
           bound: Callable[[Doc], int], what: str) -> list[Units]:
    """The units asked for (default: every unit left), each within ``bound`` of its line."""
    index = {line["sku"]: i for i, line in enumerate(order["lines"])}
    if lines is None:
        units = [Units(line["sku"], bound(line), i) for i, line in enumerate(order["lines"])
                 if bound(line) > 0]
        if not units:
            raise reject("CONFLICT", f"Every unit of order {order['_id']} was {what} "
                         "already.", field="lines")
        return units
    errors, units = [], []
    if not 1 <= len(lines) <= validation.MAX_LINES:
        raise reject("INVALID", f"Give 1 to {validation.MAX_LINES} lines.", field="lines")
    for n, (sku, quantity) in enumerate(lines):
        i = index.get(sku)
        try:
            if i is None:
                raise reject("NOT_FOUND", f"{sku} is not on order {order['_id']}.",
                             field=f"lines.{n}.sku")
            if any(u.sku == sku for u in units):
                raise reject("INVALID", f"{sku} appears on two lines; use one line.",
                             field=f"lines.{n}.sku")
            left = bound(order["lines"][i])
            if not 1 <= quantity <= left:
                raise reject("INVALID", f"{sku}: 1 to {left} units can be {what}, not "
                             f"{quantity}.", field=f"lines.{n}.quantity")
        except Rejected as exc:
            errors += exc.errors
            continue
        units.append(Units(sku, quantity, i))
    if errors:
        raise Rejected(*errors)
    return units


async def _step(db: Database, settings: Settings, *, caller: str, mutation: str, key: str,
                order_id: str, work: Callable[[], Awaitable[None]],
                request: list[Any] | None = None) -> Once:
    """Run an order step once per key; the result is the order."""
    validation.idempotency_key(key)

    async def run(_: str, resumed: bool) -> None:
        await work()

    return await run_once(db, caller=caller, mutation=mutation, key=key,
                          request=[order_id, *(request or [])], new_id=order_id, work=run,
                          lease_seconds=settings.idempotency_lease_seconds)


async def prepare_pickup(
    *, db: Database, settings: Settings, scope: Scope, caller: str, order_id: str,
    idempotency_key: str,
) -> Once:
    """Make an order reserved at a store or outlet ready for pick-up, with a code."""
    op_id = f"pickup:{order_id}"

    async def work() -> None:
        order = await order_of(db, scope=scope, order_id=order_id)
        if not lifecycle.applied(order, op_id):
            place = (await lifecycle.location(db, order["location_id"])
                     if order.get("stock") == "RESERVED" else None)
            if place is None or place["kind"] not in PICKUP_KINDS:
                raise reject("CONFLICT", f"Order {order_id} is not reserved at a store or "
                             "outlet.", field="order")
            if order["status"] not in lifecycle.OPEN or order.get("pickup"):
                raise reject("CONFLICT", f"Order {order_id} is {order['status']}"
                             f"{' and has a pick-up' if order.get('pickup') else ''}.",
                             field="order")
            at = now()
            pickup = {"location_id": order["location_id"], "status": "READY",
                      "code": f"{secrets.randbelow(10**6):06d}", "ready_at": at,
                      "expires_at": at + timedelta(hours=settings.pickup_hold_hours),
                      "failures": 0}
            order = await lifecycle.change_order(
                db, scope=scope, order_id=order_id, op_id=op_id,
                where={"status": {"$in": lifecycle.OPEN}, "pickup": {"$exists": False}},
                update={"$set": {"pickup": pickup}}) or await _changed(db, scope, order_id,
                                                                        op_id)
        await record_event(db, order=order, kind="READY_FOR_PICKUP", op_id=op_id, by=caller,
                           location_id=order["pickup"]["location_id"])

    return await _step(db, settings, caller=caller, mutation="preparePickup",
                       key=idempotency_key, order_id=order_id, work=work)


async def _changed(db: Database, scope: Scope, order_id: str, op_id: str) -> Doc:
    """After a missed step: the order if the step was applied meanwhile, else CONFLICT."""
    current = await order_of(db, scope=scope, order_id=order_id)
    if lifecycle.applied(current, op_id):
        return current
    raise reject("CONFLICT", f"Order {order_id} changed meanwhile (now {current['status']}); "
                 "read it and try again.", field="order")


async def collect_order(
    *, db: Database, settings: Settings, scope: Scope, caller: str, order_id: str, code: str,
    idempotency_key: str,
) -> Once:
    """The buyer collects a paid order ready for pick-up, showing its code: COMPLETED."""
    op_id = f"collect:{order_id}"

    async def work() -> None:
        order = await order_of(db, scope=scope, order_id=order_id)
        pickup = order.get("pickup") or {}
        units = [Units(line["sku"], line["quantity"], i)
                 for i, line in enumerate(order["lines"])]
        if not lifecycle.applied(order, op_id):
            at = now()
            _check_collectable(order, pickup, at=at)
            if not secrets.compare_digest(code, pickup["code"]):
                await lifecycle.pickup_failed(db, order_id=order_id)
                raise reject("INVALID", "Wrong collection code.", field="code")
            await order_stock.take(db, location_id=pickup["location_id"], units=units,
                                   reserved=True, op_id=op_id, order_id=order_id,
                                   kind="PICKUP", by=caller)
            changed = await lifecycle.change_order(
                db, scope=scope, order_id=order_id, op_id=op_id,
                where={"status": "PAID", "pickup.status": "READY", "pickup.code": code,
                       "pickup.expires_at": {"$gt": at}},
                update={"$set": {"status": "COMPLETED", "completed_at": at,
                                 "pickup.status": "COLLECTED", "pickup.collected_at": at,
                                 **{f"lines.{u.line}.shipped": u.quantity for u in units}}})
            if changed is None:
                # Another collection (its op id is this one's) may have completed the order
                # with the units taken under that id: they go back only if it did not.
                changed = await order_of(db, scope=scope, order_id=order_id)
                if not lifecycle.applied(changed, op_id):
                    for u in units:
                        await lifecycle.untake_stock(
                            db, sku=u.sku, location_id=pickup["location_id"],
                            quantity=u.quantity, reserved=True, op_id=op_id)
                    raise reject("CONFLICT", f"Order {order_id} changed meanwhile (now "
                                 f"{changed['status']}); read it and try again.",
                                 field="order")
            order = changed
        await record_event(db, order=order, kind="COLLECTED", op_id=op_id, by=caller,
                           location_id=pickup["location_id"])

    return await _step(db, settings, caller=caller, mutation="collectOrder",
                       key=idempotency_key, order_id=order_id, work=work, request=[code])


def _check_collectable(order: Doc, pickup: Doc, *, at: Any) -> None:
    if pickup.get("status") != "READY":
        raise reject("CONFLICT", f"Order {order['_id']} is not ready for pick-up"
                     f"{' (' + pickup['status'] + ')' if pickup else ''}.", field="order")
    if pickup.get("failures", 0) >= MAX_CODE_FAILURES:
        raise reject("CONFLICT", f"The pick-up of order {order['_id']} is locked after "
                     f"{MAX_CODE_FAILURES} wrong codes.", field="code")
    if utc(pickup["expires_at"]) <= at:
        raise reject("CONFLICT", f"The pick-up of order {order['_id']} expired.",
                     field="order")
    if order["status"] != "PAID":
        raise reject("CONFLICT", f"Order {order['_id']} is {order['status']}: it is paid in "
                     "full before it is collected.", field="order")


async def expire_pickup(
    *, db: Database, loaders: Loaders, settings: Settings, scope: Scope, caller: str,
    order_id: str, idempotency_key: str,
) -> Once:
    """Cancel an order whose pick-up time ran out: its reservation is released, the points
    it earned are taken back and its money goes back. A retry finishes each step once,
    however far the attempt before it got (the points: see ``loyalty.reverse``)."""
    op_id = f"expire:{order_id}"

    async def work() -> None:
        order = await order_of(db, scope=scope, order_id=order_id)
        if not lifecycle.applied(order, op_id):
            pickup = order.get("pickup") or {}
            if pickup.get("status") != "READY" or order["status"] not in lifecycle.OPEN:
                raise reject("CONFLICT", f"Order {order_id} has no pick-up waiting.",
                             field="order")
            at = now()
            if utc(pickup["expires_at"]) > at:
                raise reject("CONFLICT", f"The pick-up of order {order_id} runs until "
                             f"{utc(pickup['expires_at']).isoformat()}.", field="order")
            was = order["status"]
            change = rollups.order_cancelled(order)
            update: Doc = {"$set": {"status": "CANCELLED", "cancelled_at": at,
                                    "cancelled_by": caller, "pickup.status": "EXPIRED"}}
            if change is not None:
                update["$push"] = {"rollup_due": rollups.due(change)}
            cancelled = await lifecycle.change_order(
                db, scope=scope, order_id=order_id, op_id=op_id, update=update,
                where={"status": was, "pickup.status": "READY",
                       "refunded": order.get("refunded")})
            if cancelled is not None and change is not None:
                await rollups.apply(db, collection="orders", doc_id=order_id, change=change)
            order = cancelled or await _changed(db, scope, order_id, op_id)
            if was == "PAID":
                await loyalty.reverse(db, loaders=loaders, settings=settings, order=order)
        else:  # a retry: the attempt that expired it may have died before the points went back
            await loyalty.reverse(db, loaders=loaders, settings=settings, order=order)
        units = [Units(line["sku"], line["quantity"], i)
                 for i, line in enumerate(order["lines"])]
        await order_stock.release(db, location_id=order["location_id"], units=units,
                                  op_id=op_id)
        await settle_cancelled(db, loaders=loaders, settings=settings, order=order, by=caller)
        await record_event(db, order=order, kind="PICKUP_EXPIRED", op_id=op_id, by=caller,
                           location_id=order["location_id"])

    return await _step(db, settings, caller=caller, mutation="expirePickup",
                       key=idempotency_key, order_id=order_id, work=work)


async def complete_order(
    *, db: Database, settings: Settings, scope: Scope, caller: str, order_id: str,
    idempotency_key: str,
) -> Once:
    """A shipped order whose every unit shipped was delivered: COMPLETED (a completed order
    is returned unchanged)."""
    op_id = f"complete:{order_id}"

    async def work() -> None:
        order = await order_of(db, scope=scope, order_id=order_id)
        if order["status"] == "COMPLETED" and not lifecycle.applied(order, op_id):
            return
        if not lifecycle.applied(order, op_id):
            if order["status"] != "SHIPPED":
                raise reject("CONFLICT", f"Order {order_id} is {order['status']}: only a "
                             "shipped order is completed.", field="order")
            left = sum(line["quantity"] - delivered(line, order) for line in order["lines"])
            if left:
                raise reject("CONFLICT", f"{left} units of order {order_id} are not shipped "
                             "yet.", field="order")
            order = await lifecycle.change_order(
                db, scope=scope, order_id=order_id, op_id=op_id, where={"status": "SHIPPED"},
                update={"$set": {"status": "COMPLETED", "completed_at": now()}},
            ) or await _changed(db, scope, order_id, op_id)
        await record_event(db, order=order, kind="COMPLETED", op_id=op_id, by=caller)

    return await _step(db, settings, caller=caller, mutation="completeOrder",
                       key=idempotency_key, order_id=order_id, work=work)
