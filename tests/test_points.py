"""Points as a payment method (redeemPoints, gateway/commerce/points.py): exactly once, never
below zero under concurrency, at the documented rate, and given back through the one refund
path (a cancelled order, refundPayment, a return), once per refund, in proportion."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pymongo.errors import AutoReconnect

from gateway.commerce import refunds
from gateway.database.writes import members as member_writes
from gateway.loaders import Loaders
from tests.support import WritingGateway, data, fresh_gateway, gql
from tests.support.blips import fail_once
from tests.support.orders import REFUND, RETURN, SHIP, refund_input

PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id total { minorUnits currencyCode } } userErrors { code message } } }"""
REDEEM = """mutation($input: RedeemPointsInput!) { redeemPoints(input: $input) {
  payment { id method points amount { minorUnits currencyCode } status
    fx { rate baseAmount { minorUnits } } order { status } }
  userErrors { field code message } } }"""
PAY = """mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
  payment { id } userErrors { code } } }"""
CANCEL = """mutation($id: ID!) { cancelOrder(order: $id) { order { status } userErrors { code } }
}"""
MEMBER = """query($id: ID!) { member(id: $id) { points
  pointsLedger(first: 5) { edges { node { id delta reason balance order { id } } } } } }"""
BOTTLE = "sku_steel_water_bottle_500ml"


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "points",
                                       throttle_store="memory"):
        yield gateway


async def order(client: httpx.AsyncClient, key: str, member: str, *, channel: str = "ch_flagship",
                quantity: int = 2) -> dict[str, Any]:
    placed = await data(client, PLACE, {"input": {
        "channel": channel, "member": member, "idempotencyKey": key,
        "lines": [{"sku": BOTTLE, "quantity": quantity}]}})
    assert placed["placeOrder"]["userErrors"] == []
    return placed["placeOrder"]["order"]  # type: ignore[no-any-return]


async def redeem(client: httpx.AsyncClient, order_id: str, points: int, key: str
                 ) -> dict[str, Any]:
    body = await data(client, REDEEM, {"input": {"order": order_id, "points": str(points),
                                                 "idempotencyKey": key}})
    return body["redeemPoints"]  # type: ignore[no-any-return]


async def balance(gw: WritingGateway, member: str) -> int:
    return int((await gw.db["members"].find_one({"_id": member}))["points"])


async def set_balance(gw: WritingGateway, member: str, value: int) -> None:
    await gw.db["members"].update_one({"_id": member}, {"$set": {"points": value}})


async def test_points_pay_part_of_an_order_and_a_card_the_rest(gw: WritingGateway) -> None:
    member = "mem_00023"
    await set_balance(gw, member, 5000)
    placed = await order(gw.client, "part-1", member)
    total = int(placed["total"]["minorUnits"])
    paid = await redeem(gw.client, placed["id"], 1500, "part-1")
    # 1,500 points pay 15.00 CNY (one point: one fen, OMNIGW_POINT_VALUE_MINOR_UNITS)
    assert paid == {"payment": {
        "id": paid["payment"]["id"], "method": "POINTS", "points": "1500",
        "amount": {"minorUnits": "1500", "currencyCode": "CNY"}, "status": "CAPTURED",
        "fx": {"rate": "1", "baseAmount": {"minorUnits": "1500"}},
        "order": {"status": "PLACED"}}, "userErrors": []}
    assert await balance(gw, member) == 3500
    # a replay spends nothing more and answers the same payment
    assert await redeem(gw.client, placed["id"], 1500, "part-1") == paid
    assert await balance(gw, member) == 3500
    rest = await data(gw.client, PAY, {"input": {
        "order": placed["id"], "amount": str(total - 1500), "currency": "CNY",
        "method": "CARD", "idempotencyKey": "part-1"}})
    assert rest["recordPayment"]["userErrors"] == []
    seen = await data(gw.client, MEMBER, {"id": member})
    entries = [e["node"] for e in seen["member"]["pointsLedger"]["edges"]]
    redeemed = next(e for e in entries if e["reason"] == "REDEEM")
    assert redeemed == {"id": f"REDEEM:{paid['payment']['id']}", "delta": "-1500",
                        "reason": "REDEEM", "balance": "3500", "order": {"id": placed["id"]}}
    assert "EARN" in {e["reason"] for e in entries}  # the order became PAID and earned


