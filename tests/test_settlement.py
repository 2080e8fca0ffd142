"""Payments on both stores: authorise, capture, void and refund, each once under concurrency;
refunds never above what was captured; cancelling a paid order refunds it; a partner cannot
touch another channel's payment; a retried recordPayment counts once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pymongo.errors import AutoReconnect

from gateway.clock import now
from gateway.commerce.idempotency import fingerprint
from gateway.database import rollups
from gateway.database.scope import ADMIN
from gateway.database.writes import members as member_writes
from gateway.database.writes import orders as order_writes
from tests.support import PARTNER_B, WritingGateway, data, fresh_gateway, gql
from tests.support.blips import fail_once
from tests.support.orders import (
    AUTHORIZE,
    CANCEL,
    CAPTURE,
    PAY,
    REFUND,
    VOID,
    pay,
    place,
    refund_input,
)

TEA = "sku_baby_diapers_m_60"
MEMBER = """query($id: ID!) { member(id: $id) { points tier lifetimeValue { minorUnits }
  channelSummaries { channel { id } spend { minorUnits } } } }"""


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "settlement"):
        yield gateway


def hold(order: str, amount: int, key: str) -> dict[str, object]:
    return {"input": {"order": order, "amount": str(amount), "currency": "CNY",
                      "method": "ALIPAY", "idempotencyKey": key}}


async def test_authorise_then_capture_makes_the_order_paid(gw: WritingGateway) -> None:
    order_id, total = await place(gw, "s-1", channel="ch_flagship", member="mem_00030",
                                  lines=[(TEA, 2)])
    # held money counts against the total: a payment of the rest is refused
    held = await data(gw.client, AUTHORIZE, hold(order_id, total, "s-1-a"))
    payment = held["authorizePayment"]["payment"]
    assert (payment["status"], payment["order"]) == ("AUTHORIZED", {
        "status": "PLACED", "paid": {"minorUnits": "0"}, "authorized": {"minorUnits": str(total)}})
    over = await data(gw.client, PAY, {"input": {"order": order_id, "amount": "1",
                                                 "currency": "CNY", "method": "CASH",
                                                 "idempotencyKey": "s-1-over"}})
    assert over["recordPayment"]["userErrors"][0]["code"] == "OVERPAYMENT"
    # 30 concurrent captures with 30 keys: one capture, the order PAID once
    results = await asyncio.gather(*(data(gw.client, CAPTURE, {"p": payment["id"],
                                                               "k": f"s-1-c{i}"})
                                     for i in range(30)))
    captured = {r["capturePayment"]["payment"]["status"] for r in results}
    assert captured == {"CAPTURED"}
    assert results[0]["capturePayment"]["payment"]["order"] == {
        "status": "PAID", "paid": {"minorUnits": str(total)}, "authorized": {"minorUnits": "0"}}
    events = await gw.db["order_events"].count_documents({"order_id": order_id,
                                                          "kind": "CAPTURED"})
    ledger = await gw.db["points_ledger"].count_documents({"_id": f"EARN:{order_id}"})
    assert (events, ledger) == (1, 1)
    # a captured payment cannot be voided
    void = await data(gw.client, VOID, {"p": payment["id"], "k": "s-1-v"})
    assert void["voidPayment"]["userErrors"][0]["code"] == "CONFLICT"


async def test_void_releases_the_hold(gw: WritingGateway) -> None:
    order_id, total = await place(gw, "s-2", channel="ch_flagship", member="mem_00030",
                                  lines=[(TEA, 1)])
    payment = (await data(gw.client, AUTHORIZE, hold(order_id, total, "s-2-a"))
               )["authorizePayment"]["payment"]
    results = await asyncio.gather(*(data(gw.client, VOID, {"p": payment["id"], "k": f"v{i}"})
                                     for i in range(10)))
    assert {r["voidPayment"]["payment"]["status"] for r in results} == {"VOIDED"}
    assert results[0]["voidPayment"]["payment"]["order"] == {
        "status": "PLACED", "authorized": {"minorUnits": "0"}}
    # the total can be paid again, and a voided payment is not captured
    await pay(gw, order_id, total, "s-2-pay")
    capture = await data(gw.client, CAPTURE, {"p": payment["id"], "k": "s-2-c"})
    assert capture["capturePayment"]["userErrors"][0]["code"] == "CONFLICT"


async def test_partial_refunds_by_amount_and_by_lines(gw: WritingGateway) -> None:
    order_id, total = await place(gw, "s-3", channel="ch_flagship", member="mem_00031",
                                  lines=[(TEA, 3)])
    payment_id = await pay(gw, order_id, total, "s-3-pay")
    unit = total // 3
    by_amount = await data(gw.client, REFUND, refund_input(payment_id, "s-3-r1", amount="100"))
    assert by_amount["refundPayment"]["payment"] == {
        "status": "PARTIALLY_REFUNDED", "refunded": {"minorUnits": "100"},
        "refundable": {"minorUnits": str(total - 100)}}
    by_lines = await data(gw.client, REFUND, refund_input(
        payment_id, "s-3-r2", lines=[{"sku": TEA, "quantity": 1}]))
    assert by_lines["refundPayment"]["refund"]["amount"] == {"minorUnits": str(unit)}
    assert by_lines["refundPayment"]["refund"]["lines"] == [{"sku": TEA, "quantity": 1}]
    # the rest (no amount, no lines), then nothing is left
    rest = await data(gw.client, REFUND, refund_input(payment_id, "s-3-r3"))
    assert rest["refundPayment"]["payment"] == {
        "status": "REFUNDED", "refunded": {"minorUnits": str(total)},
        "refundable": {"minorUnits": "0"}}
    more = await data(gw.client, REFUND, refund_input(payment_id, "s-3-r4", amount="1"))
    assert more["refundPayment"]["userErrors"] == [{
        "field": "payment", "code": "CONFLICT", "message": f"Payment {payment_id} is REFUNDED: "
        "only a captured payment can be refunded."}]
    # the order counts nothing any more in the base currency
    order = await gw.db["orders"].find_one({"_id": order_id})
    assert (order["refunded"], order["refunded_base"]) == (total, order["total_base"])


async def test_100_concurrent_refunds_never_exceed_what_was_captured(gw: WritingGateway) -> None:
    # given a payment of the whole total
    order_id, total = await place(gw, "s-4", channel="ch_flagship", member="mem_00032",
                                  lines=[(TEA, 2)])
    payment_id = await pay(gw, order_id, total, "s-4-pay")
    part = total // 7 + 1  # 6 fit, the 7th would pass the total
    # when 100 refunds of `part` race, each with its own key
    results = await asyncio.gather(*(
        data(gw.client, REFUND, refund_input(payment_id, f"s-4-{i}", amount=str(part)))
        for i in range(100)))
    made = [r for r in results if r["refundPayment"]["refund"] is not None]
    refused = {e["code"] for r in results for e in r["refundPayment"]["userErrors"]}
    # then exactly as many as fit went through, and the rest were refused
    assert len(made) == total // part
    assert refused == {"OVERREFUND"}
    payment = await gw.db["payments"].find_one({"_id": payment_id})
    refunds = await gw.db["refunds"].find({"payment_id": payment_id}).to_list(None)
    assert payment["refunded"] == sum(r["amount"] for r in refunds) == len(made) * part <= total
    order = await gw.db["orders"].find_one({"_id": order_id})
    assert order["refunded"] == payment["refunded"]
    print(f"100 concurrent refunds of {part} on a payment of {total}: {len(made)} made, "
          f"{100 - len(made)} refused, {payment['refunded']} refunded")


async def test_100_concurrent_replays_of_one_refund_refund_once(gw: WritingGateway) -> None:
    order_id, total = await place(gw, "s-5", channel="ch_flagship", member="mem_00032",
                                  lines=[(TEA, 1)])
    payment_id = await pay(gw, order_id, total, "s-5-pay")
    results = await asyncio.gather(*(
        gql(gw.client, REFUND, refund_input(payment_id, "s-5-same", amount="100"))
        for _ in range(100)))
    refunds = {r["data"]["refundPayment"]["refund"]["id"] for r in results
               if r["data"]["refundPayment"]["refund"]}
    assert len(refunds) == 1
    assert (await gw.db["payments"].find_one({"_id": payment_id}))["refunded"] == 100


async def test_refunds_take_points_tier_and_lifetime_value_back(gw: WritingGateway) -> None:
    member = "mem_00033"
    before = (await data(gw.client, MEMBER, {"id": member}))["member"]
    order_id, total = await place(gw, "s-6", channel="ch_flagship", member=member,
                                  lines=[(TEA, 3)])
    payment_id = await pay(gw, order_id, total, "s-6-pay")
    paid = (await data(gw.client, MEMBER, {"id": member}))["member"]
    assert int(paid["lifetimeValue"]["minorUnits"]) == int(
        before["lifetimeValue"]["minorUnits"]) + total
    # two partial refunds, then the rest: points come back exactly
    for key, amount in (("s-6-a", 150), ("s-6-b", 999)):
        await data(gw.client, REFUND, refund_input(payment_id, key, amount=str(amount)))
    await data(gw.client, REFUND, refund_input(payment_id, "s-6-c"))
    after = (await data(gw.client, MEMBER, {"id": member}))["member"]
    assert (after["points"], after["tier"], after["lifetimeValue"]) == (
        before["points"], before["tier"], before["lifetimeValue"])
    assert after["channelSummaries"] == before["channelSummaries"]
    reasons = await gw.db["points_ledger"].find({"order_id": order_id}).to_list(None)
    assert sorted(e["reason"] for e in reasons) == ["EARN", "REFUND", "REFUND", "REFUND"]
    assert sum(e["delta"] for e in reasons) == 0


async def test_cancelling_a_paid_order_refunds_it(gw: WritingGateway) -> None:
    order_id, total = await place(gw, "s-7", channel="ch_flagship", member="mem_00034",
                                  lines=[(TEA, 2)])
    await pay(gw, order_id, 500, "s-7-p1")
    await pay(gw, order_id, total - 500, "s-7-p2")
    cancelled = await data(gw.client, CANCEL, {"id": order_id})
    again = await data(gw.client, CANCEL, {"id": order_id})
    assert cancelled == again
    assert cancelled["cancelOrder"]["order"] == {
        "status": "CANCELLED", "refunded": {"minorUnits": str(total)},
        "payments": [{"status": "REFUNDED", "refunded": {"minorUnits": "500"}},
                     {"status": "REFUNDED", "refunded": {"minorUnits": str(total - 500)}}]}
    assert await gw.db["refunds"].count_documents({"order_id": order_id}) == 2
    assert await gw.db["points_ledger"].count_documents({"order_id": order_id}) == 2


async def test_rollups_count_refunds_once_whatever_races_a_cancel(gw: WritingGateway) -> None:
    # given a paid order, partly refunded
    member = "mem_00038"
    order_id, total = await place(gw, "s-11", channel="ch_flagship", member=member,
                                  lines=[(TEA, 3)])
    payment_id = await pay(gw, order_id, total, "s-11-pay")
    await data(gw.client, REFUND, refund_input(payment_id, "s-11-r0", amount="100"))
    assert await rollups.differences(gw.db) == []
    # when refunds race its cancellation
    await asyncio.gather(
        data(gw.client, CANCEL, {"id": order_id}),
        *(gql(gw.client, REFUND, refund_input(payment_id, f"s-11-r{i}", amount="100"))
          for i in range(1, 10)))
    # then everything was refunded once, and the member's rollups are what the orders say
    order = await gw.db["orders"].find_one({"_id": order_id})
    assert (order["status"], order["refunded"]) == ("CANCELLED", total)
    assert await rollups.differences(gw.db) == []


async def test_a_partner_cannot_refund_another_channels_payment(gw: WritingGateway) -> None:
    # given a flagship payment, and a partner of freshmart and the Thai market
    order_id, total = await place(gw, "s-8", channel="ch_flagship", member="mem_00035",
                                  lines=[(TEA, 1)])
    payment_id = await pay(gw, order_id, total, "s-8-pay")
    key = await gw.gateway.key("settlement-partner", "partner", PARTNER_B)
    async with gw.gateway.client(key) as partner:
        refund = await data(partner, REFUND, refund_input(payment_id, "s-8-r", amount="1"))
        capture = await data(partner, CAPTURE, {"p": payment_id, "k": "s-8-c"})
        listed = await data(partner, """{ payments(first: 100, filter: {channels:
          ["ch_flagship"]}) { edges { node { id } } } }""")
    # then it is refused as if the payment did not exist, and nothing changed
    assert refund["refundPayment"] == {"refund": None, "payment": None, "userErrors": [{
        "field": "payment", "code": "NOT_FOUND", "message": f"Unknown payment {payment_id}."}]}
    assert capture["capturePayment"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert listed["payments"]["edges"] == []
    assert (await gw.db["payments"].find_one({"_id": payment_id})).get("refunded") is None


async def test_a_retried_payment_is_counted_once(gw: WritingGateway) -> None:
    # given a request that raised the order's paid counter and died before inserting the
    # payment: its claim is PENDING with an expired lease
    order_id, total = await place(gw, "s-9", channel="ch_flagship", member="mem_00036",
                                  lines=[(TEA, 1)])
    payment_id = "pay_died0000000000000000000"
    await order_writes.add_paid(gw.db, scope=ADMIN, order_id=order_id, payment_id=payment_id,
                                amount=total, currency="CNY")
    request = [order_id, total, "CNY", "CARD"]
    at = now() - timedelta(minutes=5)
    await gw.db["idempotency"].insert_one({
        "_id": "admin:recordPayment:s-9-pay", "fingerprint": fingerprint(request),
        "status": "PENDING", "result_id": payment_id, "token": "dead", "created_at": at,
        "claimed_at": at, "lease_until": at})
    # when the client retries with the same key
    result = await data(gw.client, PAY, {"input": {
        "order": order_id, "amount": str(total), "currency": "CNY", "method": "CARD",
        "idempotencyKey": "s-9-pay"}})
    # then the retry completes the payment without counting it a second time
    assert result["recordPayment"]["payment"] == {"id": payment_id, "status": "CAPTURED"}
    order = await gw.db["orders"].find_one({"_id": order_id})
    assert (order["paid"], order["status"]) == (total, "PAID")


@pytest.mark.parametrize(("module", "name"), [(order_writes, "set_status"),
                                             (member_writes, "add_points_once")],
                         ids=["status", "points"])
async def test_a_capture_retried_after_a_failure_makes_the_order_paid_and_earns_once(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch, module: object, name: str,
) -> None:
    # given a payment authorised for a whole order, and a step after the capture is counted
    # (the order PAID, or its points) that fails once
    key = f"s-10-{name}"
    order_id, total = await place(gw, key, channel="ch_flagship", member="mem_00031",
                                  lines=[(TEA, 1)])
    held = await data(gw.client, AUTHORIZE, hold(order_id, total, f"{key}-a"))
    payment_id = held["authorizePayment"]["payment"]["id"]
    points = (await gw.db["members"].find_one({"_id": "mem_00031"}))["points"]
    failed = fail_once(monkeypatch, module, name, AutoReconnect("database down"))
    # when it is captured, the call fails (retryable), and the client retries it
    first = await gql(gw.client, CAPTURE, {"p": payment_id, "k": f"{key}-c"})
    assert [e["extensions"]["code"] for e in first["errors"]] == ["UNAVAILABLE"]
    assert failed == [1]
    for _ in range(2):
        again = await data(gw.client, CAPTURE, {"p": payment_id, "k": f"{key}-c"})
        # then the order is PAID, captured once, and the member earned its points once
        assert again["capturePayment"]["payment"]["order"] == {
            "status": "PAID", "paid": {"minorUnits": str(total)},
            "authorized": {"minorUnits": "0"}}
        member = await gw.db["members"].find_one({"_id": "mem_00031"})
        entries = await gw.db["points_ledger"].find({"order_id": order_id}).to_list(None)
        assert member["points"] == points + total // 100
        assert [(e["reason"], e["delta"]) for e in entries] == [("EARN", total // 100)]
        assert await gw.db["order_events"].count_documents(
            {"order_id": order_id, "kind": "CAPTURED"}) == 1


async def test_the_payments_list_for_a_cash_up(gw: WritingGateway) -> None:
    # given two cash payments at one store today and one by card
    store = "loc_fm_chengdu_jinjiang"
    await gw.db["inventory"].update_one({"_id": f"{TEA}@{store}"},
                                        {"$set": {"on_hand": 10, "reserved": 0}})
    start = now()
    paid = []
    for i, method in enumerate(("CASH", "CASH", "CARD")):
        order_id, total = await place(gw, f"s-10-{i}", channel="ch_freshmart",
                                      member="mem_00037", location=store, lines=[(TEA, 1)])
        paid.append(await pay(gw, order_id, total, f"s-10-p{i}", method=method))
    query = """query($f: PaymentFilter, $after: String) { payments(filter: $f, first: 1,
      after: $after) { edges { cursor node { id method location { id } } }
      pageInfo { hasNextPage hasPreviousPage endCursor } } }"""
    f = {"location": store, "methods": ["CASH"], "since": start.isoformat()}
    first = (await data(gw.client, query, {"f": f}))["payments"]
    second = (await data(gw.client, query, {"f": f, "after": first["pageInfo"]["endCursor"]})
              )["payments"]
    assert [e["node"]["id"] for e in first["edges"] + second["edges"]] == [paid[1], paid[0]]
    assert (first["pageInfo"]["hasNextPage"], second["pageInfo"]["hasNextPage"],
            second["pageInfo"]["hasPreviousPage"]) == (True, False, True)
    # a cursor of another list, or an order status, is refused
    other = await gql(gw.client, query, {"f": {"location": store},
                                         "after": first["pageInfo"]["endCursor"]})
    assert other["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    wrong = await gql(gw.client, query, {"f": {"statuses": ["SHIPPED"]}})
    assert wrong["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
