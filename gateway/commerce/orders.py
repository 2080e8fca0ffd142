"""Placing and cancelling orders: server-side prices, FX snapshots and stock reservations.

Stock model: placing an order RESERVES each line (``reserved += q`` on ``inventory``, one
conditional update per line that matches only while ``on_hand - reserved >= q``) at the
order's location: the store or outlet it names, or, without one, the fulfilment location
that allocation chose (``gateway.commerce.allocation``), which becomes the order's location.
``on_hand`` is left alone until the goods leave (``gateway.commerce.stock``). Cancelling
releases the reservation. When a line cannot be reserved, the lines reserved before it are
released, no order is written and the user error ``INSUFFICIENT_STOCK`` names the line.

Each reservation carries a hold with a deadline (``OMNIGW_RESERVATION_TIMEOUT_SECONDS``):
if the request dies between its reservations and the order's insert, the sweeper gives the
units back once the deadline has passed (``gateway.commerce.reservations``); a retry that
takes the idempotency claim over re-arms the holds instead of reserving again.

A request that only stalled may wake up after a retry took its order over: both then work on
the same order id and the same holds (the retry re-arms the stalled request's), so placing an
order is a fenced work (:func:`gateway.commerce.idempotency.run_fenced`). A request commits its
claim (one update conditional on its token) after reserving every line and before inserting
the order, so one that was taken over writes no order (``IDEMPOTENCY_KEY_IN_USE``); a failed
request gives back the order's holds at its location (whichever request made them) and its
coupon's use only once no claim names the order any more; a retry that took over a committed
claim gives back nothing. So an order exists only with every line reserved.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from gateway import ids
from gateway.clock import now
from gateway.commerce import allocation, coupons, loyalty, rollups, validation
from gateway.commerce.common import channel_doc, fx_snapshot, location_problem, member_id_of, new_id
from gateway.commerce.idempotency import Attempt, Once, check_not_done, run_fenced
from gateway.commerce.pricing import check_code, price_order
from gateway.commerce.settlement import settle_cancelled
from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.scope import Scope
from gateway.database.writes import orders as order_writes
from gateway.database.writes import stock as stock_writes
from gateway.database.writes.stock import Hold
from gateway.errors import AlreadyDone, Rejected, UserError, reject
from gateway.ids import identity_key
from gateway.loaders import Loaders
from gateway.settings import Settings

# Channels that sell only from physical locations: their orders must name one.
LOCATION_REQUIRED = frozenset({"SUPERMARKET", "RURAL_OUTLET"})
# Orders in these statuses can still be cancelled (their goods have not left).
CANCEL_ATTEMPTS = 20  # reads of an order that concurrent refunds keep changing
CANCELLABLE = ["PLACED", "PAID"]


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int


@dataclass(frozen=True)
class PlaceOrder:
    """A checked ``PlaceOrderInput``."""

    channel_id: str
    location_id: str | None
    member_id: str | None
    identity: tuple[str, str] | None
    lines: tuple[Line, ...]
    idempotency_key: str
    coupon: str | None = None

    def fingerprint_input(self) -> dict[str, object]:
        found: dict[str, object] = {
            "channel": self.channel_id, "location": self.location_id, "member": self.member_id,
            "identity": list(self.identity or ()),
            "lines": [[line.sku, line.quantity] for line in self.lines]}
        if self.coupon is not None:
            found["coupon"] = self.coupon
        return found


def check_place_order(
    *, channel: str, location: str | None, member: str | None,
    identity: tuple[str, str] | None, lines: list[tuple[str, int]], idempotency_key: str,
    max_quantity: int, coupon: str | None = None,
) -> PlaceOrder:
    """Shape checks that need no database: ids, quantities (1 to ``max_quantity`` per line),
    line count, the key, the coupon code's shape."""
    errors: list[UserError] = []
    checked_lines: list[Line] = []
    validation.idempotency_key(idempotency_key)
    channel_id = ids.check(channel, "ch_", field="channel")
    location_id = (ids.check(location, "loc_", field="location")
                   if location is not None else None)
    if member is not None and identity is not None:
        raise reject("INVALID", "Give member or identity, not both.", field="member")
    code = check_code(coupon) if coupon is not None else None
    member_id = ids.check(member, "mem_", field="member") if member else None
    ident = None
    if identity is not None:
        ident = (ids.check(identity[0], "ch_", field="identity.channel"),
                 ids.check_external_id(identity[1], field="identity.externalId"))
    if not 1 <= len(lines) <= validation.MAX_LINES:
        raise reject("INVALID", f"An order has 1 to {validation.MAX_LINES} lines.",
                     field="lines")
    seen: set[str] = set()
    for i, (sku, quantity) in enumerate(lines):
        try:
            sku = ids.check(sku, "sku_", field=f"lines.{i}.sku")
            validation.quantity(quantity, field=f"lines.{i}.quantity", ceiling=max_quantity)
            if sku in seen:
                raise reject("INVALID", f"{sku} appears on two lines; use one line.",
                             field=f"lines.{i}.sku")
        except Rejected as exc:
            errors += exc.errors
            continue
        seen.add(sku)
        checked_lines.append(Line(sku=sku, quantity=quantity))
    if errors:
        raise Rejected(*errors)
    return PlaceOrder(channel_id=channel_id, location_id=location_id, member_id=member_id,
                      identity=ident, lines=tuple(checked_lines),
                      idempotency_key=idempotency_key, coupon=code)