async def test_a_balance_never_goes_below_zero_however_many_spend_at_once(
    gw: WritingGateway,
) -> None:
    # given 1,000 points and 20 orders, each paying 300 points at once
    member = "mem_00024"
    await set_balance(gw, member, 1000)
    orders = [await order(gw.client, f"race-{i}", member) for i in range(20)]
    results = await asyncio.gather(*(redeem(gw.client, o["id"], 300, f"race-{i}")
                                     for i, o in enumerate(orders)))
    # then three are paid, 100 points are left, the others are refused
    codes = [r["userErrors"][0]["code"] if r["userErrors"] else "PAID" for r in results]
    assert codes.count("PAID") == 3
    assert codes.count("INSUFFICIENT_POINTS") == 17
    assert await balance(gw, member) == 100
    assert await gw.db["payments"].count_documents({"method": "POINTS",
                                                    "points_member_id": member}) == 3
    member_doc = await gw.db["members"].find_one({"_id": member})
    assert member_doc.get("points_holds", []) == []  # every hold settled or given back
    # and ten retries of one key at once spend once
    same = await asyncio.gather(*(redeem(gw.client, orders[-1]["id"], 100, "race-same")
                                  for _ in range(10)))
    assert {r["payment"]["id"] for r in same if r["payment"]} == {same[0]["payment"]["id"]}
    assert await balance(gw, member) == 0


async def spent(gw: WritingGateway, member: str, order_id: str) -> dict[str, Any]:
    """What the member's points paid on an order: payments, balance, holds, ledger."""
    payments = await gw.db["payments"].find({"order_id": order_id}).to_list(None)
    doc = await gw.db["members"].find_one({"_id": member})
    entries = await gw.db["points_ledger"].find({"order_id": order_id}).to_list(None)
    order_doc = await gw.db["orders"].find_one({"_id": order_id})
    return {"payments": sorted((p["_id"], p["method"], p["amount"]) for p in payments),
            "points": doc["points"], "holds": doc.get("points_holds", []),
            "ledger": sorted((e["_id"], e["delta"]) for e in entries),
            "order": (order_doc["status"], order_doc["paid"])}


