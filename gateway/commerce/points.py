"""Points as a payment method: ``redeemPoints`` spends a member's points on an open order, and
:func:`refund_payment` (or :func:`refund_order`) gives them back.

Value: one point pays ``Settings.point_value_minor_units`` minor units of the base currency
(``OMNIGW_POINT_VALUE_MINOR_UNITS``, default 1: 100 points pay 1.00 CNY). On an order in
another currency the value is converted at the order's own FX snapshot (``fx_rate``) and
rounded down to the minor unit, so points never pay more than they are worth; the payment's
``amount_base`` is that amount at the same rate, half to even, like every payment's.

Spending, exactly once per idempotency key and never below zero, without transactions:

1. the order (in the caller's channels) must be ``PLACED``, have a member, and owe at least
   the amount (``OVERPAYMENT`` otherwise); the points come from the member that holds the
   order's member today (a merged member's survivor);
2. one conditional update takes the points while the balance covers them and records a hold
   (``"REDEEM:<payment id>"``) on the member (``INSUFFICIENT_POINTS`` otherwise): concurrent
   redemptions of one member never take more than the balance;
3. the order's ``paid`` grows by the amount (the conditional ``$inc`` of every payment) and
   the payment (method ``POINTS``, ``points``) is written. A retry that takes the claim over
   finds its predecessor's hold and increment and does not spend or count again, so this is
   a fenced work (see "Fenced work" in gateway/commerce/idempotency.py): the request commits
   its claim before inserting the payment (one that was taken over writes nothing more), and
   a failed one gives the hold and the increment back (each once) only when no claim names
   the payment any more, never when it took over a committed claim;
4. once the payment stands, the key stays on it: a ``REDEEM`` ledger entry is written, the
   hold is settled, and the payment that completes the total makes the order ``PAID`` and
   earns its points, as any payment does (gateway/commerce/paid.py). If one of these fails,
   the request fails (retryable) but hands its claim on rather than releasing it (a fenced
   work, see "Written means handed on" in gateway/commerce/idempotency.py): the retry with
   the same key takes it over at once, finds the payment, finishes these steps (each once;
   an entry it writes has no ``balance``) and answers with that payment.

Refunds: a ``POINTS`` payment is refunded like any other, by the one refund path of
gateway/commerce/refunds.py (``refundPayment``, ``returnOrder``, and ``cancelOrder`` or an
expired pick-up through ``settle_cancelled``), which calls :func:`restore` for each refund.
A refund of ``r`` minor units gives back the points of that share of the payment:
``floor(points x refunded after / amount) - floor(points x refunded before / amount)``, the
refunds taken in the order the payment logged them, so the refunds of one payment, however
split, give back exactly the points it spent. The member's balance grows by one conditional
update that records the refund id on the member (``points_ops``, the latest
``OPS_KEPT``) and matches only while it is absent: exactly once per refund, whoever calls
and however often, then a ``RESTORE`` ledger entry (``RESTORE:<refund id>``) is written. The
points go to the member that holds the payer today (a merged member's survivor).
"""

from __future__ import annotations

import contextlib
from decimal import ROUND_FLOOR, Decimal
from typing import NoReturn

from pymongo.errors import DuplicateKeyError

from gateway.clock import now
from gateway.commerce import loyalty, validation
from gateway.commerce.common import new_id
from gateway.commerce.idempotency import Attempt, Once, run_fenced
from gateway.commerce.operations import order_of
from gateway.commerce.paid import order_paid, undo_payment
from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.scope import Scope
from gateway.database.writes import lifecycle
from gateway.database.writes import members as member_writes
from gateway.database.writes import orders as order_writes
from gateway.database.writes import points as writes
from gateway.errors import AlreadyDone, reject
from gateway.loaders import Loaders
from gateway.money import convert, exponent, to_decimal
from gateway.settings import Settings

LEDGER = loyalty.LEDGER


def points_value(points: int, *, currency: str, rate: Decimal, settings: Settings) -> int:
    """What ``points`` pay, in minor units of ``currency`` (``rate``: base units per unit of
    it), rounded down."""
    base = points * settings.point_value_minor_units
    if currency == settings.base_currency:
        return base
    exact = to_decimal(base, settings.base_currency) / rate
    return int(exact.scaleb(exponent(currency)).to_integral_value(rounding=ROUND_FLOOR))


