"""Demo orders that show an order's whole life: held and captured payments, shipments,
pick-up in store, completion, a cancellation refunded, and an online order returned in a
supermarket. They are added to the generated data with a random stream of their own, for
three members who shop both online and in the supermarket, in October 2026; their
documents are what the mutations write (``gateway.commerce``): order counters, order
events, refunds and returns. Those members' points follow the loyalty rule (the net value of
their completed orders).
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from gateway.demo.tables import _TIERS

Doc = dict[str, Any]

WAREHOUSE, STORE = "loc_wh_hangzhou", "loc_fm_shanghai_xuhui"
OTHER_STORE = "loc_fm_beijing_chaoyang"
DAY = timedelta(days=1)
BY = "seed"


def _id(prefix: str, *parts: str) -> str:
    return prefix + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def _base(amount: int, rate: str) -> int:
    return int((amount * Decimal(rate)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


class _Life:
    """The documents of the demo orders, built step by step."""

    def __init__(self, data: dict[str, list[Doc]], rng: random.Random) -> None:
        self.data, self.rng = data, rng
        self.serial = 0
        self.prices = {(p["_id"], o["channel_id"]): o["price"] for p in data["products"]
                       for o in p["offers"] if o["available"]}
        self.orders: list[Doc] = []
        self.payments: list[Doc] = []
        self.events: list[Doc] = []
        self.refunds: list[Doc] = []
        self.returns: list[Doc] = []

    def order(self, member: str, channel: str, location: str, at: datetime,
              n_lines: int = 2) -> Doc:
        self.serial += 1
        skus = sorted({sku for sku, ch in self.prices if ch == channel})
        lines = [{"sku": sku, "quantity": self.rng.choice((1, 2, 3)),
                  "unit_price": self.prices[(sku, channel)]}
                 for sku in self.rng.sample(skus, n_lines)]
        total = sum(x["quantity"] * x["unit_price"] for x in lines)
        doc = {"_id": f"ord_9{self.serial:06d}", "member_id": member, "channel_id": channel,
               "location_id": location, "lines": lines, "total": total, "currency": "CNY",
               "status": "PLACED", "placed_at": at, "fx_rate": "1", "total_base": total,
               "paid": 0, "stock": None, "source": "api", "placed_by": BY, "ops": []}
        self.orders.append(doc)
        return doc

    def pay(self, order: Doc, at: datetime, method: str, *, hold: bool = False) -> Doc:
        payment = {"_id": f"pay_9{len(self.payments) + 1:06d}", "order_id": order["_id"],
                   "member_id": order["member_id"], "channel_id": order["channel_id"],
                   "location_id": order["location_id"], "method": method,
                   "amount": order["total"], "currency": "CNY",
                   "status": "AUTHORIZED" if hold else "CAPTURED", "paid_at": at,
                   "fx_rate": "1", "amount_base": order["total"], "recorded_by": BY,
                   "ops": []}
        self.payments.append(payment)
        order["ops"].append(payment["_id"])
        if hold:
            order["authorized"] = order["total"]
        else:
            order.update(paid=order["total"], status="PAID", paid_at=at)
        return payment

    def capture(self, order: Doc, payment: Doc, at: datetime) -> None:
        payment.update(status="CAPTURED", captured_at=at, captured_by=BY)
        payment["ops"].append("capture")
        order.update(paid=order["total"], authorized=0, status="PAID", paid_at=at)
        order["ops"].append(f"capture:{payment['_id']}")
        self.event(order, "CAPTURED", f"capture:{payment['_id']}", at,
                   payment_id=payment["_id"])

    def event(self, order: Doc, kind: str, op_id: str, at: datetime,
              location_id: str | None = None, **details: Any) -> None:
        self.events.append({
            "_id": _id("oev_", op_id, kind), "order_id": order["_id"],
            "member_id": order["member_id"], "channel_id": order["channel_id"],
            "location_id": location_id or order["location_id"], "kind": kind, "at": at,
            "by": BY, "op_id": op_id, **details})

    def ship(self, order: Doc, at: datetime, carrier: str,
             indexes: list[int] | None = None) -> None:
        chosen = list(range(len(order["lines"]))) if indexes is None else indexes
        shipment_id = _id("shp_", order["_id"], "ship", *map(str, chosen))
        shipment = {"id": shipment_id, "location_id": order["location_id"], "carrier": carrier,
                    "tracking_number": f"{carrier[:2].upper()}{self.rng.randrange(10**11):011d}",
                    "at": at, "by": BY,
                    "lines": [{"sku": order["lines"][i]["sku"],
                               "quantity": order["lines"][i]["quantity"], "line": i}
                              for i in chosen]}
        for i in chosen:
            order["lines"][i]["shipped"] = order["lines"][i]["quantity"]
        order.update(status="SHIPPED")
        order.setdefault("shipped_at", at)
        order.setdefault("shipments", []).append(shipment)
        order["ops"].append(shipment_id)
        self.event(order, "SHIPPED", shipment_id, at, shipment=shipment)

    def give_back(self, order: Doc, payment: Doc, index: int, at: datetime, reason: str,
                  location_id: str) -> None:
        """One unit of a line returned at ``location_id`` and refunded."""
        line = order["lines"][index]
        return_id = _id("ret_", order["_id"], "return", str(index))
        lines = [{"sku": line["sku"], "quantity": 1, "unit_price": line["unit_price"],
                  "write_off_reason": None}]
        line["returned"] = line.get("returned", 0) + 1
        order["returned_units"] = order.get("returned_units", 0) + 1
        order.setdefault("returns", []).append({
            "id": return_id, "location_id": location_id,
            "lines": [{"sku": line["sku"], "quantity": 1, "line": index,
                       "write_off_reason": None}]})
        order["ops"].append(return_id)
        refund = self.refund(order, payment, line["unit_price"], at, return_id,
                             f"return: {reason}", location_id, lines, return_id)
        self.returns.append({
            "_id": return_id, "order_id": order["_id"], "member_id": order["member_id"],
            "channel_id": order["channel_id"], "location_id": location_id, "lines": lines,
            "reason": reason, "currency": "CNY", "refund_ids": [refund["_id"]],
            "refunded": refund["amount"], "at": at, "by": BY})
        self.event(order, "RETURNED", return_id, at, location_id=location_id,
                   return_id=return_id)

    def complete(self, order: Doc, at: datetime) -> None:
        order.update(status="COMPLETED", completed_at=at)
        order["ops"].append(f"complete:{order['_id']}")
        self.event(order, "COMPLETED", f"complete:{order['_id']}", at)

    def refund(self, order: Doc, payment: Doc, amount: int, at: datetime, op_id: str,
               reason: str, location_id: str | None = None, lines: list[Doc] | None = None,
               return_id: str | None = None) -> Doc:
        refund_id = _id("rfd_", op_id, payment["_id"])
        refunded = payment.get("refunded", 0) + amount
        payment.update(refunded=refunded, refund_count=payment.get("refund_count", 0) + 1,
                       status="REFUNDED" if refunded == payment["amount"]
                       else "PARTIALLY_REFUNDED")
        payment.setdefault("refund_log", []).append({"id": refund_id, "amount": amount})
        payment["ops"].append(refund_id)
        order["refunded"] = order.get("refunded", 0) + amount
        order["refunded_base"] = _base(order["refunded"], order["fx_rate"])
        order["ops"].append(refund_id)
        doc = {"_id": refund_id, "payment_id": payment["_id"], "order_id": order["_id"],
               "member_id": order["member_id"], "channel_id": order["channel_id"],
               "location_id": location_id or payment["location_id"],
               "method": payment["method"], "amount": amount, "currency": "CNY",
               "amount_base": _base(amount, order["fx_rate"]), "reason": reason,
               "lines": lines or [], "return_id": return_id, "at": at, "by": BY}
        self.refunds.append(doc)
        self.event(order, "REFUNDED", refund_id, at, location_id=doc["location_id"],
                   refund_id=refund_id, return_id=return_id)
        return doc


def add_lifecycle(data: dict[str, list[Doc]], seed: int) -> None:
    """Add the demo orders (see the module docstring) to ``data``, in place."""
    rng = random.Random(f"{seed}:lifecycle")
    life = _Life(data, rng)
    both: dict[str, set[str]] = {}
    for identity in data["identities"]:
        both.setdefault(identity["member_id"], set()).add(identity["channel_id"])
    members = [m for m, channels in sorted(both.items())
               if {"ch_flagship", "ch_freshmart"} <= channels][-3:]
    october = datetime(2026, 10, 1, 2, tzinfo=UTC)
    for n, member in enumerate(members):
        start = october + n * timedelta(hours=5)
        # bought online, delivered, one unit returned in a supermarket and refunded
        order = life.order(member, "ch_flagship", WAREHOUSE, start)
        payment = life.pay(order, start + timedelta(minutes=4), "ALIPAY")
        life.ship(order, start + DAY, "SF Express")
        life.complete(order, start + 3 * DAY)
        life.give_back(order, payment, 0, start + 9 * DAY, "wrong size", STORE)
        # reserved in a supermarket, collected with its code
        order = life.order(member, "ch_freshmart", STORE, start + 2 * DAY)
        ready = start + 2 * DAY + timedelta(hours=1)
        order["pickup"] = {"location_id": STORE, "status": "COLLECTED",
                           "code": f"{rng.randrange(10**6):06d}", "ready_at": ready,
                           "expires_at": ready + 3 * DAY, "failures": 0,
                           "collected_at": ready + timedelta(hours=6)}
        order["ops"].append(f"pickup:{order['_id']}")
        life.event(order, "READY_FOR_PICKUP", f"pickup:{order['_id']}", ready)
        life.pay(order, ready + timedelta(hours=5), "WALLET")
        for line in order["lines"]:
            line["shipped"] = line["quantity"]
        order.update(status="COMPLETED", completed_at=ready + timedelta(hours=6))
        order["ops"].append(f"collect:{order['_id']}")
        life.event(order, "COLLECTED", f"collect:{order['_id']}", ready + timedelta(hours=6))
        # held, captured and shipped, on its way
        order = life.order(member, "ch_flagship", WAREHOUSE, start + 25 * DAY)
        payment = life.pay(order, start + 25 * DAY + timedelta(minutes=2), "ALIPAY", hold=True)
        life.capture(order, payment, start + 25 * DAY + timedelta(hours=2))
        life.ship(order, start + 26 * DAY, "YTO Express")
        if n == 0:  # a long life: shipped in parts, delivered, two units back in two stores
            order = life.order(member, "ch_flagship", WAREHOUSE, start + 4 * DAY, n_lines=3)
            payment = life.pay(order, start + 4 * DAY + timedelta(minutes=2), "ALIPAY",
                               hold=True)
            life.capture(order, payment, start + 4 * DAY + timedelta(hours=1))
            for i in range(3):
                life.ship(order, start + (5 + i) * DAY, "JD Logistics", [i])
            life.complete(order, start + 9 * DAY)
            life.give_back(order, payment, 0, start + 11 * DAY, "damaged box", STORE)
            life.give_back(order, payment, 1, start + 12 * DAY, "not needed", OTHER_STORE)
        # paid, then cancelled: refunded in full
        order = life.order(member, "ch_flagship", WAREHOUSE, start + 12 * DAY)
        payment = life.pay(order, start + 12 * DAY + timedelta(minutes=3), "WALLET")
        cancelled = start + 12 * DAY + timedelta(hours=3)
        order.update(status="CANCELLED", cancelled_at=cancelled, cancelled_by=BY)
        life.refund(order, payment, order["total"], cancelled, f"cancel:{order['_id']}",
                    "order cancelled")
        life.event(order, "CANCELLED", f"cancel:{order['_id']}", cancelled)
    for doc in data["members"]:
        if doc["_id"] in members:
            doc["points"] += sum(
                (o["total_base"] - o.get("refunded_base", 0)) // 100 for o in life.orders
                if o["member_id"] == doc["_id"] and o["status"] == "COMPLETED")
            doc["tier"] = next(tier for floor, tier in _TIERS if doc["points"] >= floor)
    data["orders"] += life.orders
    data["payments"] += life.payments
    data["order_events"] = life.events
    data["refunds"] = life.refunds
    data["returns"] = life.returns
