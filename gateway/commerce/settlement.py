"""A payment's life: authorised, then captured or voided; captured, then refunded.

::

    authorizePayment -> AUTHORIZED -capturePayment-> CAPTURED -refundPayment-> PARTIALLY_REFUNDED
                            |                  (recordPayment     |                   |
                            +-voidPayment-> VOIDED  starts here)  +--refundPayment----+-> REFUNDED

The order keeps two counters: ``authorized`` (held, not yet captured) and ``paid`` (captured).
An authorisation, like ``recordPayment``, matches only while ``paid + authorized + amount <=
total``, so the money held and taken never exceeds the order's total. A capture moves the
amount from ``authorized`` to ``paid``; the capture that completes the total makes the order
PAID and earns its points (gateway/commerce/paid.py), and so does a retry of a capture whose
first attempt failed after counting it, since each of those steps happens once. A void gives
the held amount back. Each transition is one conditional update of the payment (its status),
so it happens once however many requests ask for it; the order's counters change once per
payment and transition (the operation id is recorded with the increment, see
``gateway.database.writes.lifecycle``), so a retry of a request that died between the two
updates completes it without counting twice. Capturing a captured payment, or voiding a
voided one, returns it unchanged. Refunds: ``refunds.py``.
"""

from __future__ import annotations

from typing import Final, NoReturn

from pymongo.errors import DuplicateKeyError

from gateway.clock import now
from gateway.commerce import coupons, validation
from gateway.commerce.common import fx_snapshot, new_id
from gateway.commerce.idempotency import Attempt, Once, check_not_done, run_fenced, run_once
from gateway.commerce.operations import order_of, record_event, stable_id
from gateway.commerce.paid import order_paid, undo_payment
from gateway.commerce.pricing import units_value
from gateway.commerce.refunds import refund, refund_value, refundable
from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.scope import ADMIN, Scope
from gateway.database.writes import lifecycle
from gateway.database.writes import orders as order_writes
from gateway.errors import AlreadyDone, reject
from gateway.loaders import Loaders
from gateway.settings import Settings

# The reason of the refunds of a cancelled order (the gateway's own text: erasure keeps it).
CANCELLED_REASON: Final = "order cancelled"


async def authorize_payment(
    *, db: Database, loaders: Loaders, settings: Settings, scope: Scope, caller: str,
    order_id: str, amount: int, currency: str, method: str, idempotency_key: str,
) -> Once:
    """Hold ``amount`` of an open order (PLACED or PAID) once per key: a payment AUTHORIZED.
    A fenced work, like recordPayment (gateway/commerce/payments.py): the claim is committed
    before the payment's insert, and the ``authorized`` increment is given back only once no
    claim names the payment."""
    validation.idempotency_key(idempotency_key)
    if amount < 1:
        raise reject("INVALID", "amount must be a positive number of minor units.",
                     field="amount")
    counting = inserting = False  # this attempt's increment, its payment's insert

    async def work(attempt: Attempt) -> None:
        nonlocal counting, inserting
        payment_id = attempt.result_id
        await check_not_done(db, "payments", payment_id, attempt.resumed)
        fx = await fx_snapshot(loaders, amount=amount, currency=currency,
                               base_currency=settings.base_currency, field="currency")
        validation.worth(fx.base_amount, ceiling=settings.max_order_total_base,
                         base_currency=settings.base_currency, what="A payment",
                         field="amount")
        counting = True
        after = await lifecycle.change_order(
            db, scope=scope, order_id=order_id, op_id=payment_id,
            where={"currency": currency, "status": {"$in": lifecycle.OPEN},
                   "$expr": {"$lte": [{"$add": [{"$ifNull": ["$paid", 0]},
                                                {"$ifNull": ["$authorized", 0]}, amount]},
                                      "$total"]}},
            update={"$inc": {"authorized": amount}})
        if after is None:
            current = await lifecycle.get(db, "orders", order_id, scope=scope)
            if not lifecycle.applied(current, payment_id):
                counting = False  # refused: nothing counted
                unpayable(current, order_id=order_id, amount=amount, currency=currency)
            assert current is not None
            after = current
        at = now()
        doc = {
            "_id": payment_id, "order_id": order_id, "member_id": after.get("member_id"),
            "channel_id": after["channel_id"], "location_id": after.get("location_id"),
            "method": method, "amount": amount, "currency": currency, "status": "AUTHORIZED",
            "paid_at": at, "authorized_at": at, "fx_rate": fx.rate_text,
            "amount_base": fx.base_amount, "recorded_by": caller,
        }
        await attempt.commit()  # refused when a retry took the payment over meanwhile
        inserting = True
        try:
            await order_writes.insert(db, "payments", doc)
        except DuplicateKeyError:  # the attempt taken over wrote it: the increment is its
            raise AlreadyDone(payment_id) from None
        attempt.written()
        loaders.payments_by_id.prime(payment_id, doc)

    async def undo(attempt: Attempt) -> None:
        """No claim names the payment any more: what any attempt wrote for it goes (see
        :func:`gateway.commerce.paid.undo_payment`)."""
        await undo_payment(db, attempt, order_id=order_id, amount=amount, counting=counting,
                           inserting=inserting, counter="authorized")

    return await run_fenced(db, caller=caller, mutation="authorizePayment",
                            key=idempotency_key, request=[order_id, amount, currency, method],
                            new_id=new_id("pay_"), work=work, undo=undo,
                            lease_seconds=settings.idempotency_lease_seconds)


