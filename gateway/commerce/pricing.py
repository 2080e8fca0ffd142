"""Server-side prices of a new order: offers' prices, then promotions, then the fields the
order stores. ``placeOrder`` (gateway/commerce/orders.py) calls :func:`price_order` once, with
the lines at the offers' prices; the client never sends a price.

Database commands: one ``find`` of the campaigns that may run in the channel now, and, with a
coupon, one ``find`` of the coupon (both at once); the member's tier is read only when a
running campaign has a tier rule (an admin's request has read the member already).

What the order stores (besides ``lines`` with their ``discount`` and ``discounts``):
``subtotal`` (list prices), ``discount`` (all promotions), ``total`` (subtotal - discount),
``promotions`` (per campaign: ``campaign_id``, ``amount``, ``amount_base`` at the order's FX
rate, half to even) and ``coupon`` (``code`` and ``campaign_id``, when one was used).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from gateway.commerce import promotions
from gateway.database import campaigns as repo
from gateway.database.query import Doc
from gateway.errors import reject
from gateway.loaders import Loaders
from gateway.money import convert

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,31}$")


def check_code(code: str, *, field: str = "coupon") -> str:
    """A coupon code, upper-cased: 3 to 32 letters, digits and dashes (INVALID otherwise)."""
    normal = code.strip().upper()
    if not _CODE.match(normal):
        raise reject("INVALID", "A coupon code is 3 to 32 letters, digits and dashes.",
                     field=field)
    return normal


@dataclass(frozen=True)
class PricedOrder:
    """The outcome: the priced lines, and the coupon to redeem (if any)."""

    pricing: promotions.Pricing
    coupon: Doc | None

    def fields(self, *, rate: Decimal, currency: str, base_currency: str) -> Doc:
        """The order document's price fields (``rate``: its FX snapshot)."""
        p = self.pricing
        doc: Doc = {"lines": [line.document() for line in p.lines], "subtotal": p.subtotal,
                    "discount": p.discount, "total": p.total}
        if p.discount:
            doc["promotions"] = [
                {"campaign_id": campaign_id, "amount": amount,
                 "amount_base": amount if currency == base_currency else convert(
                     amount, from_currency=currency, to_currency=base_currency, rate=rate)}
                for campaign_id, amount in p.by_campaign().items()]
        if self.coupon is not None:
            doc["coupon"] = {"code": self.coupon["_id"],
                             "campaign_id": self.coupon["campaign_id"]}
        return doc


async def price_order(
    *, loaders: Loaders, channel: Doc, member_id: str | None,
    lines: Sequence[tuple[str, int, int]], coupon: str | None, at: datetime,
) -> PricedOrder:
    """Apply the campaigns that run in ``channel`` at ``at`` to ``lines`` of ``(sku,
    quantity, offer price)``; refuse a coupon that is unknown (NOT_FOUND), used up
    (COUPON_EXHAUSTED), or whose campaign does not run here now or gives nothing on this
    order (COUPON_NOT_APPLICABLE). The use itself is taken later (gateway/commerce/coupons.py),
    when nothing else can refuse the order."""
    db = loaders.db
    found, coupon_doc = await asyncio.gather(
        repo.may_run(db, channel_id=channel["_id"], kind=channel["kind"], at=at),
        repo.coupon(db, coupon) if coupon is not None else _none(),
    )
    running = [c for c in found
               if promotions.running(c, at=at, time_zone=channel["time_zone"])]
    preferred = None
    if coupon is not None:
        if coupon_doc is None:
            raise reject("NOT_FOUND", f"Unknown coupon {coupon}.", field="coupon")
        preferred = coupon_doc["campaign_id"]
        if not any(c["_id"] == preferred for c in running):
            raise reject("COUPON_NOT_APPLICABLE", f"Coupon {coupon} is not valid in "
                         f"{channel['_id']} now.", field="coupon")
        if coupon_doc["uses"] >= coupon_doc["max_uses"]:
            raise reject("COUPON_EXHAUSTED", f"Coupon {coupon} has no use left.",
                         field="coupon")
    eligible = [c for c in running if not c.get("coupon_required") or c["_id"] == preferred]
    tier = await _tier(loaders, member_id, eligible)
    pricing = promotions.price(lines, campaigns=eligible, currency=channel["currency"],
                               tier=tier, preferred=preferred)
    if preferred is not None and preferred not in pricing.by_campaign():
        raise reject("COUPON_NOT_APPLICABLE", f"Coupon {coupon} gives no discount on this "
                     "order (its minimum spend, products or tiers, or a better promotion).",
                     field="coupon")
    return PricedOrder(pricing=pricing, coupon=coupon_doc)


async def _tier(loaders: Loaders, member_id: str | None, campaigns: list[Doc]) -> str | None:
    """The member's tier, read only when a rule asks for one."""
    if member_id is None or not any(r.get("tiers") for c in campaigns for r in c["rules"]):
        return None
    member = await loaders.members_for_rules.load(member_id)
    return None if member is None else member.get("tier")


async def _none() -> Any:
    return None


def units_value(line: Doc, units: int, *, before: int = 0) -> int:
    """What ``units`` of an order line cost the buyer, ``before`` units of it being counted
    already (returned earlier): the line's value after its discount, ``net``, is shared out
    as ``floor(net x (before + units) / quantity) - floor(net x before / quantity)``, so the
    units of a line, however split, come to exactly what it cost. A refund by lines or a
    return pays this back: a discounted line is never refunded above what was paid for it."""
    quantity = int(line["quantity"])
    net = int(line["unit_price"]) * quantity - int(line.get("discount", 0))
    return net * (before + units) // quantity - net * before // quantity
