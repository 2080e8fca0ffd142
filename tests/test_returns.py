"""Returns in any channel, on both stores: bought online and returned in a store, restocked
there or written off, refunded to the original payment once, with revenue, lifetime value,
channel summaries, points and analytics taken back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from gateway.clock import now
from tests.support import PARTNER_B, WritingGateway, data, fresh_gateway
from tests.support.orders import COLLECT, PREPARE, RETURN, SHIP, level, pay, place

WAREHOUSE, STORE, OUTLET = "loc_wh_hangzhou", "loc_fm_shanghai_xuhui", "loc_vl_anji"
WIPES, DIAPERS = "sku_baby_wipes_6x80", "sku_baby_diapers_m_60"
MEMBER = """query($id: ID!) { member(id: $id) { points lifetimeValue { minorUnits }
  channelSummaries { channel { id } orderCount spend { minorUnits } } } }"""


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "returns"):
        yield gateway


async def shipped_order(gw: WritingGateway, key: str, member: str,
                        lines: list[tuple[str, int]]) -> tuple[str, int, str]:
    """A flagship order, paid by card and shipped from the warehouse: id, total, payment."""
    order_id, total = await place(gw, key, channel="ch_flagship", member=member,
                                  location=WAREHOUSE, lines=lines)
    payment_id = await pay(gw, order_id, total, f"{key}-pay")
    shipped = await data(gw.client, SHIP, {"input": {
        "order": order_id, "location": WAREHOUSE, "carrier": "YTO", "trackingNumber": key,
        "idempotencyKey": f"{key}-ship"}})
    assert shipped["shipOrder"]["userErrors"] == []
    return order_id, total, payment_id


def give_back(order: str, key: str, lines: list[dict[str, Any]],
              location: str = STORE) -> dict[str, Any]:
    return {"input": {"order": order, "location": location, "lines": lines,
                      "reason": "changed mind", "idempotencyKey": key}}


async def test_bought_online_returned_in_a_store(gw: WritingGateway) -> None:
    # given an online order of 2 wipes and 1 pack of diapers, shipped and paid by card
    member = "mem_00040"
    before = (await data(gw.client, MEMBER, {"id": member}))["member"]
    order_id, total, payment_id = await shipped_order(gw, "r-1", member,
                                                      [(WIPES, 2), (DIAPERS, 1)])
    order = await gw.db["orders"].find_one({"_id": order_id})
    wipe_price = order["lines"][0]["unit_price"]
    shelf = await level(gw, WIPES, STORE)
    # when one wipe comes back at a supermarket, and the request is sent twice
    request = give_back(order_id, "r-1-ret", [{"sku": WIPES, "quantity": 1}])
    returned = await data(gw.client, RETURN, request)
    replay = await data(gw.client, RETURN, request)
    # then one return, restocked at the store, refunded to the card payment
    assert replay == returned
    assert returned["returnOrder"]["return"] == {
        "id": returned["returnOrder"]["return"]["id"], "reason": "changed mind",
        "location": {"id": STORE}, "refunded": {"minorUnits": str(wipe_price)},
        "lines": [{"sku": WIPES, "quantity": 1, "restocked": True, "writeOffReason": None}],
        "refunds": [{"amount": {"minorUnits": str(wipe_price)},
                     "payment": {"id": payment_id, "status": "PARTIALLY_REFUNDED"}}]}
    assert returned["returnOrder"]["order"] == {
        "status": "SHIPPED", "refunded": {"minorUnits": str(wipe_price)},
        "lines": [{"sku": WIPES, "shipped": 2, "returned": 1},
                  {"sku": DIAPERS, "shipped": 1, "returned": 0}]}
    assert await level(gw, WIPES, STORE) == (shelf[0] + 1, shelf[1])
    movement = await gw.db["stock_movements"].find_one({"sku": WIPES, "location_id": STORE,
                                                        "delta": 1})
    assert movement is not None and movement["by"] == "admin"
    # and the member's lifetime value and flagship spend count the net
    after = (await data(gw.client, MEMBER, {"id": member}))["member"]
    assert int(after["lifetimeValue"]["minorUnits"]) == int(
        before["lifetimeValue"]["minorUnits"]) + total - wipe_price
    flagship = [s for s in after["channelSummaries"] if s["channel"]["id"] == "ch_flagship"]
    was = [s for s in before["channelSummaries"] if s["channel"]["id"] == "ch_flagship"]
    assert int(flagship[0]["spend"]["minorUnits"]) == (
        int(was[0]["spend"]["minorUnits"]) if was else 0) + total - wipe_price
    # and the points earned by the refunded value are taken back
    earned = total // 100
    assert int(after["points"]) == int(before["points"]) + earned - (
        total // 100 - (total - wipe_price) // 100)


async def test_bought_in_a_store_returned_to_the_online_warehouse(gw: WritingGateway) -> None:
    # given a supermarket sale, paid at the till and collected there
    order_id, total = await place(gw, "r-8", channel="ch_freshmart", member="mem_00043",
                                  location=STORE, lines=[(WIPES, 1)])
    payment_id = await pay(gw, order_id, total, "r-8-pay", method="CASH")
    await data(gw.client, PREPARE, {"o": order_id, "k": "r-8-p"})
    code = (await gw.db["orders"].find_one({"_id": order_id}))["pickup"]["code"]
    await data(gw.client, COLLECT, {"o": order_id, "c": code, "k": "r-8-c"})
    shelf = await level(gw, WIPES, WAREHOUSE)
    # when the unit is sent back to the online shop's warehouse
    result = await data(gw.client, RETURN, give_back(order_id, "r-8-ret", [
        {"sku": WIPES, "quantity": 1}], location=WAREHOUSE))
    # then it is restocked there and the cash payment refunded in full
    assert result["returnOrder"]["return"]["refunds"] == [{
        "amount": {"minorUnits": str(total)}, "payment": {"id": payment_id,
                                                          "status": "REFUNDED"}}]
    assert result["returnOrder"]["order"] == {
        "status": "COMPLETED", "refunded": {"minorUnits": str(total)},
        "lines": [{"sku": WIPES, "shipped": 1, "returned": 1}]}
    assert await level(gw, WIPES, WAREHOUSE) == (shelf[0] + 1, shelf[1])


async def test_written_off_units_are_refunded_but_not_restocked(gw: WritingGateway) -> None:
    order_id, total, _ = await shipped_order(gw, "r-2", "mem_00041", [(DIAPERS, 2)])
    shelf = await level(gw, DIAPERS, OUTLET)
    result = await data(gw.client, RETURN, give_back(order_id, "r-2-ret", [
        {"sku": DIAPERS, "quantity": 2, "writeOffReason": "torn packaging"}], location=OUTLET))
    assert result["returnOrder"]["return"]["lines"] == [
        {"sku": DIAPERS, "quantity": 2, "restocked": False, "writeOffReason": "torn packaging"}]
    assert result["returnOrder"]["order"]["refunded"] == {"minorUnits": str(total)}
    assert await level(gw, DIAPERS, OUTLET) == shelf


async def test_more_than_delivered_is_refused(gw: WritingGateway) -> None:
    order_id, _, _ = await shipped_order(gw, "r-3", "mem_00041", [(WIPES, 1)])
    too_many = await data(gw.client, RETURN, give_back(order_id, "r-3-a",
                                                       [{"sku": WIPES, "quantity": 2}]))
    assert too_many["returnOrder"]["userErrors"] == [{
        "field": "lines.0.quantity", "code": "INVALID",
        "message": f"{WIPES}: 1 of 1 units delivered can still be returned, not 2."}]
    unknown = await data(gw.client, RETURN, give_back(order_id, "r-3-b",
                                                      [{"sku": DIAPERS, "quantity": 1}]))
    assert unknown["returnOrder"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_a_placed_order_takes_no_return(gw: WritingGateway) -> None:
    order_id, _ = await place(gw, "r-4", channel="ch_flagship", member="mem_00041",
                              lines=[(WIPES, 1)])
    result = await data(gw.client, RETURN, give_back(order_id, "r-4-a",
                                                     [{"sku": WIPES, "quantity": 1}]))
    assert result["returnOrder"]["userErrors"] == [{
        "field": "order", "code": "CONFLICT",
        "message": f"Order {order_id} is PLACED: only shipped or completed orders take returns."}]


async def test_concurrent_returns_of_the_last_unit_take_it_once(gw: WritingGateway) -> None:
    order_id, _, payment_id = await shipped_order(gw, "r-5", "mem_00042", [(WIPES, 1)])
    shelf = await level(gw, WIPES, STORE)
    results = await asyncio.gather(*(
        data(gw.client, RETURN, give_back(order_id, f"r-5-{i}", [{"sku": WIPES, "quantity": 1}]))
        for i in range(20)))
    assert sum(r["returnOrder"]["return"] is not None for r in results) == 1
    assert await level(gw, WIPES, STORE) == (shelf[0] + 1, shelf[1])
    payment = await gw.db["payments"].find_one({"_id": payment_id})
    assert payment["status"] == "REFUNDED"


async def test_a_store_partner_cannot_take_back_an_online_order(gw: WritingGateway) -> None:
    order_id, _, _ = await shipped_order(gw, "r-6", "mem_00042", [(WIPES, 1)])
    key = await gw.gateway.key("returns-partner", "partner", PARTNER_B)
    async with gw.gateway.client(key) as partner:
        result = await data(partner, RETURN, give_back(order_id, "r-6-a",
                                                       [{"sku": WIPES, "quantity": 1}]))
    assert result["returnOrder"]["userErrors"] == [{
        "field": "order", "code": "NOT_FOUND", "message": f"Unknown order {order_id}."}]


async def test_sales_report_gross_and_net(gw: WritingGateway) -> None:
    query = """query($since: DateTime!, $until: DateTime!) { channel(id: "ch_flagship") {
      sales(since: $since, until: $until, bucket: DAY) { buckets { orders revenue { minorUnits }
      refunded { minorUnits } netRevenue { minorUnits } returnedUnits fulfilledOrders } } } }"""

    async def total() -> dict[str, int]:
        window = {"since": (now() - timedelta(days=2)).isoformat(),
                  "until": (now() + timedelta(days=2)).isoformat()}
        buckets = (await data(gw.client, query, window))["channel"]["sales"]["buckets"]
        return {field: sum(int(b[field]["minorUnits"] if isinstance(b[field], dict)
                               else b[field]) for b in buckets) for field in (
            "orders", "revenue", "refunded", "netRevenue", "returnedUnits", "fulfilledOrders")}

    before = await total()
    order_id, amount, _ = await shipped_order(gw, "r-7", "mem_00043", [(WIPES, 2)])
    await data(gw.client, RETURN, give_back(order_id, "r-7-a", [{"sku": WIPES, "quantity": 1}]))
    after = await total()
    unit = amount // 2
    assert {k: after[k] - before[k] for k in after} == {
        "orders": 1, "revenue": amount, "refunded": unit, "netRevenue": amount - unit,
        "returnedUnits": 1, "fulfilledOrders": 1}
