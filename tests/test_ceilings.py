"""Ceilings on writes, at their default settings, on both stores: a line's units, an order's
and a payment's worth in the base currency, a stock change and a stock level are refused
beyond their ceiling with LIMIT_EXCEEDED (nothing written), and accepted up to it; imported
orders earn capped points."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.commerce.loyalty import points_for
from gateway.settings import Settings
from tests.support import WritingGateway, data, fresh_gateway, gql

PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { total { minorUnits currencyCode } } userErrors { field code message } } }"""
PAY = """mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
  payment { amount { minorUnits } order { status } } userErrors { field code message } } }"""
IMPORT = """mutation($orders: [ImportOrderInput!]!) { importOrders(channel: "ch_villagelink",
  location: "loc_vl_anji", orders: $orders) {
    results { status order { id total { minorUnits } } userErrors { field code message } }
    userErrors { code } } }"""
ADJUST = """mutation($delta: Int!, $expected: Int!) { adjustStock(sku: "sku_dried_mango_200g",
  location: "loc_fm_shanghai_xuhui", delta: $delta, reason: "count", expectedOnHand: $expected) {
    stock { onHand } userErrors { field code message } } }"""
MEMBER = """query($id: ID!) { member(id: $id) { points
  pointsLedger(first: 1) { edges { node { delta reason order { id } } } } } }"""
OIL, BUYER = "sku_sesame_oil_500ml", "mem_00020"
DEFAULTS = Settings()


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "ceilings"):
        yield gateway


async def counts(gw: WritingGateway) -> tuple[int, ...]:
    """Orders, payments, ledger entries and the sesame oil at the outlet: what a refused
    write must leave alone."""
    oil = await gw.db["inventory"].find_one({"_id": f"{OIL}@loc_vl_anji"})
    return (await gw.db["orders"].count_documents({}),
            await gw.db["payments"].count_documents({}),
            await gw.db["points_ledger"].count_documents({}), oil["on_hand"] if oil else 0)


async def set_price(gw: WritingGateway, sku: str, channel: str, price: int) -> None:
    product = await gw.db["products"].find_one({"_id": sku})
    for offer in product["offers"]:
        if offer["channel_id"] == channel:
            offer["price"] = price
    await gw.db["products"].replace_one({"_id": sku}, product)


def import_row(external_id: str, quantity: int, unit_price: int) -> dict[str, Any]:
    return {"externalId": external_id, "currency": "CNY", "placedAt": "2026-10-30T03:00:00Z",
            "member": BUYER,
            "lines": [{"sku": OIL, "quantity": quantity, "unitPrice": str(unit_price)}]}


def test_the_defaults() -> None:
    assert (DEFAULTS.max_line_quantity, DEFAULTS.max_order_total_base,
            DEFAULTS.max_stock_adjustment, DEFAULTS.max_stock_level,
            DEFAULTS.max_import_points) == (999, 100_000_000, 1_000_000, 1_000_000_000, 10_000)


@pytest.mark.parametrize("setting", [{"max_stock_level": 2**31}, {"max_line_quantity": 0},
                                     {"max_order_total_base": 10**12 + 1}])
def test_ceilings_are_bounded_settings(setting: dict[str, int]) -> None:
    with pytest.raises(ValidationError, match=next(iter(setting))):
        Settings(**setting)


async def test_the_issue_row_is_refused_and_writes_nothing(gw: WritingGateway) -> None:
    # given a partner's row of 999 units at 10^9 fen each (9,990,000,000.00 CNY)
    before = await counts(gw)
    points = (await data(gw.client, MEMBER, {"id": BUYER}))["member"]["points"]
    # when it is imported
    result = (await data(gw.client, IMPORT, {"orders": [import_row("H5-1", 999, 10**9)]}))
    # then the row is refused, and no order, payment, stock move or point is written
    assert result["importOrders"]["results"] == [{"status": "REJECTED", "order": None,
                                                  "userErrors": [{
        "field": "orders.0.lines", "code": "LIMIT_EXCEEDED",
        "message": "An order may be worth at most 1000000.00 CNY "
                   "(OMNIGW_MAX_ORDER_TOTAL_BASE); this one is 9990000000.00 CNY."}]}]
    assert await counts(gw) == before
    assert (await data(gw.client, MEMBER, {"id": BUYER}))["member"]["points"] == points
    # and the same external id imports once the row is right (the refusal spent no key)
    fixed = await data(gw.client, IMPORT, {"orders": [import_row("H5-1", 2, 2990)]})
    assert fixed["importOrders"]["results"][0]["status"] == "CREATED"


