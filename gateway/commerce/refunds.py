"""Refunds: money back to the payment it came from, never more than was captured.

A refund is one conditional update of its payment, ``refunded += amount`` while the payment
is CAPTURED or PARTIALLY_REFUNDED and ``refunded + amount <= amount captured`` (and it has
had fewer than :data:`MAX_REFUNDS` refunds), recording the refund's id in the same update.
However many refunds of one payment run at once, the database applies them one after the
other and refuses the one that would pass the captured amount (OVERREFUND): the sum refunded
can never exceed it. Then, each once per refund id:

1. the payment becomes REFUNDED (all of it) or PARTIALLY_REFUNDED;
2. the order's ``refunded`` grows by the amount, and its ``refunded_base`` follows: always
   ``total_base x refunded / total`` rounded half to even, so that an order refunded in full
   is worth exactly 0 in the base currency, however its refunds were split;
3. the refund document (``refunds``, id ``rfd_``) and the order event REFUNDED are written;
4. the points the refunded value earned are taken back, and the tier follows
   (``gateway.commerce.loyalty.take_back``);
5. a ``POINTS`` payment gives back the points of the share refunded
   (``gateway.commerce.points.restore``).

Revenue, ``lifetimeValue`` and the channel summaries count an order's total less its refunds.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final, NoReturn

from gateway.clock import now
from gateway.commerce import loyalty, points, rollups
from gateway.commerce.operations import order_of, record_event, stable_id
from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.scope import ADMIN, Scope
from gateway.database.writes import lifecycle
from gateway.errors import Rejected, reject
from gateway.loaders import Loaders
from gateway.settings import Settings

REFUNDABLE: Final = ["CAPTURED", "PARTIALLY_REFUNDED"]
MAX_REFUNDS: Final = 100  # per payment
ORDER_ATTEMPTS: Final = 50  # reads of an order that concurrent refunds keep changing


def base_of(refunded: int, order: Doc) -> int:
    """The base-currency value of ``refunded`` minor units of ``order``, at its snapshot."""
    if not order["total"]:
        return 0
    value = Decimal(refunded) * Decimal(order["total_base"]) / Decimal(order["total"])
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def refunded(payment: Doc) -> int:
    """What was refunded of a payment (all of it for one written REFUNDED without the
    counter)."""
    if "refunded" in payment:
        return int(payment["refunded"])
    return int(payment["amount"]) if payment["status"] == "REFUNDED" else 0


def refundable(payment: Doc) -> int:
    """What can still be refunded of a payment (0 unless captured)."""
    if payment["status"] not in REFUNDABLE:
        return 0
    return int(payment["amount"]) - refunded(payment)


async def refund(
    *, db: Database, loaders: Loaders, settings: Settings, scope: Scope, payment_id: str,
    amount: int, refund_id: str, by: str, reason: str, location_id: str | None = None,
    lines: list[Doc] | None = None, return_id: str | None = None,
) -> Doc:
    """Refund ``amount`` of a payment once for ``refund_id`` (see the module docstring);
    the refund document."""
    after = await lifecycle.change_payment(
        db, scope=scope, payment_id=payment_id, op_id=refund_id,
        where={"status": {"$in": REFUNDABLE},
               "refund_count": {"$not": {"$gte": MAX_REFUNDS}},
               "$expr": {"$lte": [{"$add": [{"$ifNull": ["$refunded", 0]}, amount]},
                                  "$amount"]}},
        update={"$inc": {"refunded": amount, "refund_count": 1},
                "$push": {"refund_log": {"id": refund_id, "amount": amount}}})
    if after is None:
        current = await lifecycle.get(db, "payments", payment_id, scope=scope)
        if not lifecycle.applied(current, refund_id):
            _refused(current, payment_id=payment_id, amount=amount)
        assert current is not None
        after = current
    status = "REFUNDED" if after.get("refunded") == after["amount"] else "PARTIALLY_REFUNDED"
    if after["status"] != status:
        await lifecycle.set_payment_status(
            db, payment_id=payment_id, status=status,
            where={"refunded": after["amount"]} if status == "REFUNDED"
            else {"status": "CAPTURED"})
    order = await _order_refunded(db, loaders=loaders, settings=settings,
                                  order_id=after["order_id"], amount=amount,
                                  refund_id=refund_id)
    await points.restore(db, loaders=loaders, payment=after, refund_id=refund_id)
    doc: Doc = {
        "_id": refund_id, "payment_id": payment_id, "order_id": after["order_id"],
        "member_id": after.get("member_id"), "channel_id": after["channel_id"],
        "location_id": location_id if location_id is not None else after.get("location_id"),
        "method": after["method"], "amount": amount, "currency": after["currency"],
        "amount_base": base_of(amount, order), "reason": reason, "lines": lines or [],
        "return_id": return_id, "at": now(), "by": by,
    }
    if not await lifecycle.insert_once(db, "refunds", doc):
        doc = await lifecycle.get(db, "refunds", refund_id, scope=ADMIN) or doc
    await record_event(db, order=order, kind="REFUNDED", op_id=refund_id, by=by,
                       location_id=doc["location_id"], refund_id=refund_id,
                       return_id=return_id)
    loaders.payments_by_id.prime(payment_id, {**after, "status": status}, force=True)
    return doc


async def _order_refunded(db: Database, *, loaders: Loaders, settings: Settings,
                          order_id: str, amount: int, refund_id: str) -> Doc:
    """Step 2 and 4: the order's refunded counters (and the rollup's change, in the same
    write), then the points. ``refunded_base`` is the base value of all that was refunded,
    rounded once (``base_of``), so the order is read first and its update matches only while
    ``refunded`` is still what was read (a concurrent refund of another payment: read again)."""
    for _ in range(ORDER_ATTEMPTS):
        order = await order_of(db, scope=ADMIN, order_id=order_id)
        if lifecycle.applied(order, refund_id):  # a retry: applied before
            after = order
            break
        was = int(order.get("refunded", 0))
        base = base_of(was + amount, order) - base_of(was, order)
        change = rollups.order_refunded(order, refund_id=refund_id, amount=amount, base=base)
        update: Doc = {"$inc": {"refunded": amount, "refunded_base": base}}
        if change is not None:
            update["$push"] = {"rollup_due": rollups.due(change)}
        found = await lifecycle.change_order(
            db, scope=ADMIN, order_id=order_id, op_id=refund_id,
            where={"refunded": order.get("refunded"), "status": order["status"]},
            update=update)
        if found is not None:
            after = found
            if change is not None:
                await rollups.apply(db, collection="orders", doc_id=order_id, change=change)
            break
    else:
        raise reject("CONFLICT", f"Order {order_id} kept changing; retry the refund.",
                     field="payment")
    await loyalty.take_back(db, loaders=loaders, settings=settings, order=after,
                            refund_id=refund_id,
                            base_before=base_of(after["refunded"] - amount, after),
                            base_after=base_of(after["refunded"], after))
    loaders.orders_by_id.prime(order_id, after, force=True)
    return after


def _refused(payment: Doc | None, *, payment_id: str, amount: int) -> NoReturn:
    if payment is None:
        raise reject("NOT_FOUND", f"Unknown payment {payment_id}.", field="payment")
    if payment["status"] not in REFUNDABLE:
        raise reject("CONFLICT", f"Payment {payment_id} is {payment['status']}: only a "
                     "captured payment can be refunded.", field="payment")
    if payment.get("refund_count", 0) >= MAX_REFUNDS:
        raise reject("LIMIT_EXCEEDED", f"A payment may have at most {MAX_REFUNDS} refunds.",
                     field="payment")
    raise reject("OVERREFUND", f"Only {refundable(payment)} minor units of payment "
                 f"{payment_id} can still be refunded, not {amount}.", field="amount")


async def refund_value(
    *, db: Database, loaders: Loaders, settings: Settings, order_id: str, amount: int,
    op_id: str, by: str, reason: str, location_id: str | None = None,
    lines: list[Doc] | None = None, return_id: str | None = None,
    payments: list[Doc] | None = None,
) -> list[Doc]:
    """Refund up to ``amount`` of an order across its captured payments, oldest first (a
    cancellation: all that is left; a return: the value of its lines). Each payment's refund
    has an id fixed by ``op_id`` and the payment, so a retry refunds nothing twice. Returns
    the refunds made (what no payment can cover is not refunded: an unpaid order).
    ``payments``: the order's payments when the caller has read them."""
    made: list[Doc] = []
    if payments is None:
        payments = await lifecycle.payments_of(db, order_id=order_id)
    for payment in payments:
        refund_id = stable_id("rfd_", op_id, payment["_id"])
        for _ in range(3):  # a concurrent refund of the same payment: read it again
            logged = next((r["amount"] for r in payment.get("refund_log", [])
                           if r["id"] == refund_id), None)
            part = logged if logged is not None else min(amount, refundable(payment))
            if part <= 0:
                break
            try:
                made.append(await refund(
                    db=db, loaders=loaders, settings=settings, scope=ADMIN,
                    payment_id=payment["_id"], amount=part, refund_id=refund_id, by=by,
                    reason=reason, location_id=location_id, lines=lines,
                    return_id=return_id))
            except Rejected as exc:
                if exc.errors[0].code != "OVERREFUND":
                    raise
                again = await lifecycle.get(db, "payments", payment["_id"], scope=ADMIN)
                assert again is not None
                payment = again
                continue
            amount -= part
            break
    return made
