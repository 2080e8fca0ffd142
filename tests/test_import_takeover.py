"""importOrders when a row's request stalls past its lease and a retry takes the row over (both
stores): whatever each attempt does, an order exists only with its units taken once and its
movements written, and units are taken only for an order (gateway.commerce.idempotency,
"Fenced work")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.database.writes import lifecycle
from gateway.database.writes import orders as order_writes
from tests.support import WritingGateway, fresh_gateway, gql
from tests.support.takeover import Stall, first, lease_runs_out, stalled_then_down
from tests.test_import import CHANNEL, IMPORT, MILLET, OIL, OUTLET, movements_of, on_hand, row, send


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "import_takeover"):
        yield gateway


async def set_on_hand(gw: WritingGateway, sku: str, level: int) -> None:
    await gw.db["inventory"].update_one({"_id": f"{sku}@{OUTLET}"},
                                        {"$set": {"on_hand": level}})


async def reserved(gw: WritingGateway, sku: str) -> int:
    doc = await gw.db["inventory"].find_one({"_id": f"{sku}@{OUTLET}"})
    assert doc is not None
    value: int = doc["reserved"]
    return value


async def test_a_retry_refused_after_a_stalled_request_took_a_line_leaves_no_order_without_it(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch, stalled_holder: None,
) -> None:
    # given a request that took a row's first line and stalled before its second, past its
    # lease
    stall = Stall()
    monkeypatch.setattr(lifecycle, "take_stock", first(
        stall, lifecycle.take_stock, lambda *a, **k: k["sku"] == MILLET))
    oil, millet = await on_hand(gw, OIL), await on_hand(gw, MILLET)
    lines = [(OIL, 2, 2500), (MILLET, 2, 1500)]
    stalled = asyncio.create_task(send(gw, [row("T5-0001", lines)]))
    await asyncio.wait_for(stall.there.wait(), 10)
    order_id = await lease_runs_out(gw.db, f"admin:importOrders:{CHANNEL}:T5-0001")
    # when the client's retry takes the row over and finds the second line short (the first
    # one is the stalled request's, already taken under the same order id)
    await set_on_hand(gw, MILLET, await reserved(gw, MILLET) + 1)
    retry = await send(gw, [row("T5-0001", lines)])
    # then the retry is refused and gives the first line's units back
    assert [(r["status"], [e["code"] for e in r["userErrors"]]) for r in retry["results"]] == [
        ("REJECTED", ["INSUFFICIENT_STOCK"])]
    assert await on_hand(gw, OIL) == oil
    # and when the stock is back and the stalled request wakes up, it takes the second line,
    # but may not write the order: it gives back what it took and answers IN_USE
    await set_on_hand(gw, MILLET, millet)
    stall.go.set()
    woke = await asyncio.wait_for(stalled, 10)
    assert [(r["status"], [e["code"] for e in r["userErrors"]]) for r in woke["results"]] == [
        ("REJECTED", ["IDEMPOTENCY_KEY_IN_USE"])]
    assert await gw.db["orders"].count_documents({"external_id": "T5-0001"}) == 0
    assert (await on_hand(gw, OIL), await on_hand(gw, MILLET)) == (oil, millet)
    assert await movements_of(gw, order_id) == []
    # and the row sent again is imported once, with its units and movements
    again = await send(gw, [row("T5-0001", lines)])
    assert [r["status"] for r in again["results"]] == ["CREATED"]
    created = again["results"][0]["order"]["id"]
    assert (await on_hand(gw, OIL), await on_hand(gw, MILLET)) == (oil - 2, millet - 2)
    assert [m[:4] for m in await movements_of(gw, created)] == sorted([
        ("SALE", OIL, OUTLET, -2), ("SALE", MILLET, OUTLET, -2)])


async def test_a_retry_that_fails_after_a_stalled_request_took_every_line_keeps_them_for_it(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch, stalled_holder: None,
) -> None:
    # given a request that took every line of a row, wrote their movements and stalled just
    # before inserting the order, past its lease
    stall = Stall()
    insert, failing = stalled_then_down(stall, order_writes.insert,
                                        lambda db, collection, doc: collection == "orders")
    monkeypatch.setattr(order_writes, "insert", insert)
    oil, millet = await on_hand(gw, OIL), await on_hand(gw, MILLET)
    lines = [(OIL, 1, 2500), (MILLET, 3, 1500)]
    stalled = asyncio.create_task(send(gw, [row("T5-0002", lines)]))
    await asyncio.wait_for(stall.there.wait(), 10)
    order_id = await lease_runs_out(gw.db, f"admin:importOrders:{CHANNEL}:T5-0002")
    # when the client's retry takes the row over, finds the lines taken and fails to insert
    # the order (the database refuses it)
    retry = await gql(gw.client, IMPORT, {"channel": CHANNEL, "location": OUTLET,
                                          "orders": [row("T5-0002", lines)]})
    assert [e["extensions"]["code"] for e in retry["errors"]] == ["INTERNAL"]
    assert [doc["_id"] for _, _, doc in failing] == [order_id]
    # then it gives nothing back: the stalled request may still write the order
    assert (await on_hand(gw, OIL), await on_hand(gw, MILLET)) == (oil - 1, millet - 3)
    # and when the stalled request wakes up, it writes the order, whose units stay taken once
    stall.go.set()
    woke = await asyncio.wait_for(stalled, 10)
    assert [(r["status"], r["order"]["id"]) for r in woke["results"]] == [
        ("CREATED", order_id)]
    assert (await on_hand(gw, OIL), await on_hand(gw, MILLET)) == (oil - 1, millet - 3)
    assert [m[:4] for m in await movements_of(gw, order_id)] == sorted([
        ("SALE", OIL, OUTLET, -1), ("SALE", MILLET, OUTLET, -3)])
    assert await gw.db["payments"].count_documents({"order_id": order_id}) == 1
    # and once the failed retry's lease runs out, the row sent again is that order
    await lease_runs_out(gw.db, f"admin:importOrders:{CHANNEL}:T5-0002")
    again = await send(gw, [row("T5-0002", lines)])
    assert [(r["status"], r["order"]["id"]) for r in again["results"]] == [
        ("DUPLICATE", order_id)]
    assert (await on_hand(gw, OIL), await on_hand(gw, MILLET)) == (oil - 1, millet - 3)
