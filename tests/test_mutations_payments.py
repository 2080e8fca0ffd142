"""recordPayment on both stores: never above the total, currency checks, FX snapshots, the
order becoming PAID once and earning points once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import ValidationError
from pymongo.errors import AutoReconnect

from gateway.commerce import loyalty
from gateway.database.writes import members as member_writes
from gateway.loaders import Loaders
from gateway.settings import Settings
from tests.support import WritingGateway, data, fresh_gateway, gql
from tests.support.blips import fail_once
from tests.support.orders import REFUND, refund_input

PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id total { minorUnits } } userErrors { code } } }"""
PAY = """mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
  payment { id method status amount { minorUnits currencyCode } order { id status } }
  userErrors { field code message } } }"""
CANCEL = """mutation($id: ID!) { cancelOrder(order: $id) {
  order { status } userErrors { code } } }"""
MEMBER = """query($id: ID!) { member(id: $id) { points tier
  pointsLedger(first: 10) { edges { node { delta reason balance order { id } } } } } }"""


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "payments"):
        yield gateway


async def place(gw: WritingGateway, key: str, member: str = "mem_00007",
                channel: str = "ch_flagship") -> tuple[str, int]:
    result = await data(gw.client, PLACE, {"input": {
        "channel": channel, "member": member,
        "lines": [{"sku": "sku_baby_diapers_m_60", "quantity": 2}], "idempotencyKey": key}})
    order = result["placeOrder"]["order"]
    return order["id"], int(order["total"]["minorUnits"])


def pay(order: str, amount: int, key: str, currency: str = "CNY") -> dict[str, Any]:
    return {"input": {"order": order, "amount": str(amount), "currency": currency,
                      "method": "CARD", "idempotencyKey": key}}