async def redeem_points(
    *, db: Database, loaders: Loaders, settings: Settings, scope: Scope, caller: str,
    order_id: str, points: int, idempotency_key: str,
) -> Once:
    """Pay part or all of an order with the member's points, exactly once per key; the
    payment id (see the module docstring)."""
    validation.idempotency_key(idempotency_key)
    if points < 1:
        raise reject("INVALID", "points must be at least 1.", field="points")

    member_id: str | None = None  # whose points pay, and what they pay (once known)
    amount: int | None = None
    holding = counting = inserting = False  # this attempt's hold, increment, insert

    async def work(attempt: Attempt) -> None:
        nonlocal member_id, amount, holding, counting, inserting
        payment_id, resumed = attempt.result_id, attempt.resumed
        if resumed:
            standing = await lifecycle.get(db, "payments", payment_id, scope=scope)
            if standing is not None:  # the attempt taken over wrote it: finish what follows
                attempt.written()
                await _spent(db, loaders=loaders, settings=settings, scope=scope,
                             payment=standing, balance=None,
                             order=await order_of(db, scope=scope, order_id=order_id))
                raise AlreadyDone(payment_id)
        order = await _order(loaders, order_id)
        # An order that counts the payment passed these checks for the attempt taken over:
        # what it owes, or its being PAID since, take this payment into account.
        counted = lifecycle.applied(order, payment_id)
        _payable(order, counted=counted)
        member_id, amount = await _spend(loaders, settings, order=order, points=points)
        currency, rate = order["currency"], Decimal(order["fx_rate"])
        amount_base = amount if currency == settings.base_currency else convert(
            amount, from_currency=currency, to_currency=settings.base_currency, rate=rate)
        validation.worth(amount_base, ceiling=settings.max_order_total_base,
                         base_currency=settings.base_currency, what="A payment",
                         field="points")
        if not counted and amount > order["total"] - order.get("paid", 0) - order.get(
                "authorized", 0):
            _overpaid(order)
        op = f"REDEEM:{payment_id}"
        holding = True
        member = await writes.hold(db, member_id=member_id, points=points, op=op, at=now())
        if member is None and resumed:
            member = await writes.held(db, member_id=member_id, op=op)
        if member is None:
            holding = False  # refused: nothing held
            raise reject("INSUFFICIENT_POINTS", f"The member holds fewer than {points} points.",
                         field="points")
        counting = True
        after = await order_writes.add_paid(db, scope=scope, order_id=order_id,
                                            payment_id=payment_id, amount=amount,
                                            currency=currency)
        if after is None:
            current = await lifecycle.get(db, "orders", order_id, scope=scope)
            if not lifecycle.applied(current, payment_id):  # else counted by the attempt
                counting = False  # refused: nothing counted
                raise reject("CONFLICT", f"Order {order_id} was paid or cancelled "
                             "meanwhile; read it again.", field="order")
            assert current is not None
            after = current
        doc = {
            "_id": payment_id, "order_id": order_id, "member_id": order["member_id"],
            "channel_id": order["channel_id"], "location_id": order.get("location_id"),
            "method": "POINTS", "points": points, "points_member_id": member_id,
            "amount": amount, "currency": currency, "status": "CAPTURED",
            "paid_at": now(), "fx_rate": order["fx_rate"],
            "fx_snapshot_id": order.get("fx_snapshot_id"), "amount_base": amount_base,
            "recorded_by": caller,
        }
        await attempt.commit()  # refused when a retry took the payment over meanwhile
        inserting = True
        try:
            await order_writes.insert(db, "payments", doc)
        except DuplicateKeyError:  # the attempt taken over wrote it: hold and increment are its
            raise AlreadyDone(payment_id) from None
        attempt.written()  # the payment stands: a later failure keeps the key on it
        loaders.payments_by_id.prime(payment_id, doc)
        await _spent(db, loaders=loaders, settings=settings, scope=scope, payment=doc,
                     balance=member["points"], order=after)

    async def undo(attempt: Attempt) -> None:
        """No claim names the payment any more: what any attempt wrote for it goes (the
        payment, if its insert failed only in the answer; the increment recorded under its id
        and the hold, when this attempt made them or took the payment over)."""
        nonlocal member_id, amount
        if member_id is None and attempt.resumed:  # failed before knowing what was spent
            order = await loaders.orders_by_id.load(order_id)
            if order is None or order.get("member_id") is None:
                return  # no order to pay: nothing was spent on it
            member_id, amount = await _spend(loaders, settings, order=order, points=points)
        await undo_payment(db, attempt, order_id=order_id, amount=amount, counting=counting,
                           inserting=inserting)
        if member_id is not None and (holding or attempt.resumed):
            await writes.give_back(db, member_id=member_id, op=f"REDEEM:{attempt.result_id}",
                                   points=points)

    return await run_fenced(db, caller=caller, mutation="redeemPoints", key=idempotency_key,
                            request=[order_id, points], new_id=new_id("pay_"), work=work,
                            undo=undo, lease_seconds=settings.idempotency_lease_seconds)