async def place_order(
    *, db: Database, loaders: Loaders, settings: Settings, caller: str, order: PlaceOrder
) -> Once:
    """Place ``order`` exactly once per idempotency key; the order id (and whether replayed).
    A fenced work (:func:`gateway.commerce.idempotency.run_fenced`): see the module
    docstring."""
    location: str | None = order.location_id  # where this attempt's holds are
    reserved = inserting = False

    async def work(attempt: Attempt) -> None:
        nonlocal location, reserved, inserting
        order_id, resumed = attempt.result_id, attempt.resumed
        await check_not_done(db, "orders", order_id, resumed)
        doc = await _priced_order(loaders=loaders, settings=settings, order=order,
                                  order_id=order_id, caller=caller)
        await coupons.redeem(db, order=doc, resumed=resumed)
        hold = Hold(order_id=order_id, token=uuid.uuid4().hex,
                    until=now() + timedelta(seconds=settings.reservation_timeout_seconds))
        # A settled attempt gives no hold back: they are those the committed attempt needs.
        give_back = not attempt.settled
        if order.location_id is None:
            location = doc["location_id"] = await allocation.allocate(
                db, channel=await channel_doc(loaders, order.channel_id), lines=order.lines,
                hold=hold, resumed=resumed, give_back=give_back)
        else:
            await allocation.reserve_lines(db, location_id=order.location_id,
                                           lines=order.lines, hold=hold, resumed=resumed,
                                           give_back=give_back)
        reserved = True
        change = rollups.order_placed(doc)
        if change is not None:
            doc["rollup_due"] = [rollups.due(change)]
        await attempt.commit()  # refused when a retry took the order over meanwhile
        inserting = True
        try:
            await order_writes.insert(db, "orders", doc)
        except DuplicateKeyError:
            # The attempt this one took over wrote it after all: the units are its order's.
            raise AlreadyDone(order_id) from None
        attempt.written()  # the order stands: a later failure keeps the key on it
        if change is not None:
            await rollups.apply(db, collection="orders", doc_id=order_id, change=change)
        loaders.orders_by_id.prime(order_id, doc)

    async def undo(attempt: Attempt) -> None:
        """No claim names the order any more: what any attempt wrote for it goes (the order,
        if its insert failed only in the answer; the holds at this attempt's location, when it
        reserved them all or took the order over; the coupon's use). A short line gave back
        this attempt's own holds already."""
        if inserting:
            await order_writes.delete(db, "orders", attempt.result_id)
        if location is not None and (reserved or attempt.resumed):
            await allocation.release_holds(db, location_id=location, lines=order.lines,
                                           owner=attempt.result_id)
        if order.coupon is not None:
            await coupons.release(db, order={"_id": attempt.result_id,
                                             "coupon": {"code": order.coupon}})

    return await run_fenced(db, caller=caller, mutation="placeOrder",
                            key=order.idempotency_key, request=order.fingerprint_input(),
                            new_id=new_id("ord_"), work=work, undo=undo,
                            lease_seconds=settings.idempotency_lease_seconds)


async def _priced_order(
    *, loaders: Loaders, settings: Settings, order: PlaceOrder, order_id: str, caller: str
) -> Doc:
    """Look everything up (one query per collection) and build the order document."""
    skus = [line.sku for line in order.lines]
    channel, location, products, member_id = await asyncio.gather(
        channel_doc(loaders, order.channel_id),
        loaders.locations_by_id.load(order.location_id) if order.location_id else _none(),
        loaders.products_by_sku.load_many(skus),
        _member(loaders, order),
    )
    errors: list[UserError] = []
    if order.location_id is not None:
        problem = location_problem(location, location_id=order.location_id, channel=channel)
        if problem is not None:
            errors.append(UserError("location", *problem))
    elif channel["kind"] in LOCATION_REQUIRED:
        errors.append(UserError("location", "INVALID",
                                f"Orders in {channel['_id']} name the store or outlet."))
    currency = channel["currency"]
    lines: list[Doc] = []
    for i, (line, product) in enumerate(zip(order.lines, products, strict=True)):
        offer = None if product is None else next(
            (o for o in product.get("offers", []) if o["channel_id"] == channel["_id"]), None)
        field = f"lines.{i}.sku"
        if product is None:
            errors.append(UserError(field, "NOT_FOUND", f"Unknown SKU {line.sku}."))
        elif offer is None or not offer["available"]:
            errors.append(UserError(field, "INVALID",
                                    f"{line.sku} is not for sale in {channel['_id']}."))
        elif offer["currency"] != currency:
            errors.append(UserError(field, "CURRENCY_MISMATCH",
                                    f"The offer of {line.sku} is not in {currency}."))
        else:
            lines.append({"sku": line.sku, "quantity": line.quantity,
                          "unit_price": offer["price"]})
    if errors:
        raise Rejected(*errors)
    placed_at = now()
    priced = await price_order(
        loaders=loaders, channel=channel, member_id=member_id, coupon=order.coupon,
        lines=[(x["sku"], x["quantity"], x["unit_price"]) for x in lines], at=placed_at)
    total = priced.pricing.total
    fx = await fx_snapshot(loaders, amount=total, currency=currency,
                           base_currency=settings.base_currency, field="channel")
    validation.worth(fx.base_amount, ceiling=settings.max_order_total_base,
                     base_currency=settings.base_currency, what="An order", field="lines")
    return {
        "_id": order_id, "member_id": member_id, "channel_id": channel["_id"],
        "location_id": order.location_id, "currency": currency,
        # an order promotions made free has nothing to pay
        "status": "PLACED" if total else "PAID", "placed_at": placed_at,
        "fx_rate": fx.rate_text, "fx_snapshot_id": fx.snapshot_id,
        "total_base": fx.base_amount, "paid": 0,
        "stock": "RESERVED",
        "source": "api", "placed_by": caller,
        **priced.fields(rate=fx.rate, currency=currency, base_currency=settings.base_currency),
    }


