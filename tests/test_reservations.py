"""Reservations expire (gateway.commerce.reservations), on both stores: units held by a
request that died between its reservation and its order's insert come back once; units of an
order that was written stay reserved; a retry that takes over re-arms the holds it finds.
The gateways here hold a reservation for 1 s and sweep every 0.1 s."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.commerce.idempotency import fingerprint
from gateway.commerce.orders import check_place_order
from gateway.database.writes import orders as order_writes
from tests.support import WritingGateway, data, fresh_gateway, gql

PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id } userErrors { field code } } }"""
STORE, SKU = "loc_fm_chengdu_jinjiang", "sku_bok_choy_500g"
TIMEOUT = 1.0


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "reservations",
                                       reservation_timeout_seconds=TIMEOUT,
                                       reservation_sweep_seconds=0.1):
        yield gateway


def order(key: str, quantity: int) -> dict[str, Any]:
    return {"input": {"channel": "ch_freshmart", "location": STORE, "member": "mem_00007",
                      "lines": [{"sku": SKU, "quantity": quantity}], "idempotencyKey": key}}


async def level(gw: WritingGateway) -> tuple[int, list[tuple[str, int]]]:
    """Reserved units and the holds (order, quantity) of the SKU at the store."""
    doc = await gw.db["inventory"].find_one({"_id": f"{SKU}@{STORE}"})
    assert doc is not None
    return doc["reserved"], [(h["order"], h["quantity"]) for h in doc.get("holds", [])]


async def until_no_holds(gw: WritingGateway, seconds: float = TIMEOUT + 3) -> None:
    for _ in range(int(seconds / 0.05)):
        if not (await level(gw))[1]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"holds still there after {seconds} s: {await level(gw)}")


