"""What follows a payment that stands: the order PAID once its payments reach its total, and
its points earned (:func:`order_paid`), for every way of paying (recordPayment, capturePayment,
redeemPoints).

Each step happens once however often it is called: the status changes by one conditional
update, and the points move once per ledger entry, keyed by the order (see
gateway/commerce/loyalty.py). So the request that made the order PAID earns its points, and
a retry that finishes a payment (the first attempt failed after the payment stood) calls
:func:`order_paid` again and does what that attempt could not: it earns whenever the order
is PAID or later, not only when it moved it.

And what a payment that does not stand leaves behind (:func:`undo_payment`): the undo of the
fenced payments (recordPayment, redeemPoints, authorizePayment), once no claim names them.
"""

from __future__ import annotations

from datetime import datetime

from gateway.commerce import loyalty
from gateway.commerce.idempotency import Attempt
from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.scope import Scope
from gateway.database.writes import lifecycle
from gateway.database.writes import orders as order_writes
from gateway.loaders import Loaders
from gateway.settings import Settings


async def order_paid(db: Database, *, loaders: Loaders, settings: Settings, scope: Scope,
                     order: Doc, paid_at: datetime) -> None:
    """What follows a counted payment (``order`` as read after it): the order PAID once its
    payments reach its total, and its points earned once it is PAID or later. Both happen
    once (a conditional status change; the points keyed by the order, see
    gateway/commerce/loyalty.py), so a retry that finishes a payment calls this again and
    does what its first attempt could not."""
    if order["status"] == "PLACED":
        if order["paid"] != order["total"] or await order_writes.set_status(
                db, scope=scope, order_id=order["_id"], from_statuses=["PLACED"], to="PAID",
                extra={"paid_at": paid_at}) is None:
            return  # not paid in full, or paid (and earned) or cancelled meanwhile
    elif order["status"] not in loyalty.EARNED:
        return
    await loyalty.earn(db, loaders=loaders, settings=settings, order=order)


async def undo_payment(db: Database, attempt: Attempt, *, order_id: str, amount: int | None,
                       counting: bool, inserting: bool, counter: str = "paid") -> None:
    """The undo of a fenced payment (recordPayment, redeemPoints, authorizePayment), run once
    no claim names it (see "Fenced work" in gateway/commerce/idempotency.py): the payment, if
    this attempt's insert failed only in the answer, and the order's ``counter`` increment
    recorded under its id (once: only while its id is among the order's ``ops``), when this
    attempt counted it (``counting``) or took over an attempt that may have. ``amount`` is
    ``None`` when neither did."""
    if inserting:
        await order_writes.delete(db, "payments", attempt.result_id)
    if amount is not None and (counting or attempt.resumed):
        await lifecycle.undo_order(db, order_id=order_id, op_id=attempt.result_id,
                                   update={"$inc": {counter: -amount}})
