"""Fulfilment on both stores: shipments take stock once, pick-up in store with a code,
expiry, completion; every step once, and in the member's history and the order's events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pymongo.errors import AutoReconnect

from gateway.clock import now
from gateway.database.writes import lifecycle
from gateway.database.writes import members as member_writes
from tests.support import WritingGateway, data, fresh_gateway, gql
from tests.support.blips import fail_once
from tests.support.orders import (
    COLLECT,
    COMPLETE,
    EXPIRE,
    PREPARE,
    SHIP,
    level,
    pay,
    place,
)
from tests.support.takeover import Stall, first, lease_runs_out, stalled_then_down

WAREHOUSE, STORE = "loc_wh_hangzhou", "loc_fm_shanghai_xuhui"
OTHER_STORE = "loc_fm_beijing_chaoyang"
WIPES, DIAPERS = "sku_baby_wipes_6x80", "sku_baby_diapers_m_60"
EVENTS = """query($id: ID!) { order(id: $id) { status shipments { id carrier }
  events(first: 10) { edges { node { kind location { id } shipment { trackingNumber } } } } } }"""
HISTORY = """query($m: ID!) { member(id: $m) { history(first: 3, kinds: [ORDER_EVENT]) {
  edges { node { __typename ... on OrderEvent { kind order { id } } } } } } }"""


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "fulfilment"):
        yield gateway


def ship(order: str, key: str, lines: list[tuple[str, int]] | None = None,
         location: str = WAREHOUSE) -> dict[str, object]:
    return {"input": {"order": order, "location": location, "carrier": "SF Express",
                      "trackingNumber": f"SF{key}", "idempotencyKey": key,
                      "lines": None if lines is None else
                      [{"sku": s, "quantity": q} for s, q in lines]}}


async def test_two_shipments_take_stock_once_and_complete_the_order(gw: WritingGateway) -> None:
    # given a paid flagship order of 3 + 2 units reserved at the warehouse
    order_id, total = await place(gw, "f-1", channel="ch_flagship", member="mem_00020",
                                  location=WAREHOUSE, lines=[(WIPES, 3), (DIAPERS, 2)])
    await pay(gw, order_id, total, "f-1-pay")
    before = {sku: await level(gw, sku, WAREHOUSE) for sku in (WIPES, DIAPERS)}
    # when 2 wipes ship, and the same request is sent again
    first = await data(gw.client, SHIP, ship(order_id, "f-1-s1", [(WIPES, 2)]))
    again = await data(gw.client, SHIP, ship(order_id, "f-1-s1", [(WIPES, 2)]))
    # then the order is SHIPPED with 2 wipes shipped, once
    assert first == again
    assert first["shipOrder"]["order"] == {"status": "SHIPPED", "lines": [
        {"sku": WIPES, "quantity": 3, "shipped": 2}, {"sku": DIAPERS, "quantity": 2,
                                                       "shipped": 0}]}
    assert first["shipOrder"]["shipment"]["lines"] == [{"sku": WIPES, "quantity": 2}]
    wipes = before[WIPES]
    assert await level(gw, WIPES, WAREHOUSE) == (wipes[0] - 2, wipes[1] - 2)
    # and it cannot be completed while units wait
    early = await data(gw.client, COMPLETE, {"o": order_id, "k": "f-1-c0"})
    assert early["completeOrder"]["userErrors"] == [{
        "field": "order", "code": "CONFLICT",
        "message": f"3 units of order {order_id} are not shipped yet."}]
    # when the rest ships (no lines: every unit left) and the order is completed
    rest = await data(gw.client, SHIP, ship(order_id, "f-1-s2"))
    assert rest["shipOrder"]["shipment"]["lines"] == [
        {"sku": WIPES, "quantity": 1}, {"sku": DIAPERS, "quantity": 2}]
    done = await data(gw.client, COMPLETE, {"o": order_id, "k": "f-1-c1"})
    assert done["completeOrder"]["order"]["status"] == "COMPLETED"
    # then the stock left on-hand and the reservation exactly once per unit
    for sku, units in ((WIPES, 3), (DIAPERS, 2)):
        on_hand, reserved = before[sku]
        assert await level(gw, sku, WAREHOUSE) == (on_hand - units, reserved - units)
    # and nothing is left to ship
    more = await data(gw.client, SHIP, ship(order_id, "f-1-s3"))
    assert more["shipOrder"]["userErrors"][0]["code"] == "CONFLICT"
    # and the steps are the order's events and the member's history, newest first
    events = (await data(gw.client, EVENTS, {"id": order_id}))["order"]
    assert [e["node"]["kind"] for e in events["events"]["edges"]] == [
        "COMPLETED", "SHIPPED", "SHIPPED"]
    assert events["events"]["edges"][1]["node"] == {
        "kind": "SHIPPED", "location": {"id": WAREHOUSE},
        "shipment": {"trackingNumber": "SFf-1-s2"}}
    history = await data(gw.client, HISTORY, {"m": "mem_00020"})
    assert [e["node"] for e in history["member"]["history"]["edges"]] == [
        {"__typename": "OrderEvent", "kind": kind, "order": {"id": order_id}}
        for kind in ("COMPLETED", "SHIPPED", "SHIPPED")]


async def test_shipping_from_another_store_releases_the_reservation(gw: WritingGateway) -> None:
    # given a paid store order reserved at one store
    order_id, total = await place(gw, "f-2", channel="ch_freshmart", member="mem_00021",
                                  location=STORE, lines=[(WIPES, 1)])
    await pay(gw, order_id, total, "f-2-pay")
    await gw.db["inventory"].update_one({"_id": f"{WIPES}@{OTHER_STORE}"},
                                        {"$set": {"on_hand": 5, "reserved": 0}})
    here, there = await level(gw, WIPES, STORE), await level(gw, WIPES, OTHER_STORE)
    # when another store ships it
    result = await data(gw.client, SHIP, ship(order_id, "f-2-s", location=OTHER_STORE))
    assert result["shipOrder"]["shipment"]["location"] == {"id": OTHER_STORE}
    # then the unit left the other store's shelf and the first store's reservation is free
    assert await level(gw, WIPES, OTHER_STORE) == (there[0] - 1, there[1])
    assert await level(gw, WIPES, STORE) == (here[0], here[1] - 1)


async def test_a_short_location_ships_nothing(gw: WritingGateway) -> None:
    order_id, total = await place(gw, "f-3", channel="ch_flagship", member="mem_00021",
                                  location=WAREHOUSE, lines=[(WIPES, 1), (DIAPERS, 1)])
    await pay(gw, order_id, total, "f-3-pay")
    for sku, on_hand in ((WIPES, 5), (DIAPERS, 0)):
        await gw.db["inventory"].update_one({"_id": f"{sku}@{OTHER_STORE}"},
                                            {"$set": {"on_hand": on_hand, "reserved": 0}})
    wipes = await level(gw, WIPES, OTHER_STORE)
    result = await data(gw.client, SHIP, ship(order_id, "f-3-s", location=OTHER_STORE))
    assert result["shipOrder"] == {"shipment": None, "order": None, "userErrors": [{
        "field": "lines.1.quantity", "code": "INSUFFICIENT_STOCK",
        "message": f"Not enough {DIAPERS} at {OTHER_STORE} for 1."}]}
    # the first line's unit came back; the order did not move
    assert await level(gw, WIPES, OTHER_STORE) == wipes
    assert (await gw.db["orders"].find_one({"_id": order_id}))["status"] == "PAID"


async def test_an_unpaid_order_does_not_ship(gw: WritingGateway) -> None:
    order_id, _ = await place(gw, "f-4", channel="ch_flagship", member="mem_00021",
                              location=WAREHOUSE, lines=[(WIPES, 1)])
    result = await data(gw.client, SHIP, ship(order_id, "f-4-s"))
    assert result["shipOrder"]["userErrors"] == [{
        "field": "order", "code": "CONFLICT",
        "message": f"Order {order_id} is PLACED: only a paid order ships."}]


async def test_concurrent_shipments_of_the_last_units_ship_them_once(gw: WritingGateway) -> None:
    order_id, total = await place(gw, "f-5", channel="ch_flagship", member="mem_00021",
                                  location=WAREHOUSE, lines=[(WIPES, 2)])
    await pay(gw, order_id, total, "f-5-pay")
    before = await level(gw, WIPES, WAREHOUSE)
    results = await asyncio.gather(*(data(gw.client, SHIP, ship(order_id, f"f-5-{i}"))
                                     for i in range(20)))
    shipped = [r for r in results if r["shipOrder"]["shipment"] is not None]
    assert len(shipped) == 1
    assert {e["code"] for r in results for e in r["shipOrder"]["userErrors"]} == {"CONFLICT"}
    assert await level(gw, WIPES, WAREHOUSE) == (before[0] - 2, before[1] - 2)


async def test_pickup_in_store_with_a_code(gw: WritingGateway) -> None:
    # given a store order reserved at the store, made ready for pick-up
    order_id, total = await place(gw, "f-6", channel="ch_freshmart", member="mem_00022",
                                  location=STORE, lines=[(WIPES, 2)])
    ready = await data(gw.client, PREPARE, {"o": order_id, "k": "f-6-r"})
    pickup = ready["preparePickup"]["order"]["pickup"]
    assert (pickup["status"], pickup["location"], len(pickup["code"])) == (
        "READY", {"id": STORE}, 6)
    before = await level(gw, WIPES, STORE)
    # when the buyer comes before paying: refused
    unpaid = await data(gw.client, COLLECT, {"o": order_id, "c": pickup["code"], "k": "f-6-c0"})
    assert unpaid["collectOrder"]["userErrors"][0]["code"] == "CONFLICT"
    await pay(gw, order_id, total, "f-6-pay")
    # a wrong code is INVALID and changes nothing
    wrong = str((int(pickup["code"]) + 1) % 10**6).zfill(6)
    bad = await data(gw.client, COLLECT, {"o": order_id, "c": wrong, "k": "f-6-c1"})
    assert bad["collectOrder"] == {"order": None, "userErrors": [
        {"field": "code", "code": "INVALID", "message": "Wrong collection code."}]}
    # the right code collects it, once
    ok = await data(gw.client, COLLECT, {"o": order_id, "c": pickup["code"], "k": "f-6-c2"})
    again = await data(gw.client, COLLECT, {"o": order_id, "c": pickup["code"], "k": "f-6-c2"})
    assert ok == again
    assert ok["collectOrder"]["order"]["status"] == "COMPLETED"
    assert ok["collectOrder"]["order"]["pickup"]["status"] == "COLLECTED"
    assert ok["collectOrder"]["order"]["lines"] == [{"sku": WIPES, "shipped": 2, "returned": 0}]
    assert await level(gw, WIPES, STORE) == (before[0] - 2, before[1] - 2)
    # a second collection with another key returns the collected order, and takes nothing
    twice = await data(gw.client, COLLECT, {"o": order_id, "c": pickup["code"], "k": "f-6-c3"})
    assert twice == ok
    assert await level(gw, WIPES, STORE) == (before[0] - 2, before[1] - 2)


async def test_two_collections_at_once_take_the_units_once(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a paid store order ready for pick-up, and a collection (one key) that took the
    # units and stalls before completing the order
    order_id, total = await place(gw, "f-6b", channel="ch_freshmart", member="mem_00022",
                                  location=STORE, lines=[(WIPES, 2)])
    ready = await data(gw.client, PREPARE, {"o": order_id, "k": "f-6b-r"})
    code = ready["preparePickup"]["order"]["pickup"]["code"]
    await pay(gw, order_id, total, "f-6b-pay")
    before = await level(gw, WIPES, STORE)
    stall = Stall()
    monkeypatch.setattr(lifecycle, "change_order", first(
        stall, lifecycle.change_order, lambda *a, **k: k["op_id"].startswith("collect:")))
    stalled = asyncio.create_task(data(gw.client, COLLECT, {"o": order_id, "c": code,
                                                             "k": "f-6b-c1"}))
    await asyncio.wait_for(stall.there.wait(), 10)
    # when a second collection (another key: the till sent it twice) completes it meanwhile,
    # and then the first one wakes up
    second = await data(gw.client, COLLECT, {"o": order_id, "c": code, "k": "f-6b-c2"})
    stall.go.set()
    woke = await asyncio.wait_for(stalled, 10)
    # then both answer the collected order, whose units left the shelf once
    assert second["collectOrder"]["order"]["status"] == "COMPLETED"
    assert woke["collectOrder"] == second["collectOrder"]
    assert await level(gw, WIPES, STORE) == (before[0] - 2, before[1] - 2)


async def test_five_wrong_codes_lock_the_pickup(gw: WritingGateway) -> None:
    order_id, total = await place(gw, "f-7", channel="ch_freshmart", member="mem_00022",
                                  location=STORE, lines=[(WIPES, 1)])
    await pay(gw, order_id, total, "f-7-pay")
    code = (await data(gw.client, PREPARE, {"o": order_id, "k": "f-7-r"})
            )["preparePickup"]["order"]["pickup"]["code"]
    wrong = str((int(code) + 1) % 10**6).zfill(6)
    for i in range(5):
        await data(gw.client, COLLECT, {"o": order_id, "c": wrong, "k": f"f-7-w{i}"})
    right = await data(gw.client, COLLECT, {"o": order_id, "c": code, "k": "f-7-ok"})
    assert right["collectOrder"]["userErrors"] == [{
        "field": "code", "code": "CONFLICT",
        "message": f"The pick-up of order {order_id} is locked after 5 wrong codes."}]


async def test_an_expired_pickup_is_cancelled_and_refunded(gw: WritingGateway) -> None:
    # given a paid order ready for pick-up
    order_id, total = await place(gw, "f-8", channel="ch_freshmart", member="mem_00023",
                                  location=STORE, lines=[(WIPES, 1)])
    payment_id = await pay(gw, order_id, total, "f-8-pay")
    await data(gw.client, PREPARE, {"o": order_id, "k": "f-8-r"})
    early = await data(gw.client, EXPIRE, {"o": order_id, "k": "f-8-e0"})
    assert early["expirePickup"]["userErrors"][0]["code"] == "CONFLICT"
    before = await level(gw, WIPES, STORE)
    # when its time has run out and it is expired (twice, with two keys)
    await gw.db["orders"].update_one({"_id": order_id}, {"$set": {
        "pickup.expires_at": now() - timedelta(minutes=1)}})
    expired = await data(gw.client, EXPIRE, {"o": order_id, "k": "f-8-e1"})
    second = await data(gw.client, EXPIRE, {"o": order_id, "k": "f-8-e2"})
    # then it is cancelled, the reservation released and the payment refunded, once
    assert expired["expirePickup"]["order"]["status"] == "CANCELLED"
    assert expired["expirePickup"]["order"]["pickup"]["status"] == "EXPIRED"
    assert second == expired
    assert await level(gw, WIPES, STORE) == (before[0], before[1] - 1)
    payment = await gw.db["payments"].find_one({"_id": payment_id})
    assert (payment["status"], payment["refunded"]) == ("REFUNDED", total)


async def test_an_expiry_retried_after_its_points_failed_takes_them_back_once(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a paid order ready for pick-up whose time ran out, and points that cannot move,
    # once, when the expiry takes them back (the order is CANCELLED by then)
    member = "mem_00025"
    order_id, total = await place(gw, "f-8b", channel="ch_freshmart", member=member,
                                  location=STORE, lines=[(WIPES, 1)])
    points = (await gw.db["members"].find_one({"_id": member}))["points"]
    payment_id = await pay(gw, order_id, total, "f-8b-pay")
    await data(gw.client, PREPARE, {"o": order_id, "k": "f-8b-r"})
    await gw.db["orders"].update_one({"_id": order_id}, {"$set": {
        "pickup.expires_at": now() - timedelta(minutes=1)}})
    failed = fail_once(monkeypatch, member_writes, "add_points_once",
                       AutoReconnect("members down"),
                       when=lambda db, **kw: kw["op"].startswith("REVERSE:"))
    # when it is expired, the call fails (retryable), and the client retries it (twice)
    first = await gql(gw.client, EXPIRE, {"o": order_id, "k": "f-8b-e"})
    assert [e["extensions"]["code"] for e in first["errors"]] == ["UNAVAILABLE"]
    assert failed == [1]
    assert (await gw.db["orders"].find_one({"_id": order_id}))["status"] == "CANCELLED"
    for _ in range(2):
        again = await data(gw.client, EXPIRE, {"o": order_id, "k": "f-8b-e"})
        # then it is cancelled, its payment refunded, and the points it earned taken back,
        # once
        assert again["expirePickup"]["order"]["status"] == "CANCELLED"
        doc = await gw.db["members"].find_one({"_id": member})
        entries = await gw.db["points_ledger"].find({"order_id": order_id}).to_list(None)
        assert (doc["points"], sorted((e["reason"], e["delta"]) for e in entries)) == (
            points, [("EARN", total // 100), ("REVERSE", -(total // 100))])
    payment = await gw.db["payments"].find_one({"_id": payment_id})
    assert (payment["status"], payment["refunded"]) == ("REFUNDED", total)


async def test_a_warehouse_order_has_no_pickup(gw: WritingGateway) -> None:
    order_id, _ = await place(gw, "f-9", channel="ch_flagship", member="mem_00023",
                              location=WAREHOUSE, lines=[(WIPES, 1)])
    result = await data(gw.client, PREPARE, {"o": order_id, "k": "f-9-r"})
    assert result["preparePickup"]["userErrors"] == [{
        "field": "order", "code": "CONFLICT",
        "message": f"Order {order_id} is not reserved at a store or outlet."}]


async def shipment_movements(gw: WritingGateway, order_id: str) -> list[tuple[str, int]]:
    docs = await gw.db["stock_movements"].find(
        {"order_id": order_id, "kind": "SHIPMENT"}).to_list(None)
    return sorted((m["sku"], m["delta"]) for m in docs)


async def test_a_retry_refused_after_a_stalled_shipment_took_a_line_ships_nothing_without_it(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch, stalled_holder: None,
) -> None:
    # given a paid order of 2 + 2 units reserved at the warehouse, and a shipment that took
    # its first line and stalled before its second, past its lease
    order_id, total = await place(gw, "f-10", channel="ch_flagship", member="mem_00024",
                                  location=WAREHOUSE, lines=[(WIPES, 2), (DIAPERS, 2)])
    await pay(gw, order_id, total, "f-10-pay")
    wipes, diapers = await level(gw, WIPES, WAREHOUSE), await level(gw, DIAPERS, WAREHOUSE)
    stall = Stall()
    monkeypatch.setattr(lifecycle, "take_stock", first(
        stall, lifecycle.take_stock, lambda *a, **k: k["sku"] == DIAPERS))
    stalled = asyncio.create_task(data(gw.client, SHIP, ship(order_id, "f-10-s")))
    await asyncio.wait_for(stall.there.wait(), 10)
    await lease_runs_out(gw.db, "admin:shipOrder:f-10-s")
    assert await level(gw, WIPES, WAREHOUSE) == (wipes[0] - 2, wipes[1] - 2)
    # when the client's retry takes the shipment over (the first line is the stalled
    # request's, taken under the same shipment id) and finds the second line short
    await gw.db["inventory"].update_one({"_id": f"{DIAPERS}@{WAREHOUSE}"},
                                        {"$set": {"on_hand": 1}})
    retry = await data(gw.client, SHIP, ship(order_id, "f-10-s"))
    # then the retry is refused and the first line's units are back
    assert [e["code"] for e in retry["shipOrder"]["userErrors"]] == ["INSUFFICIENT_STOCK"]
    assert await level(gw, WIPES, WAREHOUSE) == wipes
    # and when the stock is back and the stalled request wakes up, it takes the second line
    # but may not record the shipment: it gives back what it took and answers IN_USE
    await gw.db["inventory"].update_one({"_id": f"{DIAPERS}@{WAREHOUSE}"},
                                        {"$set": {"on_hand": diapers[0]}})
    stall.go.set()
    woke = await asyncio.wait_for(stalled, 10)
    assert woke["shipOrder"]["userErrors"] == [{
        "field": "idempotencyKey", "code": "IDEMPOTENCY_KEY_IN_USE",
        "message": "This request stalled and a retry with the same idempotency key took it "
                   "over; retry to get its outcome."}]
    assert (await gw.db["orders"].find_one({"_id": order_id}))["status"] == "PAID"
    assert (await level(gw, WIPES, WAREHOUSE), await level(gw, DIAPERS, WAREHOUSE)) == (
        wipes, diapers)
    assert await shipment_movements(gw, order_id) == []
    # and the shipment sent again ships every unit once, with its movements
    again = await data(gw.client, SHIP, ship(order_id, "f-10-s"))
    assert again["shipOrder"]["order"]["status"] == "SHIPPED"
    assert (await level(gw, WIPES, WAREHOUSE), await level(gw, DIAPERS, WAREHOUSE)) == (
        (wipes[0] - 2, wipes[1] - 2), (diapers[0] - 2, diapers[1] - 2))
    assert await shipment_movements(gw, order_id) == sorted([(WIPES, -2), (DIAPERS, -2)])


async def test_a_retry_that_fails_after_a_stalled_shipment_took_every_line_keeps_them_for_it(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch, stalled_holder: None,
) -> None:
    # given a paid order, and a shipment that took every line, committed and stalled just
    # before recording the shipment on the order, past its lease
    order_id, total = await place(gw, "f-11", channel="ch_flagship", member="mem_00024",
                                  location=WAREHOUSE, lines=[(WIPES, 1), (DIAPERS, 3)])
    await pay(gw, order_id, total, "f-11-pay")
    wipes, diapers = await level(gw, WIPES, WAREHOUSE), await level(gw, DIAPERS, WAREHOUSE)
    stall = Stall()
    change_order, _ = stalled_then_down(stall, lifecycle.change_order,
                                        lambda *a, **k: k["op_id"].startswith("shp_"))
    monkeypatch.setattr(lifecycle, "change_order", change_order)
    stalled = asyncio.create_task(data(gw.client, SHIP, ship(order_id, "f-11-s")))
    await asyncio.wait_for(stall.there.wait(), 10)
    await lease_runs_out(gw.db, "admin:shipOrder:f-11-s")
    # when the client's retry takes the shipment over, finds the lines taken and fails to
    # record it (the database refuses)
    retry = await gql(gw.client, SHIP, ship(order_id, "f-11-s"))
    assert [e["extensions"]["code"] for e in retry["errors"]] == ["INTERNAL"]
    # then it gives nothing back: the stalled request may still record the shipment
    taken = ((wipes[0] - 1, wipes[1] - 1), (diapers[0] - 3, diapers[1] - 3))
    assert (await level(gw, WIPES, WAREHOUSE), await level(gw, DIAPERS, WAREHOUSE)) == taken
    # and when the stalled request wakes up, it records the shipment, its units taken once
    stall.go.set()
    woke = await asyncio.wait_for(stalled, 10)
    shipment = woke["shipOrder"]["shipment"]
    assert woke["shipOrder"]["order"]["status"] == "SHIPPED"
    assert (await level(gw, WIPES, WAREHOUSE), await level(gw, DIAPERS, WAREHOUSE)) == taken
    assert await shipment_movements(gw, order_id) == sorted([(WIPES, -1), (DIAPERS, -3)])
    # and once the failed retry's lease runs out, the shipment sent again is that shipment
    await lease_runs_out(gw.db, "admin:shipOrder:f-11-s")
    again = await data(gw.client, SHIP, ship(order_id, "f-11-s"))
    assert again["shipOrder"]["shipment"] == shipment
    assert (await level(gw, WIPES, WAREHOUSE), await level(gw, DIAPERS, WAREHOUSE)) == taken
