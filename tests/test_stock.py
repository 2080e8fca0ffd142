"""Concurrency proofs on the wire server: no overselling, exactly one order per key.

Each test runs on the wire server (the proof: 100 requests in flight at once over a
connection pool, each command atomic on one document) and on the embedded store, which runs
each command synchronously on the event loop and passes them too.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support import WritingGateway, data, fresh_gateway

PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id total { minorUnits } } userErrors { field code } } }"""
SKU, STORE = "sku_bok_choy_500g", "loc_fm_beijing_chaoyang"


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "stock"):
        yield gateway


def order(key: str) -> dict[str, Any]:
    return {"input": {"channel": "ch_freshmart", "location": STORE, "member": "mem_00005",
                      "lines": [{"sku": SKU, "quantity": 1}], "idempotencyKey": key}}


async def test_100_concurrent_orders_for_the_last_10_units(gw: WritingGateway) -> None:
    # given 10 units available (on hand 12, 2 reserved)
    await gw.db["inventory"].update_one({"_id": f"{SKU}@{STORE}"},
                                        {"$set": {"on_hand": 12, "reserved": 2}})
    orders_before = await gw.db["orders"].count_documents({})
    # when 100 different orders for 1 unit each arrive at once
    results = await asyncio.gather(*(data(gw.client, PLACE, order(f"last-{i}"))
                                     for i in range(100)))
    # then exactly 10 succeed, 90 are INSUFFICIENT_STOCK, and 0 units are left
    outcomes = Counter(r["placeOrder"]["userErrors"][0]["code"] if r["placeOrder"]["userErrors"]
                       else "CREATED" for r in results)
    assert outcomes == {"CREATED": 10, "INSUFFICIENT_STOCK": 90}
    level = await gw.db["inventory"].find_one({"_id": f"{SKU}@{STORE}"})
    assert (level["on_hand"], level["reserved"]) == (12, 12)
    assert await gw.db["orders"].count_documents({}) == orders_before + 10
    keys = [f"admin:placeOrder:last-{i}" for i in range(100)]
    assert await gw.db["idempotency"].count_documents({"_id": {"$in": keys}}) == 10


async def test_100_concurrent_identical_orders_make_one(gw: WritingGateway) -> None:
    # given plenty of stock
    await gw.db["inventory"].update_one({"_id": f"{SKU}@{STORE}"},
                                        {"$set": {"on_hand": 500, "reserved": 0}})
    orders_before = await gw.db["orders"].count_documents({})
    # when the same request is sent 100 times at once
    results = await asyncio.gather(*(data(gw.client, PLACE, order("same-key"))
                                     for _ in range(100)))
    # then every caller gets the same order, and one unit is reserved once
    assert all(r == results[0] for r in results)
    assert results[0]["placeOrder"]["userErrors"] == []
    level = await gw.db["inventory"].find_one({"_id": f"{SKU}@{STORE}"})
    assert level["reserved"] == 1
    assert await gw.db["orders"].count_documents({}) == orders_before + 1
    assert await gw.db["idempotency"].count_documents({"_id": "admin:placeOrder:same-key"}) == 1
