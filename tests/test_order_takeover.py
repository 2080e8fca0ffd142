"""placeOrder when its request stalls past its lease and a retry takes the order over (both
stores): whatever each attempt does, an order exists only with every line reserved once, and
units stay reserved only for an order that may still be written (gateway.commerce.idempotency,
"Fenced work")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.database.writes import orders as order_writes
from gateway.database.writes import stock as stock_writes
from tests.support import WritingGateway, fresh_gateway, gql
from tests.support.takeover import Stall, first, lease_runs_out, stalled_then_down

PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id } userErrors { field code } } }"""
STORE = "loc_fm_shenzhen_nanshan"
DIAPERS, WIPES = "sku_baby_diapers_m_60", "sku_baby_wipes_6x80"


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "order_takeover"):
        yield gateway


def order(key: str) -> dict[str, Any]:
    return {"input": {"channel": "ch_freshmart", "location": STORE, "member": "mem_00012",
                      "lines": [{"sku": DIAPERS, "quantity": 2}, {"sku": WIPES, "quantity": 2}],
                      "idempotencyKey": key}}


async def place(gw: WritingGateway, key: str) -> dict[str, Any]:
    body = await gql(gw.client, PLACE, order(key))
    return body


def outcome(body: dict[str, Any]) -> tuple[str | None, list[str]]:
    payload = body["data"]["placeOrder"]
    return ((payload["order"] or {}).get("id"),
            [e["code"] for e in payload["userErrors"]])


async def level(gw: WritingGateway, sku: str) -> tuple[int, int, list[str]]:
    """On-hand, reserved and the orders holding units of ``sku`` at the store."""
    doc = await gw.db["inventory"].find_one({"_id": f"{sku}@{STORE}"})
    assert doc is not None
    return doc["on_hand"], doc["reserved"], [h["order"] for h in doc.get("holds", [])]


async def test_a_retry_refused_after_a_stalled_request_reserved_a_line_leaves_no_order_without_it(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch, stalled_holder: None,
) -> None:
    # given a request that reserved an order's first line and stalled before its second,
    # past its lease
    stall = Stall()
    monkeypatch.setattr(stock_writes, "reserve", first(
        stall, stock_writes.reserve, lambda *a, **k: k["sku"] == WIPES))
    diapers, wipes = await level(gw, DIAPERS), await level(gw, WIPES)
    stalled = asyncio.create_task(place(gw, "stall-1"))
    await asyncio.wait_for(stall.there.wait(), 10)
    order_id = await lease_runs_out(gw.db, "admin:placeOrder:stall-1")
    assert (await level(gw, DIAPERS))[1:] == (diapers[1] + 2, [*diapers[2], order_id])
    # when the client's retry takes the order over (it takes the stalled request's hold on
    # the first line) and finds the second line short
    await gw.db["inventory"].update_one({"_id": f"{WIPES}@{STORE}"},
                                        {"$set": {"on_hand": wipes[1] + 1}})
    retry = await place(gw, "stall-1")
    # then the retry is refused, and the first line's units are available again
    assert outcome(retry) == (None, ["INSUFFICIENT_STOCK"])
    assert await level(gw, DIAPERS) == diapers
    # and when the stock is back and the stalled request wakes up, it reserves the second
    # line but may not write the order: it gives the units back and answers IN_USE
    await gw.db["inventory"].update_one({"_id": f"{WIPES}@{STORE}"},
                                        {"$set": {"on_hand": wipes[0]}})
    stall.go.set()
    woke = await asyncio.wait_for(stalled, 10)
    assert outcome(woke) == (None, ["IDEMPOTENCY_KEY_IN_USE"])
    assert await gw.db["orders"].count_documents({"_id": order_id}) == 0
    assert (await level(gw, DIAPERS), await level(gw, WIPES)) == (diapers, wipes)
    # and the order placed again is written once, each line reserved once
    again = await place(gw, "stall-1")
    placed, errors = outcome(again)
    assert placed is not None and errors == []
    assert (await level(gw, DIAPERS), await level(gw, WIPES)) == (
        (diapers[0], diapers[1] + 2, [*diapers[2], placed]),
        (wipes[0], wipes[1] + 2, [*wipes[2], placed]))


async def test_a_retry_that_fails_after_a_stalled_request_reserved_every_line_keeps_them_for_it(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch, stalled_holder: None,
) -> None:
    # given a request that reserved every line and stalled just before inserting the order,
    # past its lease
    stall = Stall()
    insert, failing = stalled_then_down(stall, order_writes.insert,
                                        lambda db, collection, doc: collection == "orders")
    monkeypatch.setattr(order_writes, "insert", insert)
    diapers, wipes = await level(gw, DIAPERS), await level(gw, WIPES)
    stalled = asyncio.create_task(place(gw, "stall-2"))
    await asyncio.wait_for(stall.there.wait(), 10)
    order_id = await lease_runs_out(gw.db, "admin:placeOrder:stall-2")
    # when the client's retry takes the order over, takes its holds and fails to insert it
    retry = await place(gw, "stall-2")
    assert [e["extensions"]["code"] for e in retry["errors"]] == ["INTERNAL"]
    assert [doc["_id"] for _, _, doc in failing] == [order_id]
    # then it gives nothing back: the stalled request may still write the order
    assert (await level(gw, DIAPERS), await level(gw, WIPES)) == (
        (diapers[0], diapers[1] + 2, [*diapers[2], order_id]),
        (wipes[0], wipes[1] + 2, [*wipes[2], order_id]))
    # and when the stalled request wakes up, it writes the order, its lines reserved once
    stall.go.set()
    woke = await asyncio.wait_for(stalled, 10)
    assert outcome(woke) == (order_id, [])
    assert (await level(gw, DIAPERS), await level(gw, WIPES)) == (
        (diapers[0], diapers[1] + 2, [*diapers[2], order_id]),
        (wipes[0], wipes[1] + 2, [*wipes[2], order_id]))
    # and once the failed retry's lease runs out, the order placed again is that order
    await lease_runs_out(gw.db, "admin:placeOrder:stall-2")
    again = await place(gw, "stall-2")
    assert outcome(again) == (order_id, [])
    assert await gw.db["orders"].count_documents({"_id": order_id}) == 1
    assert (await level(gw, DIAPERS))[1] == diapers[1] + 2
