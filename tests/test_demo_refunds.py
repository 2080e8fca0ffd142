"""The demo data's refunds (gateway/demo/refunds.py and the demo orders' lives): every refunded
payment has its refund documents, its order counts them, and the order events, points and
rollups agree, in the generated data and in a store loaded from the seeds."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from gateway.commerce.loyalty import tier_for
from gateway.commerce.refunds import base_of
from gateway.database import rollups
from gateway.database.query import find
from gateway.demo import generator
from gateway.demo import refunds as demo_refunds
from gateway.settings import Settings
from tests.support import Gateway

Data = dict[str, list[dict[str, Any]]]
REFUND_COLLECTIONS = ("orders", "payments", "refunds", "order_events")


@pytest.fixture(scope="module")
def data() -> Data:
    return generator.generate(1)


def refund_problems(data: Data) -> list[str]:
    """What disagrees between payments, refunds, orders and order events (empty: nothing)."""
    problems: list[str] = []
    by_payment: Counter[str] = Counter()
    ids_by_payment: dict[str, set[str]] = {}
    per_order: Counter[str] = Counter()
    for refund in data["refunds"]:
        by_payment[refund["payment_id"]] += refund["amount"]
        ids_by_payment.setdefault(refund["payment_id"], set()).add(refund["_id"])
    events = {(e["order_id"], e["refund_id"]) for e in data["order_events"]
              if e["kind"] == "REFUNDED"}
    for refund in data["refunds"]:
        if (refund["order_id"], refund["_id"]) not in events:
            problems.append(f"{refund['_id']}: no REFUNDED event")
    for payment in data["payments"]:
        pid, refunded = payment["_id"], payment.get("refunded", 0)
        per_order[payment["order_id"]] += refunded
        if refunded != by_payment[pid]:
            problems.append(f"{pid}: refunded {refunded}, its refunds {by_payment[pid]}")
        if {r["id"] for r in payment.get("refund_log", [])} != ids_by_payment.get(pid, set()):
            problems.append(f"{pid}: refund log differs from its refunds")
        expected = ("REFUNDED" if refunded == payment["amount"] else
                    "PARTIALLY_REFUNDED" if refunded else payment["status"])
        if payment["status"] != expected or (refunded == 0) != (
                expected not in ("REFUNDED", "PARTIALLY_REFUNDED")):
            problems.append(f"{pid}: {payment['status']} with {refunded} refunded")
    for order in data["orders"]:
        refunded = order.get("refunded", 0)
        if refunded != per_order[order["_id"]]:
            problems.append(f"{order['_id']}: refunded {refunded}, its payments "
                            f"{per_order[order['_id']]}")
        if order.get("refunded_base", 0) != base_of(refunded, order):
            problems.append(f"{order['_id']}: refunded_base {order.get('refunded_base')}")
    return problems


def test_every_refunded_payment_has_its_refunds_and_its_order_counts_them(data: Data) -> None:
    assert refund_problems(data) == []
    # the sampled payments marked REFUNDED are among them, refunded in full after payment
    sampled = [p for p in data["payments"] if p["status"] == "REFUNDED"
               and not p["_id"].startswith(("pay_9", "pay_p"))]
    assert len(sampled) >= 20
    refunds = {r["payment_id"]: r for r in data["refunds"]}
    for payment in sampled:
        refund = refunds[payment["_id"]]
        assert refund["amount"] == payment["amount"] == payment["refunded"]
        assert payment["paid_at"] < refund["at"] < generator.END


def test_the_checker_finds_a_refund_the_data_does_not_carry(data: Data) -> None:
    # given the data before the demo refunds were written (a payment REFUNDED, no refund)
    broken = {name: [dict(doc) for doc in data[name]] for name in REFUND_COLLECTIONS}
    sampled = next(p for p in broken["payments"] if p["status"] == "REFUNDED"
                   and not p["_id"].startswith(("pay_9", "pay_p")))
    broken["refunds"] = [r for r in broken["refunds"] if r["payment_id"] != sampled["_id"]]
    # then the checker names the payment
    assert f"{sampled['_id']}: refunded {sampled['amount']}, its refunds 0" in refund_problems(
        broken)


def test_demo_refunds_draw_nothing_and_change_only_what_a_refund_writes(
    data: Data, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the data generated without the demo refunds
    monkeypatch.setattr(generator, "add_refunds", lambda data, *, end: None)
    without = generator.generate(1)
    refunded_orders = {r["order_id"] for r in data["refunds"]
                       if r["reason"] == demo_refunds.REASON}
    members = {o["member_id"] for o in data["orders"] if o["_id"] in refunded_orders}
    refund_fields = {"refunded", "refunded_base", "refund_count", "refund_log", "ops"}
    for name, docs in data.items():
        before = {doc["_id"]: doc for doc in without[name]}
        for doc in docs:
            if doc["_id"] not in before:  # a demo refund and its event: new documents
                assert name in ("refunds", "order_events") and (
                    doc.get("refund_id", doc["_id"]) in {
                        r["_id"] for r in data["refunds"] if r["order_id"] in refunded_orders})
                continue
            old = before[doc["_id"]]
            changed = {k for k in doc.keys() | old.keys() if doc.get(k) != old.get(k)}
            if name in ("orders", "payments"):
                assert changed <= refund_fields, (doc["_id"], changed)
            elif name == "members" and doc["_id"] in members:
                assert changed <= {"points", "tier"}
                assert doc["points"] <= old["points"]
                spend = sum(o["total_base"] - o.get("refunded_base", 0) for o in data["orders"]
                            if o["member_id"] == doc["_id"] and o["status"] != "CANCELLED")
                assert doc["tier"] == tier_for(spend, Settings())
            else:
                assert not changed, (name, doc["_id"])


async def test_the_loaded_store_agrees_and_its_rollups_count_the_refunds(
    embedded_gateway: Gateway, data: Data
) -> None:
    # given the seeds loaded into the embedded store
    db = embedded_gateway.app.state.db
    loaded = {name: await find(db[name], {}) for name in REFUND_COLLECTIONS}
    # then they agree there too, with every refund of the seeds
    assert refund_problems(loaded) == []
    assert {r["_id"] for r in loaded["refunds"]} >= {r["_id"] for r in data["refunds"]}
    # and the member rollups equal a recomputation that counts each order less its refunds
    assert await rollups.differences(db) == []
    refunded = next(o for o in loaded["orders"] if o.get("refunded") == o["total"]
                    and o["status"] == "COMPLETED" and o["member_id"])
    rows = await find(db["orders"], {"member_id": refunded["member_id"],
                                     "channel_id": refunded["channel_id"]})
    expected = sum(o["total_base"] - o.get("refunded_base", 0) for o in rows
                   if o["status"] != "CANCELLED")
    stored = await find(db["member_rollups"], {"member_id": refunded["member_id"],
                                               "channel_id": refunded["channel_id"]})
    assert [doc["spend_base"] for doc in stored] == [expected]