async def test_import_and_order_lines_above_the_unit_ceiling_are_refused(
    gw: WritingGateway
) -> None:
    before = await counts(gw)
    result = await data(gw.client, IMPORT, {"orders": [import_row("H5-2", 1000, 1)]})
    placed = await data(gw.client, PLACE, {"input": {
        "channel": "ch_flagship", "idempotencyKey": "q-1000",
        "lines": [{"sku": OIL, "quantity": 1000}]}})
    error = {"code": "LIMIT_EXCEEDED", "message":
             "quantity may be at most 999 per line (OMNIGW_MAX_LINE_QUANTITY), got 1000."}
    assert result["importOrders"]["results"][0]["userErrors"] == [
        {"field": "orders.0.lines.0.quantity", **error}]
    assert placed["placeOrder"] == {"order": None, "userErrors": [
        {"field": "lines.0.quantity", **error}]}
    assert await counts(gw) == before


async def test_an_order_is_worth_at_most_the_ceiling_in_the_base_currency(
    gw: WritingGateway
) -> None:
    # given diapers at 10,000.00 CNY on the flagship store and 10,000.00 USD in the US
    sku = "sku_baby_diapers_m_60"
    await set_price(gw, sku, "ch_flagship", 1_000_000)
    await set_price(gw, sku, "ch_us_market", 1_000_000)

    async def place(channel: str, quantity: int, key: str) -> dict[str, Any]:
        extra = {"location": "loc_wh_los_angeles_bonded"} if channel == "ch_us_market" else {}
        result = await data(gw.client, PLACE, {"input": {
            "channel": channel, "idempotencyKey": key, **extra,
            "lines": [{"sku": sku, "quantity": quantity}]}})
        payload: dict[str, Any] = result["placeOrder"]
        return payload

    before = await counts(gw)
    # when orders of exactly 1,000,000.00 CNY and of one unit more are placed
    exact, over = await place("ch_flagship", 100, "worth-1"), await place("ch_flagship", 101,
                                                                           "worth-2")
    # and 150,000.00 USD, 15,000,000 minor units but 1,068,600.00 CNY at 7.124
    usd = await place("ch_us_market", 15, "worth-3")
    # then the first is placed, the others refused
    assert exact == {"order": {"total": {"minorUnits": "100000000", "currencyCode": "CNY"}},
                     "userErrors": []}
    assert over == {"order": None, "userErrors": [{
        "field": "lines", "code": "LIMIT_EXCEEDED",
        "message": "An order may be worth at most 1000000.00 CNY (OMNIGW_MAX_ORDER_TOTAL_BASE); "
                   "this one is 1010000.00 CNY."}]}
    assert usd["userErrors"] == [{
        "field": "lines", "code": "LIMIT_EXCEEDED",
        "message": "An order may be worth at most 1000000.00 CNY (OMNIGW_MAX_ORDER_TOTAL_BASE); "
                   "this one is 1068600.00 CNY."}]
    assert (await counts(gw))[0] == before[0] + 1


async def test_a_payment_is_worth_at_most_the_ceiling(gw: WritingGateway) -> None:
    # given an order of 2,000,000.00 CNY written before the ceiling existed
    await gw.db["orders"].insert_one({
        "_id": "ord_legacy_big", "member_id": None, "channel_id": "ch_flagship",
        "location_id": None, "lines": [{"sku": OIL, "quantity": 1, "unit_price": 200_000_000}],
        "total": 200_000_000, "currency": "CNY", "status": "PLACED", "fx_rate": "1",
        "total_base": 200_000_000, "paid": 0, "placed_at": datetime(2026, 1, 2, tzinfo=UTC)})

    def pay(amount: int, key: str) -> dict[str, Any]:
        return {"input": {"order": "ord_legacy_big", "amount": str(amount), "currency": "CNY",
                          "method": "CARD", "idempotencyKey": key}}

    # when it is paid with one unit more than the ceiling, then with the ceiling
    over = await data(gw.client, PAY, pay(100_000_001, "big-1"))
    part = await data(gw.client, PAY, pay(100_000_000, "big-2"))
    # then the first is refused before anything is written, the second recorded
    assert over["recordPayment"] == {"payment": None, "userErrors": [{
        "field": "amount", "code": "LIMIT_EXCEEDED",
        "message": "A payment may be worth at most 1000000.00 CNY "
                   "(OMNIGW_MAX_ORDER_TOTAL_BASE); this one is 1000000.01 CNY."}]}
    assert part["recordPayment"] == {"payment": {"amount": {"minorUnits": "100000000"},
                                                 "order": {"status": "PLACED"}},
                                     "userErrors": []}
    doc = await gw.db["orders"].find_one({"_id": "ord_legacy_big"})
    assert doc["paid"] == 100_000_000
    assert await gw.db["payments"].count_documents({"order_id": "ord_legacy_big"}) == 1


