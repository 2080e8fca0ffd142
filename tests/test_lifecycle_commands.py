"""The database commands of each write of an order's life, pinned (counted by the gateway's
command listener and reported in ``extensions.db``), on both stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from gateway.clock import now
from tests.support import WritingGateway, fresh_gateway, gql
from tests.support.orders import (
    AUTHORIZE,
    CAPTURE,
    COLLECT,
    COMPLETE,
    EXPIRE,
    PREPARE,
    REFUND,
    RETURN,
    SHIP,
    VOID,
    pay,
    place,
    refund_input,
)

WAREHOUSE, STORE = "loc_wh_hangzhou", "loc_fm_shenzhen_nanshan"
WIPES, DIAPERS = "sku_baby_wipes_6x80", "sku_baby_diapers_m_60"
PAYMENTS = """query($f: PaymentFilter) { payments(filter: $f, first: 20) {
  edges { node { id method status amount { amount } refunded { amount }
                 order { id status } location { id } } } } }"""


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "lifecycle_commands"):
        yield gateway


async def commands(gw: WritingGateway, query: str, variables: dict[str, Any]) -> int:
    body = await gql(gw.client, query, variables)
    assert "errors" not in body, body["errors"]
    payload = next(iter(body["data"].values()))
    assert payload["userErrors"] == [], payload
    count: int = body["extensions"]["db"]["commands"]
    return count


async def test_payment_commands(gw: WritingGateway) -> None:
    order_id, total = await place(gw, "lc-1", channel="ch_flagship", member="mem_00012",
                                  lines=[(WIPES, 1)])
    hold = {"input": {"order": order_id, "amount": str(total), "currency": "CNY",
                      "method": "ALIPAY", "idempotencyKey": "lc-1-a"}}
    # authorizePayment: claim, findAndModify order (authorized += amount, op id), the claim
    # committed (before the payment, so a request taken over writes none), insert payment,
    # key DONE; the payload's payment comes from the loader's cache, its order is
    # one find
    authorize = await commands(gw, AUTHORIZE, hold)
    payment_id = (await gql(gw.client, AUTHORIZE, hold))["data"]["authorizePayment"][
        "payment"]["id"]
    # capturePayment: claim, findAndModify payment (status), findAndModify order (counters),
    # findAndModify order (PAID), the points (find channel, find member, aggregate lifetime
    # spend, findAndModify member, insert ledger), insert event, key DONE; the payload reads
    # the payment and its order (2 finds)
    capture = await commands(gw, CAPTURE, {"p": payment_id, "k": "lc-1-c"})
    # refundPayment of part: claim, find payment, findAndModify payment (refunded += amount),
    # update payment (PARTIALLY_REFUNDED), find order, findAndModify order (refunded and
    # refunded_base, with the rollup's due entry), fold into the rollup, remove the due
    # entry, points back (find the order's EARN entry: only what it earned is taken back;
    # find channel, find member, find member_rollups, findAndModify member, insert ledger),
    # insert refund, insert event, key DONE; the payload reads the refund and the payment
    # (2 finds): 19
    refund = await commands(gw, REFUND, refund_input(payment_id, "lc-1-r", amount="100"))
    other, other_total = await place(gw, "lc-2", channel="ch_flagship", member="mem_00012",
                                     lines=[(WIPES, 1)])
    held = (await gql(gw.client, AUTHORIZE, {"input": {
        "order": other, "amount": str(other_total), "currency": "CNY", "method": "ALIPAY",
        "idempotencyKey": "lc-2-a"}}))["data"]["authorizePayment"]["payment"]["id"]
    # voidPayment: claim, findAndModify payment, findAndModify order, insert event, key DONE;
    # the payload reads the payment and its order
    void = await commands(gw, VOID, {"p": held, "k": "lc-2-v"})
    assert {"authorize": authorize, "capture": capture, "refund": refund, "void": void} == {
        "authorize": 6, "capture": 13, "refund": 19, "void": 7}


async def test_fulfilment_commands(gw: WritingGateway) -> None:
    order_id, total = await place(gw, "lc-3", channel="ch_flagship", member="mem_00012",
                                  location=WAREHOUSE, lines=[(WIPES, 1), (DIAPERS, 1)])
    await pay(gw, order_id, total, "lc-3-pay")
    ship = {"input": {"order": order_id, "location": WAREHOUSE, "carrier": "SF",
                      "trackingNumber": "SF1", "idempotencyKey": "lc-3-s"}}
    # shipOrder of n lines: claim, find order, find location, n findAndModify inventory
    # (on-hand and reservation), insert the n stock movements (one insertMany), commit the
    # claim (fenced by its token: a request taken over meanwhile records no shipment),
    # findAndModify order, insert event, key DONE; the payload reads the order and its
    # pick-up location: 9 + n
    shipped = await commands(gw, SHIP, ship)
    # completeOrder: claim, find order, findAndModify order, insert event, key DONE; the
    # payload reads the order
    completed = await commands(gw, COMPLETE, {"o": order_id, "k": "lc-3-c"})
    # returnOrder of 1 line: claim, find order, find location, findAndModify order
    # (returned), findAndModify inventory (restock), insert movement, find payments; the
    # refund to the one payment (findAndModify payment, update payment, find order,
    # findAndModify order, fold into the rollup, remove the due entry, points back: 6 with
    # the read of the order's EARN entry, insert refund, insert event); insert return, insert
    # event, key DONE; the payload reads the order, the return and its refunds (their
    # payments come from the cache): 27
    returned = await commands(gw, RETURN, {"input": {
        "order": order_id, "location": STORE, "reason": "test", "idempotencyKey": "lc-3-r",
        "lines": [{"sku": WIPES, "quantity": 1}]}})
    pick, pick_total = await place(gw, "lc-4", channel="ch_freshmart", member="mem_00012",
                                   location=STORE, lines=[(WIPES, 1)])
    await pay(gw, pick, pick_total, "lc-4-pay")
    # preparePickup: claim, find order, find location, findAndModify order, insert event,
    # key DONE; the payload reads the order and its pick-up location
    ready = await commands(gw, PREPARE, {"o": pick, "k": "lc-4-p"})
    code = (await gw.db["orders"].find_one({"_id": pick}))["pickup"]["code"]
    # collectOrder of 1 line: claim, find order, findAndModify inventory, insert movement,
    # findAndModify order, insert event, key DONE; the payload reads the order and its
    # pick-up location
    collected = await commands(gw, COLLECT, {"o": pick, "c": code, "k": "lc-4-c"})
    assert {"ship": shipped, "complete": completed, "return": returned, "prepare": ready,
            "collect": collected} == {
        "ship": 9 + 2, "complete": 6, "return": 27, "prepare": 8, "collect": 9}


async def test_expiry_and_payments_list_commands(gw: WritingGateway) -> None:
    order_id, total = await place(gw, "lc-5", channel="ch_freshmart", member="mem_00012",
                                  location=STORE, lines=[(WIPES, 1)])
    await pay(gw, order_id, total, "lc-5-pay")
    await gql(gw.client, PREPARE, {"o": order_id, "k": "lc-5-p"})
    await gw.db["orders"].update_one({"_id": order_id}, {"$set": {
        "pickup.expires_at": now() - timedelta(minutes=1)}})
    # expirePickup of a paid order of 1 line: claim, find order, findAndModify order
    # (CANCELLED, EXPIRED, with the rollup's due entry), fold into the rollup, remove the due
    # entry, points back (find the order's EARN entry: only what it earned is taken back;
    # find channel, find member, find member_rollups, findAndModify member, insert ledger),
    # findAndModify inventory (release), find payments, the refund of its one payment
    # (findAndModify payment, update payment, find order, findAndModify order, insert refund,
    # insert event: a cancelled order's refund changes no rollup), insert events CANCELLED
    # and PICKUP_EXPIRED, key DONE; the payload reads the order and its pick-up location: 24
    expired = await commands(gw, EXPIRE, {"o": order_id, "k": "lc-5-e"})
    other, other_total = await place(gw, "lc-6", channel="ch_freshmart", member="mem_00013",
                                     location=STORE, lines=[(WIPES, 1)])
    await pay(gw, other, other_total, "lc-6-pay")
    # payments(filter:) of a till, 20 a page: find payments; their orders and locations are
    # one find each, however many payments
    listed = await gql(gw.client, PAYMENTS, {"f": {"location": STORE, "methods": ["CARD"]}})
    assert "errors" not in listed, listed["errors"]
    assert len(listed["data"]["payments"]["edges"]) >= 2
    assert (expired, listed["extensions"]["db"]["commands"]) == (24, 3)