async def test_a_redemption_retried_after_its_ledger_entry_failed_spends_once(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given 5,000 points, and a ledger whose REDEEM entry cannot be written, once (the payment
    # stands by then)
    member = "mem_00025"
    await set_balance(gw, member, 5000)
    placed = await order(gw.client, "ledger-blip", member)
    failed = fail_once(monkeypatch, member_writes, "insert", AutoReconnect("ledger down"),
                       when=lambda db, collection, doc: doc.get("reason") == "REDEEM")
    # when 1,000 points pay part of it, the call fails (retryable), and the client retries
    first = await gql(gw.client, REDEEM, {"input": {"order": placed["id"], "points": "1000",
                                                    "idempotencyKey": "ledger-blip"}})
    assert [e["extensions"]["code"] for e in first["errors"]] == ["UNAVAILABLE"]
    assert failed == [1]
    written = await gw.db["payments"].find_one({"order_id": placed["id"]})
    again = await redeem(gw.client, placed["id"], 1000, "ledger-blip")
    # then it answers the payment the first call wrote, and the points are spent once: one
    # payment, one REDEEM entry, no hold left
    pay_id = again["payment"]["id"]
    assert (again["userErrors"], pay_id) == ([], written["_id"])
    expected = {"payments": [(pay_id, "POINTS", 1000)], "points": 4000, "holds": [],
                "ledger": [(f"REDEEM:{pay_id}", -1000)], "order": ("PLACED", 1000)}
    assert await spent(gw, member, placed["id"]) == expected
    # and a third time, nothing more
    assert await redeem(gw.client, placed["id"], 1000, "ledger-blip") == again
    assert await spent(gw, member, placed["id"]) == expected


async def test_a_redemption_that_paid_the_order_earns_its_points_when_retried(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given an order that points pay in full, and points that cannot move, once, when the
    # order earns (the payment stands and the order is PAID by then)
    member = "mem_00026"
    placed = await order(gw.client, "earn-blip", member)
    total = int(placed["total"]["minorUnits"])
    await set_balance(gw, member, total + 5000)
    failed = fail_once(monkeypatch, member_writes, "add_points_once",
                       AutoReconnect("members down"),
                       when=lambda db, **kw: kw["op"].startswith("EARN:"))
    first = await gql(gw.client, REDEEM, {"input": {"order": placed["id"], "points": str(total),
                                                    "idempotencyKey": "earn-blip"}})
    assert [e["extensions"]["code"] for e in first["errors"]] == ["UNAVAILABLE"]
    assert failed == [1]
    # when the client retries
    again = await redeem(gw.client, placed["id"], total, "earn-blip")
    # then it is the same payment, the order PAID, and it earned its points once
    pay_id = again["payment"]["id"]
    assert (again["userErrors"], again["payment"]["order"]) == ([], {"status": "PAID"})
    expected = {"payments": [(pay_id, "POINTS", total)], "points": 5000 + total // 100,
                "holds": [], "ledger": sorted([(f"REDEEM:{pay_id}", -total),
                                               (f"EARN:{placed['id']}", total // 100)]),
                "order": ("PAID", total)}
    assert await spent(gw, member, placed["id"]) == expected
    assert await redeem(gw.client, placed["id"], total, "earn-blip") == again
    assert await spent(gw, member, placed["id"]) == expected


async def test_refused_redemptions_change_nothing(gw: WritingGateway) -> None:
    member = "mem_00028"
    await set_balance(gw, member, 10**7)
    placed = await order(gw.client, "refused-1", member)
    total = int(placed["total"]["minorUnits"])
    cases = [
        ({"order": placed["id"], "points": str(total + 1)}, "OVERPAYMENT"),
        ({"order": "ord_nope", "points": "10"}, "NOT_FOUND"),
        ({"order": placed["id"], "points": "0"}, "INVALID"),
    ]
    for n, (values, code) in enumerate(cases):
        body = await data(gw.client, REDEEM, {"input": {**values,
                                                        "idempotencyKey": f"refused-{n}"}})
        assert [e["code"] for e in body["redeemPoints"]["userErrors"]] == [code], values
    assert await balance(gw, member) == 10**7
    # recordPayment and importOrders do not take points
    body = await data(gw.client, PAY, {"input": {
        "order": placed["id"], "amount": "1", "currency": "CNY", "method": "POINTS",
        "idempotencyKey": "refused-pay"}})
    assert body["recordPayment"]["userErrors"] == [{"code": "INVALID"}]
    # an anonymous order has no points to pay with
    anonymous = await data(gw.client, PLACE, {"input": {
        "channel": "ch_flagship", "idempotencyKey": "refused-anon",
        "lines": [{"sku": BOTTLE, "quantity": 1}]}})
    body = await data(gw.client, REDEEM, {"input": {
        "order": anonymous["placeOrder"]["order"]["id"], "points": "10",
        "idempotencyKey": "refused-anon"}})
    assert body["redeemPoints"]["userErrors"][0]["code"] == "INVALID"


async def test_a_cancelled_order_gives_the_points_back_once(gw: WritingGateway) -> None:
    member = "mem_00034"
    await set_balance(gw, member, 2000)
    placed = await order(gw.client, "cancel-1", member)
    total = int(placed["total"]["minorUnits"])
    first = await redeem(gw.client, placed["id"], 700, "cancel-1")
    second = await redeem(gw.client, placed["id"], 300, "cancel-2")
    assert await balance(gw, member) == 1000
    # when the order is paid in full by card and then cancelled, twice
    await data(gw.client, PAY, {"input": {
        "order": placed["id"], "amount": str(total - 1000), "currency": "CNY",
        "method": "CARD", "idempotencyKey": "cancel-1"}})
    earned = await balance(gw, member) - 1000
    for _ in range(2):
        cancelled = await data(gw.client, CANCEL, {"id": placed["id"]})
        assert cancelled["cancelOrder"] == {"order": {"status": "CANCELLED"}, "userErrors": []}
    # then the 1,000 points spent are back, and what the order earned is taken back
    assert earned == total // 100
    assert await balance(gw, member) == 2000
    refunded = await gw.db["payments"].find(
        {"_id": {"$in": [first["payment"]["id"], second["payment"]["id"]]}}).to_list(None)
    assert sorted((p["status"], p["refunded"]) for p in refunded) == [
        ("REFUNDED", 300), ("REFUNDED", 700)]
    reasons = await gw.db["points_ledger"].find({"order_id": placed["id"]}).to_list(None)
    assert sorted((e["reason"], e["delta"]) for e in reasons) == sorted([
        ("REDEEM", -700), ("REDEEM", -300), ("EARN", earned), ("REVERSE", -earned),
        ("RESTORE", 700), ("RESTORE", 300)])
    # the refund path again, even from several callers at once, gives nothing more
    again = await asyncio.gather(*(refunds.refund_value(
        db=gw.db, loaders=Loaders(gw.db), settings=gw.gateway.settings,
        order_id=placed["id"], amount=total, op_id=f"cancel:{placed['id']}", by="test",
        reason="again") for _ in range(5)))
    assert [len(made) for made in again] == [3] * 5  # the same three refunds, found done
    assert await balance(gw, member) == 2000
    assert await gw.db["points_ledger"].count_documents({"order_id": placed["id"]}) == 6


async def test_refunds_of_a_points_payment_give_back_its_share_of_the_points(
    gw: WritingGateway,
) -> None:
    # given 500 points paying 3.09 MYR of an order (see the next test for the rate)
    member = "mem_00039"
    await set_balance(gw, member, 500)
    placed = await order(gw.client, "share-1", member, channel="ch_my_market")
    paid = (await redeem(gw.client, placed["id"], 500, "share-1"))["payment"]
    assert (paid["amount"]["minorUnits"], await balance(gw, member)) == ("309", 0)
    # when 1.00 MYR of it is refunded (and the request replayed)
    for _ in range(2):
        body = await data(gw.client, REFUND, refund_input(paid["id"], "share-1", amount="100"))
        assert body["refundPayment"]["userErrors"] == []
    # then the points of that share come back, rounded down: 500 x 100 / 309
    assert await balance(gw, member) == 161
    # and ten refunds of 1.00 MYR at once: two fit in the 2.09 MYR left, then the rest
    tries = await asyncio.gather(*(data(gw.client, REFUND, refund_input(
        paid["id"], f"share-race-{i}", amount="100")) for i in range(10)))
    codes = sorted(e["code"] for t in tries for e in t["refundPayment"]["userErrors"])
    assert codes == ["OVERREFUND"] * 8
    assert await balance(gw, member) == 500 * 300 // 309
    rest = await data(gw.client, REFUND, refund_input(paid["id"], "share-rest"))
    assert rest["refundPayment"]["payment"]["status"] == "REFUNDED"
    # all of it refunded: all 500 points back, in four entries
    assert await balance(gw, member) == 500
    entries = await gw.db["points_ledger"].find({"order_id": placed["id"],
                                                 "reason": "RESTORE"}).to_list(None)
    assert sorted(e["delta"] for e in entries) == sorted([161, 500 * 200 // 309 - 161,
                                                          485 - 500 * 200 // 309, 15])


async def test_a_return_refunds_the_points_payment_first_and_its_points_come_back(
    gw: WritingGateway,
) -> None:
    # given an order of two bottles paid by points first, then by card, shipped
    member = "mem_00045"
    await set_balance(gw, member, 10**6)
    placed = await order(gw.client, "return-1", member)
    total = int(placed["total"]["minorUnits"])
    half = total // 2
    await redeem(gw.client, placed["id"], half, "return-1")
    await data(gw.client, PAY, {"input": {
        "order": placed["id"], "amount": str(total - half), "currency": "CNY",
        "method": "CARD", "idempotencyKey": "return-1"}})
    shipped = await data(gw.client, SHIP, {"input": {
        "order": placed["id"], "location": "loc_wh_hangzhou", "carrier": "YTO",
        "trackingNumber": "return-1", "idempotencyKey": "return-1"}})
    assert shipped["shipOrder"]["userErrors"] == []
    before = await balance(gw, member)
    # when one bottle comes back
    returned = await data(gw.client, RETURN, {"input": {
        "order": placed["id"], "location": "loc_wh_hangzhou", "reason": "changed mind",
        "lines": [{"sku": BOTTLE, "quantity": 1}], "idempotencyKey": "return-1"}})
    assert returned["returnOrder"]["userErrors"] == []
    # then its value is refunded from the oldest payment, the points one, and those points
    # come back (less what the refunded value had earned)
    value = total // 2
    earned_back = (total // 100) - ((total - value) // 100)
    assert await balance(gw, member) == before + value - earned_back


async def test_points_pay_an_order_in_another_currency_at_its_rate_rounded_down(
    gw: WritingGateway,
) -> None:
    member = "mem_00036"
    await set_balance(gw, member, 1000)
    placed = await order(gw.client, "myr-1", member, channel="ch_my_market")
    paid = await redeem(gw.client, placed["id"], 500, "myr-1")
    # 5.00 CNY at 1.6180 CNY per MYR: 3.0902 MYR, paid as 3.09; worth 5.00 CNY at that rate
    assert paid["payment"]["amount"] == {"minorUnits": "309", "currencyCode": "MYR"}
    assert paid["payment"]["fx"] == {"rate": "1.6180", "baseAmount": {"minorUnits": "500"}}
    assert await balance(gw, member) == 500


async def test_partners_spend_points_in_their_channels_only(gw: WritingGateway) -> None:
    member = "mem_00037"
    await set_balance(gw, member, 1000)
    ours = await order(gw.client, "partner-us", member, channel="ch_us_market")
    theirs = await order(gw.client, "partner-fs", member)
    partner = gw.gateway.client(await gw.gateway.key("points-partner", "partner",
                                                     ("ch_us_market",)))
    async with partner:
        mine = await redeem(partner, ours["id"], 100, "partner-1")
        other = await redeem(partner, theirs["id"], 100, "partner-2")
    assert mine["userErrors"] == [] and mine["payment"]["method"] == "POINTS"
    assert [e["code"] for e in other["userErrors"]] == ["NOT_FOUND"]
    assert await balance(gw, member) == 900


async def test_redeem_points_sends_a_known_number_of_commands(gw: WritingGateway) -> None:
    member = "mem_00038"
    await set_balance(gw, member, 1000)
    placed = await order(gw.client, "commands-1", member)
    body = await gql(gw.client, """mutation($input: RedeemPointsInput!) {
      redeemPoints(input: $input) { payment { id } userErrors { code } } }""",
                     {"input": {"order": placed["id"], "points": "100",
                                "idempotencyKey": "commands-1"}})
    # claim; the order; the member; the hold; paid += amount; the claim committed (before the
    # payment, so a request taken over writes none); the payment; the ledger entry; the hold
    # settled; the key DONE (the payload is served from the loader's cache)
    assert body["extensions"]["db"] == {"commands": 10, "byCollection": {
        "idempotency": 3, "members": 3, "orders": 2, "payments": 1, "points_ledger": 1}}
    # and refunding that payment in full gives the 100 points back: the refund path's
    # commands (those of any refund of an order not yet paid in full), and three for the
    # points: the payer read (a merged member's survivor), the credit, the RESTORE entry
    payment = (await gw.db["payments"].find_one({"order_id": placed["id"],
                                                 "method": "POINTS"}))["_id"]
    body = await gql(gw.client, REFUND, refund_input(payment, "commands-1"))
    assert body["data"]["refundPayment"]["userErrors"] == []
    assert await balance(gw, member) == 1000
    assert body["extensions"]["db"] == {"commands": 16, "byCollection": {
        "idempotency": 2, "member_rollups": 1, "members": 2, "order_events": 1, "orders": 3,
        "payments": 4, "points_ledger": 1, "refunds": 2}}
