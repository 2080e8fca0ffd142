"""``omnichannelReach`` counts spend net of refunds, as ``lifetimeValue`` does: a refund, part
or all of an order, takes exactly its base value off ``spendBase`` (and off
``multiKindSpendBase`` when its member is active in several kinds); a cancel takes the order
out. After the writes, the whole reach still equals a plain-Python sum over the documents the
database holds, on both stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from tests.support import SEEDS, WritingGateway, data, fresh_gateway
from tests.support import orders as life
from tests.test_analytics import END, REACH, SINCE, START, UNTIL, expected_reach, half_even, run

FIGURES = """query($member: ID!) {
  omnichannelReach(since: "2026-01-01T00:00:00Z", until: "2026-11-01T00:00:00Z") {
    activeMembers spendBase { minorUnits } multiKindSpendBase { minorUnits } }
  member(id: $member) { lifetimeValue { minorUnits } } }"""


def card_paid(status: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A USD order of the window in ``status``, paid in full by one captured card payment,
    never refunded (its base value differs from its total), and that payment."""
    payments: dict[str, list[dict[str, Any]]] = {}
    for p in SEEDS["payments"]:
        payments.setdefault(p["order_id"], []).append(p)
    for o in SEEDS["orders"]:
        paid = payments.get(o["_id"], [])
        if (o["status"] == status and o["currency"] == "USD" and o["member_id"] is not None
                and START <= o["placed_at"] < END and not o.get("refunded")
                and len(paid) == 1 and paid[0]["method"] == "CARD"
                and paid[0]["status"] == "CAPTURED" and paid[0]["amount"] == o["total"]):
            return o, paid[0]
    raise AssertionError(f"no {status} USD order paid by card in the demo data")


def kinds_of(member: str, *, without: str = "") -> set[str]:
    """The channel kinds ``member`` is active in during the window (seeds), leaving the order
    ``without`` out."""
    kind = {c["_id"]: c["kind"] for c in SEEDS["channels"]}
    kinds = {kind[v["channel_id"]] for v in SEEDS["visits"]
             if v["member_id"] == member and START <= v["at"] < END}
    return kinds | {kind[o["channel_id"]] for o in SEEDS["orders"]
                    if o["member_id"] == member and o["status"] != "CANCELLED"
                    and START <= o["placed_at"] < END and o["_id"] != without}


def base_of(refunded: int, order: dict[str, Any]) -> int:
    """The base value of ``refunded`` minor units of ``order`` at its snapshot, half to even."""
    return int(half_even(Decimal(order["total_base"]) * refunded / Decimal(order["total"])))


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "reach_net",
                                       throttle_store="memory"):
        yield gateway


async def figures(gw: WritingGateway, member: str) -> dict[str, int]:
    result = await data(gw.client, FIGURES, {"member": member})
    reach = result["omnichannelReach"]
    return {"active": int(reach["activeMembers"]),
            "spend": int(reach["spendBase"]["minorUnits"]),
            "multi": int(reach["multiKindSpendBase"]["minorUnits"]),
            "lifetime": int(result["member"]["lifetimeValue"]["minorUnits"])}


def less(before: dict[str, int], base: int, *, multi: bool) -> dict[str, int]:
    """The figures once ``base`` less is counted for a member (multi-kind or not)."""
    return {"active": before["active"], "spend": before["spend"] - base,
            "multi": before["multi"] - (base if multi else 0),
            "lifetime": before["lifetime"] - base}


async def refund(gw: WritingGateway, payment: str, key: str, amount: int) -> None:
    body = await data(gw.client, life.REFUND, life.refund_input(payment, key,
                                                                amount=str(amount)))
    assert body["refundPayment"]["userErrors"] == []


async def documents(gw: WritingGateway, collection: str) -> list[dict[str, Any]]:
    return list(await gw.db[collection].find({}).to_list(None))


async def test_a_refund_takes_its_base_value_off_the_spend(gw: WritingGateway) -> None:
    # given a completed USD order paid by card, and the reach and its member's lifetime value
    order, payment = card_paid("COMPLETED")
    member, multi = order["member_id"], len(kinds_of(order["member_id"])) > 1
    before = await figures(gw, member)
    # when a third of it is refunded
    part = order["total"] // 3
    await refund(gw, payment["_id"], "reach-net-part", part)
    # then the spend, its multi-kind part and the lifetime value are exactly its base value less
    assert await figures(gw, member) == less(before, base_of(part, order), multi=multi)
    stored = await gw.db["orders"].find_one({"_id": order["_id"]})
    assert stored["refunded_base"] == base_of(part, order)
    # when the rest is refunded, the order counts nothing, but its member is still active
    await refund(gw, payment["_id"], "reach-net-rest", order["total"] - part)
    assert await figures(gw, member) == less(before, order["total_base"], multi=multi)


async def test_a_cancel_takes_the_order_out_of_the_spend(gw: WritingGateway) -> None:
    # given a paid (not shipped) USD order, part of it refunded
    order, payment = card_paid("PAID")
    member, multi = order["member_id"], len(kinds_of(order["member_id"])) > 1
    before = await figures(gw, member)
    part = order["total"] // 4
    await refund(gw, payment["_id"], "reach-net-cancel-part", part)
    assert await figures(gw, member) == less(before, base_of(part, order), multi=multi)
    # when it is cancelled
    body = await data(gw.client, life.CANCEL, {"id": order["_id"]})
    assert body["cancelOrder"]["order"]["status"] == "CANCELLED"
    # then all of its base total is off the spend and the lifetime value, whatever was refunded
    # (the member is still active by their other orders and visits of the window)
    assert kinds_of(member, without=order["_id"]) == kinds_of(member)
    assert await figures(gw, member) == less(before, order["total_base"], multi=multi)


async def test_the_reach_equals_a_net_sum_over_the_documents(gw: WritingGateway) -> None:
    # given refunded orders in the window (the demo's, and those of the tests above)
    orders = await documents(gw, "orders")
    assert any(o.get("refunded_base") for o in orders if o["status"] != "CANCELLED")
    # when the whole reach is read
    result, db = await run(gw.client, REACH, {"since": SINCE, "until": UNTIL})
    # then it equals the plain-Python reach of the documents the database holds
    assert result["omnichannelReach"] == expected_reach(orders, await documents(gw, "visits"))
    # in as many commands as before spend was net: the refunds are read with the orders
    assert db == {"commands": 4, "byCollection": {"channels": 2, "orders": 1, "visits": 1}}