async def test_stock_changes_and_levels_stop_at_their_ceilings(gw: WritingGateway) -> None:
    # given a level ten units below the ceiling
    await gw.db["inventory"].update_one(
        {"_id": "sku_dried_mango_200g@loc_fm_shanghai_xuhui"},
        {"$set": {"on_hand": 999_999_990, "reserved": 0}})
    big = await data(gw.client, ADJUST, {"delta": 1_000_001, "expected": 999_999_990})
    over = await data(gw.client, ADJUST, {"delta": 11, "expected": 999_999_990})
    exact = await data(gw.client, ADJUST, {"delta": 10, "expected": 999_999_990})
    assert big["adjustStock"]["userErrors"] == [{
        "field": "delta", "code": "LIMIT_EXCEEDED",
        "message": "delta may be at most 1000000 in size (OMNIGW_MAX_STOCK_ADJUSTMENT)."}]
    assert over["adjustStock"]["userErrors"] == [{
        "field": "delta", "code": "LIMIT_EXCEEDED",
        "message": "On-hand stock may be at most 1000000000 units (OMNIGW_MAX_STOCK_LEVEL)."}]
    assert exact["adjustStock"] == {"stock": {"onHand": 1_000_000_000}, "userErrors": []}
    assert await gw.db["stock_movements"].count_documents(
        {"sku": "sku_dried_mango_200g", "location_id": "loc_fm_shanghai_xuhui"}) == 1


async def test_imported_orders_earn_points_up_to_the_cap(gw: WritingGateway) -> None:
    # given a rural outlet (2 points per yuan) and the buyer's balance
    points = int((await data(gw.client, MEMBER, {"id": BUYER}))["member"]["points"])
    # when a 100.00 CNY row and a 20,000.00 CNY row are imported
    small = await data(gw.client, IMPORT, {"orders": [import_row("PTS-1", 2, 5_000)]})
    large = await data(gw.client, IMPORT, {"orders": [import_row("PTS-2", 8, 250_000)]})
    # then the first earns its 200 points, the second 10,000 rather than 40,000
    small_id = small["importOrders"]["results"][0]["order"]["id"]
    large_id = large["importOrders"]["results"][0]["order"]["id"]
    ledger = await gw.db["points_ledger"].find(
        {"order_id": {"$in": [small_id, large_id]}}).to_list(None)
    assert sorted((e["order_id"], e["reason"], e["delta"]) for e in ledger) == sorted(
        [(small_id, "EARN", 200), (large_id, "EARN", 10_000)])
    after = await data(gw.client, MEMBER, {"id": BUYER})
    assert after["member"]["points"] == str(points + 10_200)
    assert after["member"]["pointsLedger"]["edges"][0]["node"] == {
        "delta": "10000", "reason": "EARN", "order": {"id": large_id}}


def test_the_points_rule() -> None:
    assert points_for(total_base=2_000_000, channel_kind="RURAL_OUTLET") == 40_000
    assert points_for(total_base=2_000_000, channel_kind="RURAL_OUTLET", cap=10_000) == 10_000
    assert points_for(total_base=10_000, channel_kind="RURAL_OUTLET", cap=10_000) == 200
    assert points_for(total_base=2_000_000, channel_kind="ONLINE_SHOP", cap=0) == 0


async def test_a_long_is_a_string_not_a_number(gw: WritingGateway) -> None:
    payments = await gw.db["payments"].count_documents({})
    literal = await gql(gw.client, """mutation { recordPayment(input: {order: "ord_0000001",
      amount: 100, currency: "CNY", method: CASH, idempotencyKey: "lit"}) { payment { id } } }""")
    variable = await gql(gw.client, PAY, {"input": {
        "order": "ord_0000001", "amount": 100, "currency": "CNY", "method": "CASH",
        "idempotencyKey": "var"}})
    too_big = await gql(gw.client, PAY, {"input": {
        "order": "ord_0000001", "amount": "9223372036854775808", "currency": "CNY",
        "method": "CASH", "idempotencyKey": "big"}})
    assert [e["extensions"]["code"] for e in literal["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]
    assert [e["extensions"]["code"] for e in variable["errors"]] == ["BAD_USER_INPUT"]
    assert [e["extensions"]["code"] for e in too_big["errors"]] == ["BAD_USER_INPUT"]
    assert "Long is between" in too_big["errors"][0]["message"]
    assert await gw.db["payments"].count_documents({}) == payments