@pytest.fixture
def killed_before_insert(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Fault injection: a placeOrder stops for good right before inserting its order (set
    when it got there)."""
    there = asyncio.Event()
    insert = order_writes.insert

    async def never(db: Any, collection: str, doc: dict[str, Any]) -> None:
        if collection != "orders":
            await insert(db, collection, doc)
            return
        there.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(order_writes, "insert", never)
    return there


async def set_stock(gw: WritingGateway, on_hand: int, reserved: int) -> None:
    await gw.db["inventory"].update_one({"_id": f"{SKU}@{STORE}"}, {
        "$set": {"on_hand": on_hand, "reserved": reserved, "holds": []}})


async def test_a_request_killed_between_reservation_and_insert_gives_its_units_back_once(
    gw: WritingGateway, killed_before_insert: asyncio.Event, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given 10 on hand, 2 of them reserved
    await set_stock(gw, 10, 2)
    orders = await gw.db["orders"].count_documents({})
    # when a placeOrder for 3 reserves them and dies before its insert
    request = asyncio.create_task(gql(gw.client, PLACE, order("killed-1", 3)))
    await asyncio.wait_for(killed_before_insert.wait(), 5)
    reserved, holds = await level(gw)
    assert (reserved, [q for _, q in holds]) == (5, [3])
    # then once the reservation's deadline has passed the 3 units come back
    await until_no_holds(gw)
    assert await level(gw) == (2, [])
    assert await gw.db["orders"].count_documents({}) == orders
    # and when the dead request's own undo finally runs, nothing comes back twice
    request.cancel()
    await asyncio.gather(request, return_exceptions=True)
    assert await level(gw) == (2, [])
    # and the client's retry places the order, reserving the units once
    monkeypatch.undo()
    placed = await data(gw.client, PLACE, order("killed-1", 3))
    assert placed["placeOrder"]["userErrors"] == []
    assert (await level(gw))[0] == 5
    assert await gw.db["orders"].count_documents({}) == orders + 1


async def test_the_units_of_a_written_order_stay_reserved(gw: WritingGateway) -> None:
    # given an order placed normally
    await set_stock(gw, 10, 2)
    placed = await data(gw.client, PLACE, order("kept-1", 4))
    order_id = placed["placeOrder"]["order"]["id"]
    assert await level(gw) == (6, [(order_id, 4)])
    # when its hold expires, then the sweeper drops the hold and keeps the units
    await until_no_holds(gw)
    assert await level(gw) == (6, [])


async def test_a_retry_that_takes_over_rearms_the_holds_it_finds(gw: WritingGateway) -> None:
    # given a request that reserved 2 units for ord_dead1, then died (its lease ran out)
    await set_stock(gw, 10, 4)
    old = datetime.now(UTC) - timedelta(seconds=30)
    await gw.db["inventory"].update_one({"_id": f"{SKU}@{STORE}"}, {"$push": {"holds": {
        "order": "ord_dead1", "quantity": 2, "until": datetime.now(UTC) + timedelta(hours=1),
        "token": "dead"}}})
    i = order("dead-1", 2)["input"]
    checked = check_place_order(channel=i["channel"], location=i["location"],
                                member=i["member"], identity=None,
                                lines=[(SKU, 2)], idempotency_key="dead-1", max_quantity=999)
    await gw.db["idempotency"].insert_one({
        "_id": "admin:placeOrder:dead-1", "fingerprint": fingerprint(checked.fingerprint_input()),
        "status": "PENDING", "result_id": "ord_dead1", "token": "dead", "created_at": old,
        "claimed_at": old, "lease_until": old + timedelta(seconds=5)})
    # when the client retries
    placed = await data(gw.client, PLACE, order("dead-1", 2))
    # then the order is written under the claim's id, its units held once, by the new attempt
    assert placed["placeOrder"]["order"] == {"id": "ord_dead1"}
    doc = await gw.db["inventory"].find_one({"_id": f"{SKU}@{STORE}"})
    assert doc["reserved"] == 4
    assert [(h["order"], h["quantity"]) for h in doc["holds"]] == [("ord_dead1", 2)]
    assert doc["holds"][0]["token"] != "dead"


ONLINE_SKU, WAREHOUSE = "sku_hand_cream_50ml", "loc_wh_hangzhou"


async def test_an_online_order_killed_between_allocation_and_insert_gives_its_units_back(
    gw: WritingGateway, killed_before_insert: asyncio.Event, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given 10 hand creams on hand at the flagship's first fulfilment location, 2 reserved
    key = f"{ONLINE_SKU}@{WAREHOUSE}"
    await gw.db["inventory"].update_one({"_id": key}, {"$set": {
        "on_hand": 10, "reserved": 2, "holds": []}})
    online = {"input": {"channel": "ch_flagship", "member": "mem_00007",
                        "idempotencyKey": "killed-online",
                        "lines": [{"sku": ONLINE_SKU, "quantity": 3}]}}
    orders = await gw.db["orders"].count_documents({})
    # when a placeOrder without a location is allocated there and dies before its insert
    request = asyncio.create_task(gql(gw.client, PLACE, online))
    await asyncio.wait_for(killed_before_insert.wait(), 5)
    doc = await gw.db["inventory"].find_one({"_id": key})
    assert (doc["reserved"], [h["quantity"] for h in doc["holds"]]) == (5, [3])
    # then once the reservation's deadline has passed the 3 units come back, once
    for _ in range(int((TIMEOUT + 3) / 0.05)):
        doc = await gw.db["inventory"].find_one({"_id": key})
        if not doc["holds"]:
            break
        await asyncio.sleep(0.05)
    assert (doc["reserved"], doc["holds"]) == (2, [])
    request.cancel()
    await asyncio.gather(request, return_exceptions=True)
    assert (await gw.db["inventory"].find_one({"_id": key}))["reserved"] == 2
    assert await gw.db["orders"].count_documents({}) == orders
    # and the client's retry places the order, reserving the units once
    monkeypatch.undo()
    placed = await data(gw.client, PLACE, online)
    assert placed["placeOrder"]["userErrors"] == []
    assert (await gw.db["inventory"].find_one({"_id": key}))["reserved"] == 5
