"""Coupons: a use taken when an order is placed, given back when it is refused or cancelled.

A coupon (``coupons``, ``_id`` = its code) belongs to a campaign and has ``max_uses`` (1 for a
single-use code). It is redeemable in any channel its campaign covers, while the campaign
runs there. Exactly once per use, without transactions:

1. ``placeOrder`` prices the order (gateway/commerce/pricing.py refuses a coupon that is
   unknown, used up or gives nothing), then takes a use with one conditional ``$inc``
   (``uses < max_uses``): of any number of concurrent orders, in one channel or in several,
   at most ``max_uses`` win; the others get ``COUPON_EXHAUSTED`` and nothing is written.
2. It records the redemption (``coupon_redemptions``, ``_id`` ``"<code>:<order id>"``) before
   reserving stock and writing the order. If a later step refuses the order (a short line),
   the redemption is released and the use given back, once no idempotency claim names the
   order any more (placeOrder's undo: gateway/commerce/orders.py).
3. A cancelled order (``cancelOrder``, an expired pick-up: ``settle_cancelled``) releases
   it too: the redemption moves ``REDEEMED`` -> ``RELEASED`` (one
   winner, so a use is given back once) and ``uses`` goes down by one, so a single-use code
   can be used again after its order was cancelled.

A request that dies between steps 1 and 2 has taken a use that no order holds: the code has
one use fewer (never one more). A retry that takes its idempotency claim over finds the
redemption of its order id written and takes no second use.
"""

from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from gateway.clock import now
from gateway.database import Database
from gateway.database import campaigns as repo
from gateway.database.query import Doc
from gateway.database.writes import campaigns as writes
from gateway.errors import reject


def redemption_id(code: str, order_id: str) -> str:
    return f"{code}:{order_id}"


async def redeem(db: Database, *, order: Doc, resumed: bool) -> None:
    """Take a use of the order's coupon (nothing without one); COUPON_EXHAUSTED when none is
    left."""
    coupon = order.get("coupon")
    if coupon is None:
        return
    code = coupon["code"]
    key = redemption_id(code, order["_id"])
    if resumed and await repo.redemption(db, key) is not None:
        return  # the attempt taken over redeemed it for this order
    if await writes.take_use(db, code=code) is None:
        raise reject("COUPON_EXHAUSTED", f"Coupon {code} has no use left.", field="coupon")
    try:
        await writes.insert_redemption(db, {
            "_id": key, "code": code, "campaign_id": coupon["campaign_id"],
            "order_id": order["_id"], "channel_id": order["channel_id"],
            "member_id": order.get("member_id"), "status": "REDEEMED", "at": now()})
    except DuplicateKeyError:  # redeemed for this order meanwhile: this use is not needed
        await writes.give_use(db, code=code)
    except BaseException:
        await writes.give_use(db, code=code)
        raise


async def release(db: Database, *, order: Doc) -> bool:
    """Give the order's coupon use back (a refused or cancelled order); True when this call
    gave it back, False when there was none or it was given back already."""
    coupon = order.get("coupon")
    if coupon is None:
        return False
    code = coupon["code"]
    if not await writes.release_redemption(
            db, redemption_id=redemption_id(code, order["_id"]), at=now()):
        return False
    await writes.give_use(db, code=code)
    return True
