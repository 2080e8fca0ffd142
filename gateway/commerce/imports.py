"""Offline batches: orders already sold at a till or outlet, sent when the connection is back.

Each row is independent and carries the prices actually paid. Its external order id is its
idempotency key (scoped to the caller and channel), so a batch can be sent again after an
interruption: rows already imported come back DUPLICATE and write nothing. A CREATED row is
a COMPLETED order, paid in full by one captured payment at the time of sale; its units left
the shelf, so on-hand stock is taken (``on_hand -= q``, only while that many are available;
otherwise the row is REJECTED with INSUFFICIENT_STOCK: fix the level with adjustStock and
send the row again), each line with a ``SALE`` movement naming the order
(:mod:`gateway.commerce.order_stock`), so a location's movements explain its level. The
order's id is recorded with each decrement and fixes each movement's id, so a row retried
after its request died half-way takes its units and writes their movements once. The FX
snapshot uses the rates known at import time.

A request that only stalled may wake up after a retry took its row over: both then work on
the same order id and the same units, so a row is a fenced work
(:func:`gateway.commerce.idempotency.run_fenced`). A request inserts the order only after
committing its claim (conditional on its token), so one that was taken over writes no order;
a failed request gives back the row's units and movements only once no claim names the order
any more (whichever request took them); a retry that took over a committed claim gives back
nothing. So an order exists only with its units taken once.

Once the order and its payment stand, the row's key stays on that order whatever follows: a
failure of its rollup or its points (a database blip) fails the request (retryable) but hands
the claim on rather than releasing it (see "Written means handed on" there), so the retry
takes it over at once, finds the order, folds its rollup and credits its points if they are
not yet (each once, whichever request gets there) and answers DUPLICATE with that order.

Ceilings: a line carries at most ``Settings.max_line_quantity`` units and a row is worth at
most ``Settings.max_order_total_base`` in the base currency (else the row is REJECTED with
LIMIT_EXCEEDED). Points: the prices are the partner's word, not our offers, so an imported
order earns the points of any paid order but at most ``Settings.max_import_points`` (see
gateway/commerce/loyalty.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from gateway.clock import now
from gateway.commerce import loyalty, order_stock, rollups, validation
from gateway.commerce.common import channel_doc, fx_snapshot, location_problem, new_id
from gateway.commerce.idempotency import Attempt, run_fenced
from gateway.commerce.order_stock import Units
from gateway.database import Database, activity
from gateway.database.query import Doc
from gateway.database.scope import ADMIN
from gateway.database.writes import orders as order_writes
from gateway.errors import AlreadyDone, Rejected, UserError, reject
from gateway.ids import identity_key
from gateway.loaders import Loaders
from gateway.settings import Settings

MAX_ROWS = 500
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class ImportLine:
    sku: str
    quantity: int
    unit_price: int


@dataclass(frozen=True)
class ImportRow:
    external_id: str
    lines: tuple[ImportLine, ...]
    currency: str
    placed_at: datetime
    payment_method: str
    member_id: str | None = None
    identity: tuple[str, str] | None = None


@dataclass
class RowResult:
    """CREATED (a new order), DUPLICATE (imported before: that order) or REJECTED."""

    status: str
    order_id: str | None = None
    errors: list[UserError] = field(default_factory=list)


async def import_orders(
    *, db: Database, loaders: Loaders, settings: Settings, caller: str, channel_id: str,
    location_id: str | None, rows: list[ImportRow],
) -> list[RowResult]:
    """Import up to 500 rows; one result per row, in row order."""
    if not 1 <= len(rows) <= MAX_ROWS:
        raise reject("INVALID", f"Send 1 to {MAX_ROWS} orders per call.", field="orders")
    channel = await channel_doc(loaders, channel_id)
    if location_id is not None:
        location = await loaders.locations_by_id.load(location_id)
        problem = location_problem(location, location_id=location_id, channel=channel)
        if problem is not None:
            raise reject(*problem, field="location")
    elif channel["kind"] in ("SUPERMARKET", "RURAL_OUTLET"):
        raise reject("INVALID", f"Orders in {channel_id} name the store or outlet.",
                     field="location")
    # Warm the caches: one query each for every SKU, member and identity of the batch.
    await loaders.products_by_sku.load_many(
        list({line.sku for row in rows for line in row.lines}))
    member_ids = list({r.member_id for r in rows if r.member_id})
    await loaders.members_by_id.load_many(member_ids)
    await loaders.members_for_rules.load_many(member_ids)  # the same loader for an admin
    await loaders.identities_by_id.load_many(
        list({identity_key(*r.identity) for r in rows if r.identity}))
    results = []
    for i, row in enumerate(rows):
        try:
            results.append(await _import_row(db=db, loaders=loaders, settings=settings,
                                             caller=caller, channel=channel,
                                             location_id=location_id, row=row,
                                             prefix=f"orders.{i}"))
        except Rejected as exc:
            results.append(RowResult(status="REJECTED", errors=exc.errors))
    return results


async def _import_row(
    *, db: Database, loaders: Loaders, settings: Settings, caller: str, channel: Doc,
    location_id: str | None, row: ImportRow, prefix: str,
) -> RowResult:
    _check_shape(row, channel=channel, prefix=prefix, max_quantity=settings.max_line_quantity)

    units = [Units(sku=x.sku, quantity=x.quantity, line=n) for n, x in enumerate(row.lines)]
    reached = ""  # how far this attempt got: "", "take", "insert", "paid"

    async def work(attempt: Attempt) -> None:
        nonlocal reached
        order_id = attempt.result_id
        if attempt.resumed:
            standing = (await activity.by_ids_in(db, "orders", [order_id],
                                                 scope=ADMIN)).get(order_id)
            if standing is not None:  # the attempt taken over wrote it: finish what follows
                attempt.written()
                await _settle(db, loaders=loaders, settings=settings, order=standing)
                raise AlreadyDone(order_id)
        order = await _order_doc(loaders=loaders, settings=settings, caller=caller,
                                 channel=channel, location_id=location_id, row=row,
                                 order_id=order_id, prefix=prefix)
        change = rollups.order_placed(order)
        if change is not None:
            order["rollup_due"] = [rollups.due(change)]
        reached = "take"
        if location_id is not None:  # a short line leaves the others to undo
            await order_stock.take(db, location_id=location_id, units=units, reserved=False,
                                   op_id=order_id, order_id=order_id, kind="SALE", by=caller,
                                   field=f"{prefix}.lines", give_back=False)
        await attempt.commit()  # refused when a retry took the row over meanwhile
        reached = "insert"
        try:
            await order_writes.insert(db, "orders", order)
        except DuplicateKeyError:
            # the attempt taken over wrote the order: the units and movements are its own
            raise AlreadyDone(order_id) from None
        await _pay(db, order=order, row=row)
        reached = "paid"  # the order and its payment stand: a later failure undoes nothing
        attempt.written()  # and keeps the key on this order: its retry finishes the rest
        await _settle(db, loaders=loaders, settings=settings, order=order)
        loaders.orders_by_id.prime(order_id, order, force=True)

    async def undo(attempt: Attempt) -> None:
        """No claim names the order any more: what any attempt wrote for it goes (a resumed
        attempt refused before its take gives back the units its predecessor took)."""
        if reached == "paid":
            return
        if reached == "insert":
            await order_writes.delete(db, "orders", attempt.result_id)
        if location_id is not None and (reached or attempt.resumed):
            await order_stock.untake(db, location_id=location_id, units=units,
                                     reserved=False, op_id=attempt.result_id)

    once = await run_fenced(
        db, caller=caller, mutation="importOrders", key=f"{channel['_id']}:{row.external_id}",
        request=_fingerprint(row, location_id), new_id=new_id("ord_"), work=work, undo=undo,
        lease_seconds=settings.idempotency_lease_seconds,
        key_field=f"{prefix}.externalId")
    return RowResult(status="DUPLICATE" if once.replayed else "CREATED",
                     order_id=once.result_id)


async def _settle(db: Database, *, loaders: Loaders, settings: Settings, order: Doc) -> None:
    """What follows a standing order: its rollup (each due entry it was written with, folded
    once: see gateway/commerce/rollups.py) and its points (once: the ledger entry is keyed by
    the order). A retry that finds the order written calls it again to finish them."""
    for entry in order.get("rollup_due", []):
        await rollups.apply(db, collection="orders", doc_id=order["_id"],
                            change=rollups.change_of(entry))
    await loyalty.earn(db, loaders=loaders, settings=settings, order=order)


def _check_shape(row: ImportRow, *, channel: Doc, prefix: str, max_quantity: int) -> None:
    """The rules of one row that need no database (its ids were checked when it was read)."""
    validation.idempotency_key(row.external_id, field=f"{prefix}.externalId")
    if row.currency != channel["currency"]:
        raise reject("CURRENCY_MISMATCH", f"{channel['_id']} sells in {channel['currency']}, "
                     f"not {row.currency[:8]}.", field=f"{prefix}.currency")
    if row.placed_at > now() + CLOCK_SKEW:
        raise reject("INVALID", "An order cannot be placed in the future.",
                     field=f"{prefix}.placedAt")
    if row.member_id is not None and row.identity is not None:
        raise reject("INVALID", "Give member or identity, not both.", field=f"{prefix}.member")
    if row.payment_method == "POINTS":  # points are spent through redeemPoints only
        raise reject("INVALID", "An imported order is not paid with points.",
                     field=f"{prefix}.paymentMethod")
    if not 1 <= len(row.lines) <= validation.MAX_LINES:
        raise reject("INVALID", f"An order has 1 to {validation.MAX_LINES} lines.",
                     field=f"{prefix}.lines")
    seen: set[str] = set()
    for n, line in enumerate(row.lines):
        where = f"{prefix}.lines.{n}"
        validation.quantity(line.quantity, field=f"{where}.quantity", ceiling=max_quantity)
        if line.unit_price < 0:
            raise reject("INVALID", "unitPrice cannot be negative.", field=f"{where}.unitPrice")
        if line.sku in seen:
            raise reject("INVALID", f"{line.sku} appears on two lines; use one line.",
                         field=f"{where}.sku")
        seen.add(line.sku)


async def _order_doc(
    *, loaders: Loaders, settings: Settings, caller: str, channel: Doc,
    location_id: str | None, row: ImportRow, order_id: str, prefix: str,
) -> Doc:
    for n, line in enumerate(row.lines):
        if await loaders.products_by_sku.load(line.sku) is None:
            raise reject("NOT_FOUND", f"Unknown SKU {line.sku}.", field=f"{prefix}.lines.{n}.sku")
    member_id = None
    if row.member_id is not None:
        member = await loaders.members_by_id.load(row.member_id)
        if member is None:
            raise reject("NOT_FOUND", f"Unknown member {row.member_id}.",
                         field=f"{prefix}.member")
        member_id = member.get("merged_into") or member["_id"]
    elif row.identity is not None:
        identity = await loaders.identities_by_id.load(identity_key(*row.identity))
        if identity is None:
            raise reject("NOT_FOUND", "No member holds this identity.",
                         field=f"{prefix}.identity")
        member_id = identity["member_id"]
    lines = [{"sku": x.sku, "quantity": x.quantity, "unit_price": x.unit_price}
             for x in row.lines]
    total = sum(x.unit_price * x.quantity for x in row.lines)
    fx = await fx_snapshot(loaders, amount=total, currency=row.currency,
                           base_currency=settings.base_currency, field=f"{prefix}.currency")
    validation.worth(fx.base_amount, ceiling=settings.max_order_total_base,
                     base_currency=settings.base_currency, what="An order",
                     field=f"{prefix}.lines")
    return {
        "_id": order_id, "member_id": member_id, "channel_id": channel["_id"],
        "location_id": location_id, "lines": lines, "total": total, "currency": row.currency,
        "status": "COMPLETED", "placed_at": row.placed_at, "fx_rate": fx.rate_text,
        "fx_snapshot_id": fx.snapshot_id, "total_base": fx.base_amount, "paid": total,
        "stock": "TAKEN" if location_id is not None else None, "source": "import",
        "external_id": row.external_id, "placed_by": caller,
    }


async def _pay(db: Database, *, order: Doc, row: ImportRow) -> None:
    if order["total"] > 0:
        await order_writes.insert(db, "payments", {
            "_id": new_id("pay_"), "order_id": order["_id"], "member_id": order["member_id"],
            "channel_id": order["channel_id"], "location_id": order["location_id"],
            "method": row.payment_method, "amount": order["total"],
            "currency": order["currency"], "status": "CAPTURED", "paid_at": row.placed_at,
            "fx_rate": order["fx_rate"], "fx_snapshot_id": order["fx_snapshot_id"],
            "amount_base": order["total_base"],
            "recorded_by": order["placed_by"],
        })


def _fingerprint(row: ImportRow, location_id: str | None) -> list[object]:
    return [location_id, row.member_id, list(row.identity or ()), row.currency,
            row.placed_at.isoformat(), row.payment_method,
            [[x.sku, x.quantity, x.unit_price] for x in row.lines]]