async def _none() -> None:
    return None


async def _member(loaders: Loaders, order: PlaceOrder) -> str | None:
    if order.member_id is not None:
        return await member_id_of(loaders, order.member_id)
    if order.identity is not None:
        doc = await loaders.identities_by_id.load(identity_key(*order.identity))
        if doc is None:
            raise reject("NOT_FOUND", "No member holds this identity.", field="identity")
        member: str = doc["member_id"]
        return member
    return None


async def _release_all(db: Database, *, location_id: str | None, order_id: str,
                       lines: tuple[Line, ...]) -> None:
    """Give back the reservation of a written order (cancelled)."""
    if location_id is None:
        return
    for line in lines:
        await stock_writes.release(db, sku=line.sku, location_id=location_id,
                                   quantity=line.quantity, order_id=order_id)


async def cancel_order(
    *, db: Database, loaders: Loaders, settings: Settings, scope: Scope, order_id: str,
    caller: str,
) -> Doc:
    """Cancel an order that has not shipped: its reserved stock goes back, its authorised
    payments are voided and its captured ones refunded (``gateway.commerce.settlement``).
    Cancelling a cancelled order completes what a request that died half-way left undone
    (its points taken back, once, when it earned them; its money back) and returns it
    (retries are safe). The order is read first: the cancel's rollup change
    (its member, channel and amounts, which never change) goes into the conditional update
    that cancels it, which matches only while ``refunded`` is what was read (a refund meanwhile
    changes what the cancel takes away from the rollup: read again)."""
    current = await loaders.orders_by_id.load(order_id)
    for _ in range(CANCEL_ATTEMPTS):
        change = rollups.order_cancelled(current) if current is not None else None
        before = await order_writes.set_status(
            db, scope=scope, order_id=order_id, from_statuses=CANCELLABLE, to="CANCELLED",
            extra={"cancelled_at": now(), "cancelled_by": caller},
            due=rollups.due(change) if change is not None else None,
            where={"refunded": current.get("refunded")} if current is not None else None,
        )
        if before is not None:
            break
        if current is not None:  # read again: it may have changed since
            loaders.orders_by_id.clear(order_id)
            current = await loaders.orders_by_id.load(order_id)
        if current is None:
            raise reject("NOT_FOUND", f"Unknown order {order_id}.", field="order")
        if current["status"] in CANCELLABLE:  # refunded meanwhile
            continue
        if current["status"] != "CANCELLED":
            raise reject("CONFLICT", f"Order {order_id} is {current['status']} and can no "
                         "longer be cancelled.", field="order")
        # a cancel that died before taking the points back (its money goes back after)
        await loyalty.reverse(db, loaders=loaders, settings=settings, order=current)
        await settle_cancelled(db, loaders=loaders, settings=settings, order=current,
                               by=caller)
        return current
    else:
        raise reject("CONFLICT", f"Order {order_id} kept changing; retry the cancel.",
                     field="order")
    if change is not None:
        await rollups.apply(db, collection="orders", doc_id=order_id, change=change)
    await release_cancelled(db, order=before)
    if before["status"] == "PAID":
        await loyalty.reverse(db, loaders=loaders, settings=settings, order=before)
    after = {**before, "status": "CANCELLED"}
    loaders.orders_by_id.prime(order_id, after, force=True)  # each refund primes its own after
    await settle_cancelled(db, loaders=loaders, settings=settings, order=after, by=caller)
    return after


async def release_cancelled(db: Database, *, order: Doc) -> None:
    """Give a cancelled order's reservation back (``order`` as it was before)."""
    if order.get("stock") == "RESERVED":
        lines = tuple(Line(sku=x["sku"], quantity=x["quantity"]) for x in order["lines"])
        await _release_all(db, location_id=order["location_id"], order_id=order["_id"],
                           lines=lines)