async def _spend(loaders: Loaders, settings: Settings, *, order: Doc, points: int
                 ) -> tuple[str, int]:
    """Whose points pay ``order`` (its member's survivor) and what ``points`` pay of it, in
    its currency (INVALID when less than one minor unit)."""
    member_id = await _survivor(loaders, order["member_id"])
    currency, rate = order["currency"], Decimal(order["fx_rate"])
    amount = points_value(points, currency=currency, rate=rate, settings=settings)
    if amount < 1:
        raise reject("INVALID", f"{points} points pay less than one minor unit of "
                     f"{currency}.", field="points")
    return member_id, amount


async def _spent(db: Database, *, loaders: Loaders, settings: Settings, scope: Scope,
                 payment: Doc, balance: int | None, order: Doc) -> None:
    """What follows a standing points payment, each step once (a retry that finds the payment
    written calls it again): its ``REDEEM`` ledger entry (``balance``: after the hold, or
    ``None`` when a retry writes it), its hold settled, and the order (as read after the
    payment) PAID once paid in full, its points earned."""
    op = f"REDEEM:{payment['_id']}"
    member_id = payment["points_member_id"]
    await _ledger(db, member_id=member_id, channel_id=payment["channel_id"],
                  order_id=payment["order_id"], entry_id=op, delta=-payment["points"],
                  reason="REDEEM", balance=balance)
    await writes.settle(db, member_id=member_id, op=op)
    await order_paid(db, loaders=loaders, settings=settings, scope=scope, order=order,
                     paid_at=payment["paid_at"])


async def restore(db: Database, *, loaders: Loaders, payment: Doc, refund_id: str) -> int:
    """Give back the points of one refund of a points payment (``payment`` as it is after the
    refund, its ``refund_log`` naming ``refund_id``), once; the points this call gave back
    (0 for any other payment, a retry, or a share worth less than a point)."""
    if payment.get("method") != "POINTS":
        return 0
    log = payment.get("refund_log", [])
    position = next(i for i, r in enumerate(log) if r["id"] == refund_id)
    before = sum(r["amount"] for r in log[:position])
    back = restored_points(payment["points"], amount=payment["amount"], before=before,
                           after=before + log[position]["amount"])
    if back < 1:
        return 0
    member_id = await _survivor(loaders, payment["points_member_id"])
    op = f"RESTORE:{refund_id}"
    after = await writes.credit_once(db, member_id=member_id, points=back, op=op)
    if after is not None:
        loaders.member_written(after)
    await _ledger(db, member_id=member_id, channel_id=payment["channel_id"],
                  order_id=payment["order_id"], entry_id=op, delta=back, reason="RESTORE",
                  balance=None if after is None else after["points"])
    return back if after is not None else 0


def restored_points(points: int, *, amount: int, before: int, after: int) -> int:
    """The points given back when a payment of ``amount`` minor units that spent ``points``
    goes from ``before`` to ``after`` refunded (so all its refunds give back ``points``)."""
    return points * after // amount - points * before // amount


async def _order(loaders: Loaders, order_id: str) -> Doc:
    order = await loaders.orders_by_id.load(order_id)
    if order is None:
        raise reject("NOT_FOUND", f"Unknown order {order_id}.", field="order")
    return order


def _payable(order: Doc, *, counted: bool) -> None:
    """Points may pay ``order``: it is PLACED (or PAID, when it ``counted`` this payment
    already) and has a member."""
    if order["status"] not in (lifecycle.OPEN if counted else ("PLACED",)):
        raise reject("CONFLICT", f"Order {order['_id']} is {order['status']}: only a PLACED "
                     "order can be paid.", field="order")
    if order.get("member_id") is None:
        raise reject("INVALID", f"Order {order['_id']} has no member whose points could pay "
                     "it.", field="order")


async def _survivor(loaders: Loaders, member_id: str) -> str:
    """The member holding ``member_id``'s points today (itself, or the survivor of a merge)."""
    member = await loaders.members_for_rules.load(member_id)
    if member is None:
        raise reject("NOT_FOUND", f"Unknown member {member_id}.", field="order")
    survivor: str = member.get("merged_into") or member["_id"]
    return survivor


def _overpaid(order: Doc) -> NoReturn:
    left = order["total"] - order.get("paid", 0) - order.get("authorized", 0)
    raise reject("OVERPAYMENT", f"Only {left} minor units of order {order['_id']} are unpaid.",
                 field="points")


async def _ledger(db: Database, *, member_id: str, channel_id: str, order_id: str,
                  entry_id: str, delta: int, reason: str, balance: int | None) -> None:
    """One ledger entry, booked in the order's channel (written once: its ``_id``)."""
    with contextlib.suppress(DuplicateKeyError):  # a resumed attempt: its predecessor's
        await member_writes.insert(db, LEDGER, {
            "_id": entry_id, "member_id": member_id, "channel_id": channel_id,
            "order_id": order_id, "delta": delta, "reason": reason, "balance": balance,
            "at": now()})