def unpayable(order: Doc | None, *, order_id: str, amount: int, currency: str) -> NoReturn:
    """Why ``amount`` cannot be paid or held on an order."""
    if order is None:
        raise reject("NOT_FOUND", f"Unknown order {order_id}.", field="order")
    if order["currency"] != currency:
        raise reject("CURRENCY_MISMATCH", f"Order {order_id} is in {order['currency']}.",
                     field="currency")
    if order["status"] not in lifecycle.OPEN:
        raise reject("CONFLICT", f"Order {order_id} is {order['status']}.", field="order")
    left = order["total"] - order.get("paid", 0) - order.get("authorized", 0)
    raise reject("OVERPAYMENT", f"Only {left} minor units of order {order_id} are unpaid.",
                 field="amount")


async def capture_payment(
    *, db: Database, loaders: Loaders, settings: Settings, scope: Scope, caller: str,
    payment_id: str, idempotency_key: str,
) -> Once:
    """Capture an AUTHORIZED payment (once; a captured one is returned unchanged)."""
    async def work(_: str, resumed: bool) -> None:
        payment = await _transition(db, scope=scope, payment_id=payment_id, op="capture",
                                    to="CAPTURED", caller=caller)
        amount = payment["amount"]
        order = await lifecycle.change_order(
            db, scope=ADMIN, order_id=payment["order_id"], op_id=f"capture:{payment_id}",
            update={"$inc": {"authorized": -amount, "paid": amount}})
        if order is None:  # a retry: counted before
            order = await order_of(db, scope=ADMIN, order_id=payment["order_id"])
        await order_paid(db, loaders=loaders, settings=settings, scope=ADMIN, order=order,
                         paid_at=now())
        await record_event(db, order=order, kind="CAPTURED", op_id=f"capture:{payment_id}",
                           by=caller, payment_id=payment_id)

    return await _once(db, settings, caller=caller, mutation="capturePayment",
                       key=idempotency_key, payment_id=payment_id, work=work)


async def void_payment(
    *, db: Database, settings: Settings, scope: Scope, caller: str, payment_id: str,
    idempotency_key: str,
) -> Once:
    """Void an AUTHORIZED payment: the held amount goes back to the order (once)."""
    async def work(_: str, resumed: bool) -> None:
        payment = await _transition(db, scope=scope, payment_id=payment_id, op="void",
                                    to="VOIDED", caller=caller)
        order = await lifecycle.change_order(
            db, scope=ADMIN, order_id=payment["order_id"], op_id=f"void:{payment_id}",
            update={"$inc": {"authorized": -payment["amount"]}})
        if order is None:
            order = await order_of(db, scope=ADMIN, order_id=payment["order_id"])
        await record_event(db, order=order, kind="VOIDED", op_id=f"void:{payment_id}",
                           by=caller, payment_id=payment_id)

    return await _once(db, settings, caller=caller, mutation="voidPayment",
                       key=idempotency_key, payment_id=payment_id, work=work)


async def _once(db: Database, settings: Settings, *, caller: str, mutation: str, key: str,
                payment_id: str, work: object) -> Once:
    validation.idempotency_key(key)
    return await run_once(db, caller=caller, mutation=mutation, key=key, request=[payment_id],
                          new_id=payment_id, work=work,  # type: ignore[arg-type]
                          lease_seconds=settings.idempotency_lease_seconds)


async def _transition(db: Database, *, scope: Scope, payment_id: str, op: str, to: str,
                      caller: str) -> Doc:
    """AUTHORIZED -> ``to`` once; the payment after (also when it had moved before)."""
    after = await lifecycle.change_payment(
        db, scope=scope, payment_id=payment_id, op_id=op, where={"status": "AUTHORIZED"},
        update={"$set": {"status": to, f"{to.lower()}_at": now(), f"{to.lower()}_by": caller}})
    if after is not None:
        return after
    current = await lifecycle.get(db, "payments", payment_id, scope=scope)
    if current is None:
        raise reject("NOT_FOUND", f"Unknown payment {payment_id}.", field="payment")
    if lifecycle.applied(current, op):
        return current
    raise reject("CONFLICT", f"Payment {payment_id} is {current['status']}: only an "
                 "AUTHORIZED payment can be "
                 f"{'captured' if op == 'capture' else 'voided'}.", field="payment")