async def test_two_payments_complete_the_order_and_earn_points_once(gw: WritingGateway) -> None:
    # given a placed order and the member's balance
    order_id, total = await place(gw, "p-1")
    before = (await data(gw.client, MEMBER, {"id": "mem_00007"}))["member"]
    # when it is paid in two parts
    first = await data(gw.client, PAY, pay(order_id, total - 1000, "pay-1a"))
    second = await data(gw.client, PAY, pay(order_id, 1000, "pay-1b"))
    # then the first leaves it PLACED, the second makes it PAID
    assert first["recordPayment"]["payment"]["order"] == {"id": order_id, "status": "PLACED"}
    assert second["recordPayment"]["payment"]["order"] == {"id": order_id, "status": "PAID"}
    assert second["recordPayment"]["payment"]["amount"] == {"minorUnits": "1000",
                                                            "currencyCode": "CNY"}
    doc = await gw.db["orders"].find_one({"_id": order_id})
    assert (doc["paid"], doc["status"]) == (total, "PAID")
    payments = await gw.db["payments"].find({"order_id": order_id}).to_list(None)
    assert sorted((p["amount"], p["fx_rate"], p["amount_base"]) for p in payments) == [
        (1000, "1", 1000), (total - 1000, "1", total - 1000)]
    # and the member earned floor(total_base / 100) points, once, in the ledger
    after = (await data(gw.client, MEMBER, {"id": "mem_00007"}))["member"]
    assert int(after["points"]) == int(before["points"]) + total // 100
    assert after["pointsLedger"]["edges"][0]["node"] == {
        "delta": str(total // 100), "reason": "EARN", "balance": after["points"],
        "order": {"id": order_id}}


async def test_payments_never_exceed_the_total(gw: WritingGateway) -> None:
    order_id, total = await place(gw, "p-2")
    await data(gw.client, PAY, pay(order_id, total - 500, "pay-2a"))
    over = await data(gw.client, PAY, pay(order_id, 501, "pay-2b"))
    assert over["recordPayment"] == {"payment": None, "userErrors": [{
        "field": "amount", "code": "OVERPAYMENT",
        "message": f"Only 500 minor units of order {order_id} are unpaid."}]}
    doc = await gw.db["orders"].find_one({"_id": order_id})
    assert (doc["paid"], doc["status"]) == (total - 500, "PLACED")
    assert await gw.db["payments"].count_documents({"order_id": order_id}) == 1


async def test_concurrent_payments_stop_at_the_total(gw: WritingGateway) -> None:
    # given an order; when 20 payments of a tenth of its total race
    order_id, total = await place(gw, "p-3")
    assert total % 10 == 0
    results = await asyncio.gather(*(data(gw.client, PAY, pay(order_id, total // 10, f"c-{i}"))
                                     for i in range(20)))
    # then exactly 10 are recorded and the order is paid exactly
    codes = sorted(r["recordPayment"]["userErrors"][0]["code"] if r["recordPayment"]["userErrors"]
                   else "OK" for r in results)
    assert codes == ["OK"] * 10 + ["OVERPAYMENT"] * 10
    doc = await gw.db["orders"].find_one({"_id": order_id})
    assert (doc["paid"], doc["status"]) == (total, "PAID")
    assert await gw.db["points_ledger"].count_documents({"order_id": order_id}) == 1


async def test_currency_must_match_and_order_must_exist(gw: WritingGateway) -> None:
    order_id, _ = await place(gw, "p-4")
    wrong = await data(gw.client, PAY, pay(order_id, 100, "pay-4a", currency="USD"))
    unknown = await data(gw.client, PAY, pay("ord_missing", 100, "pay-4b"))
    assert wrong["recordPayment"]["userErrors"] == [{
        "field": "currency", "code": "CURRENCY_MISMATCH",
        "message": f"Order {order_id} is in CNY."}]
    assert unknown["recordPayment"]["userErrors"] == [{
        "field": "order", "code": "NOT_FOUND", "message": "Unknown order ord_missing."}]


async def test_overseas_payment_has_its_fx_snapshot(gw: WritingGateway) -> None:
    order_id, total = await place(gw, "p-5", channel="ch_us_market")
    result = await data(gw.client, PAY, pay(order_id, total, "pay-5", currency="USD"))
    assert result["recordPayment"]["payment"]["order"]["status"] == "PAID"
    doc = await gw.db["payments"].find_one({"order_id": order_id})
    assert (doc["fx_rate"], doc["amount_base"]) == ("7.1240", round(total * 7.124))


async def test_cancelling_a_paid_order_takes_the_points_back(gw: WritingGateway) -> None:
    order_id, total = await place(gw, "p-6")
    await data(gw.client, PAY, pay(order_id, total, "pay-6"))
    paid = (await data(gw.client, MEMBER, {"id": "mem_00007"}))["member"]["points"]
    cancelled = await data(gw.client, CANCEL, {"id": order_id})
    assert cancelled["cancelOrder"] == {"order": {"status": "CANCELLED"}, "userErrors": []}
    after = (await data(gw.client, MEMBER, {"id": "mem_00007"}))["member"]
    assert int(after["points"]) == int(paid) - total // 100
    assert after["pointsLedger"]["edges"][0]["node"]["reason"] == "REVERSE"


async def test_a_refund_retried_after_its_ledger_entry_failed_takes_the_points_back_once(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a paid order (its member earned total // 100 points)
    order_id, total = await place(gw, "p-8")
    paid = await data(gw.client, PAY, pay(order_id, total, "pay-8"))
    payment_id = paid["recordPayment"]["payment"]["id"]
    member = await gw.db["members"].find_one({"_id": "mem_00007"})
    entries = await gw.db["points_ledger"].find({"member_id": "mem_00007"}).to_list(None)
    booked = sum(e["delta"] for e in entries)
    # and a ledger whose next REFUND entry cannot be written, once (the points moved first)
    insert, failed = member_writes.insert, []

    async def blip(db: Any, collection: str, doc: dict[str, Any]) -> None:
        if doc.get("reason") == "REFUND" and not failed:
            failed.append(doc["_id"])
            raise AutoReconnect("ledger down")
        await insert(db, collection, doc)

    monkeypatch.setattr(member_writes, "insert", blip)
    # when half of it is refunded, the call fails (retryable), and the client retries it
    refund = refund_input(payment_id, "refund-8", amount=str(total // 2))
    first = await gql(gw.client, REFUND, refund)
    assert [e["extensions"]["code"] for e in first["errors"]] == ["UNAVAILABLE"]
    again = await data(gw.client, REFUND, refund)
    assert again["refundPayment"]["userErrors"] == []
    # then the points the refunded half earned are taken back once, in one REFUND entry, and
    # the ledger agrees with the balance
    taken = total // 100 - (total - total // 2) // 100
    after = await gw.db["members"].find_one({"_id": "mem_00007"})
    assert after["points"] == member["points"] - taken
    entries = await gw.db["points_ledger"].find({"member_id": "mem_00007"}).to_list(None)
    assert [e["delta"] for e in entries if e["order_id"] == order_id] == [
        total // 100, -taken]
    assert sum(e["delta"] for e in entries) == booked - taken
    assert failed != []


async def test_a_payment_retried_after_its_points_failed_earns_them_once(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a placed order, and points that cannot move, once, when it earns (the payment
    # stands and the order is PAID by then)
    order_id, total = await place(gw, "p-10", member="mem_00010")
    points = (await gw.db["members"].find_one({"_id": "mem_00010"}))["points"]
    failed = fail_once(monkeypatch, member_writes, "add_points_once",
                       AutoReconnect("members down"))
    # when it is paid in full, the call fails (retryable), and the client retries it
    first = await gql(gw.client, PAY, pay(order_id, total, "pay-10"))
    assert [e["extensions"]["code"] for e in first["errors"]] == ["UNAVAILABLE"]
    assert failed == [1]
    written = await gw.db["payments"].find({"order_id": order_id}).to_list(None)
    for _ in range(2):
        again = await data(gw.client, PAY, pay(order_id, total, "pay-10"))
        # then it answers the payment the first call wrote, the order PAID, and the member
        # earned its points once
        assert again["recordPayment"]["userErrors"] == []
        assert [again["recordPayment"]["payment"]["id"]] == [p["_id"] for p in written]
        assert again["recordPayment"]["payment"]["order"] == {"id": order_id, "status": "PAID"}
        member = await gw.db["members"].find_one({"_id": "mem_00010"})
        entries = await gw.db["points_ledger"].find({"order_id": order_id}).to_list(None)
        assert member["points"] == points + total // 100
        assert [(e["reason"], e["delta"]) for e in entries] == [("EARN", total // 100)]
    assert await gw.db["payments"].count_documents({"order_id": order_id}) == 1


async def test_earning_an_order_again_moves_no_points(gw: WritingGateway) -> None:
    # given a paid order that earned its points, once, in one EARN entry
    order_id, total = await place(gw, "p-9")
    await data(gw.client, PAY, pay(order_id, total, "pay-9"))
    order = await gw.db["orders"].find_one({"_id": order_id})
    points = (await gw.db["members"].find_one({"_id": "mem_00007"}))["points"]
    op, earned = f"EARN:{order_id}", total // 100

    async def earn_again() -> tuple[int, list[tuple[int, int | None]]]:
        await loyalty.earn(gw.db, loaders=Loaders(gw.db), settings=gw.gateway.settings,
                           order=order)
        member = await gw.db["members"].find_one({"_id": "mem_00007"})
        entries = await gw.db["points_ledger"].find({"order_id": order_id}).to_list(None)
        return member["points"], [(e["delta"], e["balance"]) for e in entries]

    # when it earns again (as a retry does): nothing moves
    assert await earn_again() == (points, [(earned, points)])
    # nor when the member does not remember the operation (an order earned before members
    # kept their operations, or one that fell off the list): its entry stands, so the
    # second increment is undone
    await gw.db["members"].update_one({"_id": "mem_00007"}, {"$pull": {"points_ops": op}})
    assert await earn_again() == (points, [(earned, points)])
    # and when a retry that found the points moved wrote the entry, without a balance, while
    # the call that moves them was still going, that call fills the balance in
    await gw.db["members"].update_one({"_id": "mem_00007"}, {
        "$pull": {"points_ops": op}, "$inc": {"points": -earned}})
    await gw.db["points_ledger"].update_one({"_id": op}, {"$set": {"balance": None}})
    assert await earn_again() == (points, [(earned, points)])
    assert await earn_again() == (points, [(earned, points)])


async def test_tier_follows_lifetime_spend_in_the_base_currency(gw: WritingGateway) -> None:
    # given a BRONZE member with 1,130.10 CNY of lifetime spend (SILVER starts at 1,500.00)
    member = "mem_00016"
    assert (await data(gw.client, MEMBER, {"id": member}))["member"]["tier"] == "BRONZE"
    # when two orders of 2 x 118.90 are placed and paid
    placed = [await place(gw, f"tier-{i}", member=member) for i in (1, 2)]
    for (order_id, total), i in zip(placed, (1, 2), strict=True):
        assert total == 2 * 11890
        await data(gw.client, PAY, pay(order_id, total, f"pay-tier-{i}"))
    # then 1,130.10 + 2 x 237.80 = 1,605.70 makes SILVER
    assert (await data(gw.client, MEMBER, {"id": member}))["member"]["tier"] == "SILVER"
    # and cancelling one paid order (1,367.90 left) brings the member back to BRONZE
    await data(gw.client, CANCEL, {"id": placed[1][0]})
    assert (await data(gw.client, MEMBER, {"id": member}))["member"]["tier"] == "BRONZE"


@pytest.mark.parametrize("thresholds", [
    {"SILVER": 5, "GOLD": 4, "PLATINUM": 9}, {"SILVER": 1, "GOLD": 2}])
def test_tier_thresholds_must_name_three_increasing_tiers(thresholds: dict[str, int]) -> None:
    with pytest.raises(ValidationError, match="tier_thresholds"):
        Settings(tier_thresholds=thresholds)


async def order_points(gw: WritingGateway, member: str, order_id: str
                       ) -> tuple[int, list[tuple[str, int]]]:
    """The member's balance, and the ledger entries of the order (reason, delta)."""
    doc = await gw.db["members"].find_one({"_id": member})
    entries = await gw.db["points_ledger"].find({"order_id": order_id}).to_list(None)
    return doc["points"], sorted((e["reason"], e["delta"]) for e in entries)


async def test_a_cancel_retried_after_its_points_failed_takes_them_back_once(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a paid order that earned its points, and points that cannot move, once, when the
    # cancel takes them back (the order is CANCELLED by then)
    order_id, total = await place(gw, "p-11", member="mem_00011")
    points = (await gw.db["members"].find_one({"_id": "mem_00011"}))["points"]
    await data(gw.client, PAY, pay(order_id, total, "pay-11"))
    failed = fail_once(monkeypatch, member_writes, "add_points_once",
                       AutoReconnect("members down"),
                       when=lambda db, **kw: kw["op"].startswith("REVERSE:"))
    # when it is cancelled, the call fails (retryable), and the client retries it
    first = await gql(gw.client, CANCEL, {"id": order_id})
    assert [e["extensions"]["code"] for e in first["errors"]] == ["UNAVAILABLE"]
    assert failed == [1]
    assert (await gw.db["orders"].find_one({"_id": order_id}))["status"] == "CANCELLED"
    for _ in range(2):
        again = await data(gw.client, CANCEL, {"id": order_id})
        # then the order is cancelled and the points it earned are taken back, once
        assert again["cancelOrder"] == {"order": {"status": "CANCELLED"}, "userErrors": []}
        assert await order_points(gw, "mem_00011", order_id) == (
            points, [("EARN", total // 100), ("REVERSE", -(total // 100))])
    payment = await gw.db["payments"].find_one({"order_id": order_id})
    assert (payment["status"], payment["refunded"]) == ("REFUNDED", total)


async def test_an_order_that_never_earned_gives_no_points_back(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given an order paid in full whose points could not move (its earn failed and the
    # payment was never retried): PAID, without an EARN entry
    order_id, total = await place(gw, "p-12", member="mem_00015")
    points = (await gw.db["members"].find_one({"_id": "mem_00015"}))["points"]
    failed = fail_once(monkeypatch, member_writes, "add_points_once",
                       AutoReconnect("members down"),
                       when=lambda db, **kw: kw["op"].startswith("EARN:"))
    first = await gql(gw.client, PAY, pay(order_id, total, "pay-12"))
    assert [e["extensions"]["code"] for e in first["errors"]] == ["UNAVAILABLE"]
    assert failed == [1]
    assert (await gw.db["orders"].find_one({"_id": order_id}))["status"] == "PAID"
    payment = await gw.db["payments"].find_one({"order_id": order_id})
    # when half of it is refunded, and then it is cancelled
    half = await data(gw.client, REFUND, refund_input(payment["_id"], "r-12",
                                                      amount=str(total // 2)))
    assert half["refundPayment"]["userErrors"] == []
    cancelled = await data(gw.client, CANCEL, {"id": order_id})
    assert cancelled["cancelOrder"] == {"order": {"status": "CANCELLED"}, "userErrors": []}
    # then no points were taken back: the member never had them
    assert await order_points(gw, "mem_00015", order_id) == (points, [])
