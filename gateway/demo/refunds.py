"""The refunds of the sampled payments that the generator marks REFUNDED, written as
``refundPayment`` writes them (``gateway.commerce.refunds``), so that every net figure
(revenue, ``lifetimeValue``, the channel summaries, points and tier) counts them.

Each such payment is refunded in full, once, :data:`AFTER` after it was paid (never after
the data ends): the payment's ``refunded`` counter and log, a refund document, the order's
``refunded`` and ``refunded_base`` (its base value at the order's snapshot, rounded once,
so an order refunded in full is worth exactly 0), and the order event REFUNDED. A completed
order's member gives back the points its refunded value earned, and the member's tier follows
the lifetime spend left (``gateway.commerce.loyalty.tier_for`` at the default thresholds). Nothing
is drawn at random: every value comes from the payment and its order, so the rest of the data
is the same with or without this step.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final

from gateway.settings import Settings

Doc = dict[str, Any]

AFTER: Final = timedelta(days=2)
BY: Final = "seed"
REASON: Final = "refunded at the customer's request"
THRESHOLDS: Final[dict[str, int]] = Settings.model_fields["tier_thresholds"].default


def _id(prefix: str, *parts: str) -> str:
    return prefix + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def _base_of(refunded: int, order: Doc) -> int:
    """``gateway.commerce.refunds.base_of``: ``total_base x refunded / total``, half even."""
    if not order["total"]:
        return 0
    value = Decimal(refunded) * Decimal(order["total_base"]) / Decimal(order["total"])
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def tier_for(lifetime_base: int) -> str:
    """``gateway.commerce.loyalty.tier_for`` at the default ``tier_thresholds``."""
    return next((tier for tier in ("PLATINUM", "GOLD", "SILVER")
                 if lifetime_base >= THRESHOLDS[tier]), "BRONZE")


def add_refunds(data: dict[str, list[Doc]], *, end: datetime) -> None:
    """Refund in ``data``, in place, every payment marked REFUNDED that has no refund yet
    (see the module docstring); ``end``: the exclusive end of the data."""
    orders = {order["_id"]: order for order in data["orders"]}
    earned_back: dict[str, int] = {}
    for payment in data["payments"]:
        if payment["status"] != "REFUNDED" or "refunded" in payment:
            continue
        order = orders[payment["order_id"]]
        amount = payment["amount"]
        op_id = f"refund:{payment['_id']}"
        refund_id = _id("rfd_", op_id, payment["_id"])
        at = max(payment["paid_at"] + timedelta(minutes=1),
                 min(payment["paid_at"] + AFTER, end - timedelta(minutes=1)))
        payment.update(refunded=amount, refund_count=1,
                       refund_log=[{"id": refund_id, "amount": amount}])
        payment.setdefault("ops", []).append(refund_id)
        was = order.get("refunded", 0)
        base = _base_of(was + amount, order) - _base_of(was, order)
        order.update(refunded=was + amount, refunded_base=order.get("refunded_base", 0) + base)
        order.setdefault("ops", []).append(refund_id)
        data["refunds"].append({
            "_id": refund_id, "payment_id": payment["_id"], "order_id": order["_id"],
            "member_id": order["member_id"], "channel_id": order["channel_id"],
            "location_id": payment.get("location_id"), "method": payment["method"],
            "amount": amount, "currency": payment["currency"], "amount_base": base,
            "reason": REASON, "lines": [], "return_id": None, "at": at, "by": BY})
        data["order_events"].append({
            "_id": _id("oev_", refund_id, "REFUNDED"), "order_id": order["_id"],
            "member_id": order["member_id"], "channel_id": order["channel_id"],
            "location_id": payment.get("location_id") or order["location_id"],
            "kind": "REFUNDED", "at": at, "by": BY, "op_id": refund_id,
            "refund_id": refund_id, "return_id": None})
        if order["status"] == "COMPLETED":  # the points of the net value before less after
            net = order["total_base"] - order["refunded_base"]
            back = (net + base) // 100 - net // 100
            earned_back[order["member_id"]] = earned_back.get(order["member_id"], 0) + back
    spend: dict[str, int] = {}
    for order in data["orders"]:
        if order["member_id"] in earned_back and order["status"] != "CANCELLED":
            spend[order["member_id"]] = spend.get(order["member_id"], 0) + (
                order["total_base"] - order.get("refunded_base", 0))
    for member in data["members"]:
        if member["_id"] in earned_back:
            member["points"] -= earned_back[member["_id"]]
            member["tier"] = tier_for(spend[member["_id"]])