async def refund_payment(
    *, db: Database, loaders: Loaders, settings: Settings, scope: Scope, caller: str,
    payment_id: str, amount: int | None, lines: list[tuple[str, int]] | None, reason: str,
    location_id: str | None, idempotency_key: str,
) -> Once:
    """Refund a captured payment once per key: ``amount`` minor units, the value of
    ``lines`` (SKU, units, at the order's prices) or, with neither, all that is left."""
    validation.idempotency_key(idempotency_key)
    validation.text(reason, field="reason")
    if amount is not None and lines is not None:
        raise reject("INVALID", "Give amount or lines, not both.", field="amount")
    if amount is not None and amount < 1:
        raise reject("INVALID", "amount must be a positive number of minor units.",
                     field="amount")
    refund_id = stable_id("rfd_", caller, "refundPayment", idempotency_key)

    async def work(_: str, resumed: bool) -> None:
        payment = await lifecycle.get(db, "payments", payment_id, scope=scope)
        if payment is None:
            raise reject("NOT_FOUND", f"Unknown payment {payment_id}.", field="payment")
        if location_id is not None and await loaders.locations_by_id.load(location_id) is None:
            raise reject("NOT_FOUND", f"Unknown location {location_id}.", field="location")
        logged = next((r["amount"] for r in payment.get("refund_log", [])
                       if r["id"] == refund_id), None)
        value, refund_lines = amount, list[Doc]()
        if lines is not None:
            order = await order_of(db, scope=ADMIN, order_id=payment["order_id"])
            value, refund_lines = lines_value(order, lines)
        value = logged or value or refundable(payment)
        if value < 1:
            raise reject("CONFLICT", f"Payment {payment_id} is {payment['status']} with "
                         "nothing left to refund.", field="payment")
        await refund(db=db, loaders=loaders, settings=settings, scope=scope,
                     payment_id=payment_id, amount=value, refund_id=refund_id, by=caller,
                     reason=reason, location_id=location_id, lines=refund_lines)

    return await run_once(db, caller=caller, mutation="refundPayment", key=idempotency_key,
                          request=[payment_id, amount, lines, reason, location_id],
                          new_id=refund_id, work=work,
                          lease_seconds=settings.idempotency_lease_seconds)


def lines_value(order: Doc, lines: list[tuple[str, int]], *, field: str = "lines"
                ) -> tuple[int, list[Doc]]:
    """The value of some units of an order's lines at its prices less their discounts
    (``gateway.commerce.pricing.units_value``), and the lines as stored."""
    by_sku = {line["sku"]: line for line in order["lines"]}
    value, stored = 0, []
    for i, (sku, quantity) in enumerate(lines):
        line = by_sku.get(sku)
        if line is None:
            raise reject("NOT_FOUND", f"{sku} is not on order {order['_id']}.",
                         field=f"{field}.{i}.sku")
        if not 1 <= quantity <= line["quantity"]:
            raise reject("INVALID", f"quantity must be 1 to {line['quantity']}.",
                         field=f"{field}.{i}.quantity")
        value += units_value(line, quantity)
        stored.append({"sku": sku, "quantity": quantity, "unit_price": line["unit_price"]})
    return value, stored


async def settle_cancelled(db: Database, *, loaders: Loaders, settings: Settings, order: Doc,
                           by: str) -> None:
    """The money of a cancelled order goes back: authorised payments are voided, captured
    ones refunded in full (each once: the ids are fixed by the order and the payment), its
    coupon's use is given back (once), and the event CANCELLED is written."""
    op_id = f"cancel:{order['_id']}"
    await coupons.release(db, order=order)
    payments = await lifecycle.payments_of(db, order_id=order["_id"])
    for payment in payments:
        unsettled = f"void:{payment['_id']}" not in order.get("ops", [])
        if payment["status"] == "AUTHORIZED" or (payment["status"] == "VOIDED" and unsettled):
            await _void_for_cancel(db, payment=payment, by=by)
    await refund_value(db=db, loaders=loaders, settings=settings, order_id=order["_id"],
                       amount=order["total"], op_id=op_id, by=by, reason=CANCELLED_REASON,
                       payments=[p for p in payments if p["status"] != "AUTHORIZED"])
    await record_event(db, order=order, kind="CANCELLED", op_id=op_id, by=by)


async def _void_for_cancel(db: Database, *, payment: Doc, by: str) -> None:
    payment_id = payment["_id"]
    if await lifecycle.change_payment(
            db, scope=ADMIN, payment_id=payment_id, op_id="void", where={"status": "AUTHORIZED"},
            update={"$set": {"status": "VOIDED", "voided_at": now(), "voided_by": by}}) is None \
            and "void" not in payment.get("ops", []):
        return  # captured meanwhile: the refunds take it back
    await lifecycle.change_order(db, scope=ADMIN, order_id=payment["order_id"],
                                 op_id=f"void:{payment_id}",
                                 update={"$inc": {"authorized": -payment["amount"]}})
