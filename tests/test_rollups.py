"""Member rollups (gateway/commerce/rollups.py): every write that changes a member's totals
keeps them equal to a recomputation, exactly once, under concurrency, after a writer that
died, and ``omnigw rollups rebuild --check`` proves it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pymongo
import pytest
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.clock import now
from gateway.commerce import rollups
from gateway.database import rollups as stored
from gateway.database.writes.rollups import rollup_id
from tests.support import WritingGateway, data, fresh_gateway

MEMBER = "mem_00020"
SKU = "sku_aloe_body_wash_1l"
PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id total { minorUnits } } userErrors { code } } }"""
PAY = """mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
  payment { id } userErrors { code } } }"""
VISIT = """mutation($input: RecordVisitInput!) { recordVisit(input: $input) {
  visit { id } userErrors { code } } }"""
CANCEL = """mutation($id: ID!) { cancelOrder(order: $id) { order { status }
  userErrors { code } } }"""
IMPORT = """mutation($orders: [ImportOrderInput!]!) { importOrders(channel: "ch_villagelink",
  location: "loc_vl_anji", orders: $orders) { created userErrors { code } } }"""
MERGE = """mutation { mergeMembers(survivor: "mem_00020", merged: "mem_00021") {
  merge { id } userErrors { code } } }"""
UNMERGE = """mutation($id: ID!) { unmergeMembers(mergeId: $id) { merge { id }
  userErrors { code } } }"""
SUMMARIES = """query($id: ID!) { member(id: $id) { lifetimeValue { minorUnits }
  channelSummaries { channel { id } orderCount spendBase { minorUnits } visitCount
                     firstActivityAt lastActivityAt } } }"""


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    # the per-key throttle in memory: these tests are about rollups, not the shared bucket
    async for gateway in fresh_gateway(request.param, seeded, "rollups", throttle_store="memory"):
        # online orders are served from stock: enough at the flagship's warehouse for them all
        await gateway.db["inventory"].update_one(
            {"_id": f"{SKU}@loc_wh_hangzhou"},
            {"$set": {"sku": SKU, "location_id": "loc_wh_hangzhou", "on_hand": 10_000,
                      "reserved": 0, "holds": []}}, upsert=True)
        yield gateway


def place(key: str, member: str = MEMBER) -> dict[str, Any]:
    return {"input": {"channel": "ch_flagship", "member": member, "idempotencyKey": key,
                      "lines": [{"sku": SKU, "quantity": 1}]}}


def visit(key: str) -> dict[str, Any]:
    return {"input": {"channel": "ch_freshmart", "kind": "STORE_VISIT", "source": "door",
                      "member": MEMBER, "idempotencyKey": key}}


async def rollup(gw: WritingGateway, channel: str) -> dict[str, Any]:
    doc = await gw.db["member_rollups"].find_one({"_id": rollup_id(MEMBER, channel)}) or {}
    return {k: doc.get(k, 0) for k in ("orders", "spend", "spend_base", "visits")}


async def test_every_kind_of_write_keeps_the_rollups_equal_to_a_recomputation(
    gw: WritingGateway
) -> None:
    # given rollups equal to a recomputation after the seeds were loaded
    assert await stored.differences(gw.db) == []
    before = await rollup(gw, "ch_flagship")
    # when a member orders, pays, cancels, visits, an order is imported, and members merge
    placed = [(await data(gw.client, PLACE, place(f"w-{i}")))["placeOrder"]["order"]
              for i in range(3)]
    await data(gw.client, PAY, {"input": {
        "order": placed[0]["id"], "amount": placed[0]["total"]["minorUnits"], "currency": "CNY",
        "method": "CARD", "idempotencyKey": "w-pay"}})
    assert (await data(gw.client, CANCEL, {"id": placed[1]["id"]}))["cancelOrder"]["order"] == {
        "status": "CANCELLED"}
    await data(gw.client, CANCEL, {"id": placed[1]["id"]})  # a retry changes nothing
    await data(gw.client, VISIT, visit("w-visit"))
    await data(gw.client, VISIT, visit("w-visit"))  # a replay changes nothing
    imported = await data(gw.client, IMPORT, {"orders": [{
        "externalId": "w-imp", "currency": "CNY", "member": MEMBER,
        "placedAt": "2026-10-30T03:00:00Z",
        "lines": [{"sku": "sku_sesame_oil_500ml", "quantity": 1, "unitPrice": "1000"}]}]})
    assert imported["importOrders"]["created"] == 1
    merged = await data(gw.client, MERGE, {})
    # then the rollups still equal a recomputation, and the member's show two more orders
    assert await stored.differences(gw.db) == []
    total = int(placed[0]["total"]["minorUnits"])
    after = await rollup(gw, "ch_flagship")
    assert after == {**before, "orders": before["orders"] + 2,
                     "spend": before["spend"] + 2 * total,
                     "spend_base": before["spend_base"] + 2 * total}
    # and no due entry is left on any document
    for collection in rollups.DUE_COLLECTIONS:
        assert await gw.db[collection].count_documents({"rollup_due.0": {"$exists": True}}) == 0
    # when the merge is undone, the rollups are still right (a merge moves no activity)
    await data(gw.client, UNMERGE, {"id": merged["mergeMembers"]["merge"]["id"]})
    assert await stored.differences(gw.db) == []


async def test_100_concurrent_orders_payments_and_visits_for_one_member(
    gw: WritingGateway
) -> None:
    # given 30 orders of the member to pay
    to_pay = [(await data(gw.client, PLACE, place(f"c-pay-{i}")))["placeOrder"]["order"]
              for i in range(30)]
    before = {ch: await rollup(gw, ch) for ch in ("ch_flagship", "ch_freshmart")}
    # when 40 orders, 30 payments and 30 visits for that member arrive at once
    results = await asyncio.gather(
        *(data(gw.client, PLACE, place(f"c-order-{i}")) for i in range(40)),
        *(data(gw.client, PAY, {"input": {"order": o["id"], "amount": o["total"]["minorUnits"],
                                          "currency": "CNY", "method": "CASH",
                                          "idempotencyKey": f"c-pay-{i}"}})
          for i, o in enumerate(to_pay)),
        *(data(gw.client, VISIT, visit(f"c-visit-{i}")) for i in range(30)),
    )
    # then every write succeeded, and the rollups equal a recomputation
    assert all(not next(iter(r.values()))["userErrors"] for r in results)
    assert await stored.differences(gw.db) == []
    total = int(to_pay[0]["total"]["minorUnits"])
    assert await rollup(gw, "ch_flagship") == {
        **before["ch_flagship"], "orders": before["ch_flagship"]["orders"] + 40,
        "spend": before["ch_flagship"]["spend"] + 40 * total,
        "spend_base": before["ch_flagship"]["spend_base"] + 40 * total}
    assert await rollup(gw, "ch_freshmart") == {
        **before["ch_freshmart"], "visits": before["ch_freshmart"]["visits"] + 30}


async def test_a_writer_that_died_after_its_write_is_folded_once(gw: WritingGateway) -> None:
    # given an order written with its due entry by a writer that died before folding it
    before = await rollup(gw, "ch_flagship")
    doc: dict[str, Any] = {"_id": "ord_died_0001", "member_id": MEMBER, "channel_id": "ch_flagship",
           "location_id": None, "lines": [], "total": 700, "currency": "CNY",
           "status": "PLACED", "placed_at": now(), "fx_rate": "1", "total_base": 700, "paid": 0}
    change = rollups.order_placed(doc)
    assert change is not None
    doc["rollup_due"] = [rollups.due(change, at=now() - rollups.SETTLE_AFTER
                                     - timedelta(seconds=1))]
    await gw.db["orders"].insert_one(doc)
    assert len(await stored.differences(gw.db)) == 1  # the rollup is behind
    # when the sweeper runs twice, and the stalled writer wakes up and folds as well
    assert await rollups.sweep(gw.db) == 1
    assert await rollups.sweep(gw.db) == 0
    await rollups.apply(gw.db, collection="orders", doc_id=doc["_id"], change=change)
    # then the order counts once, and its due entry is gone
    assert await rollup(gw, "ch_flagship") == {
        **before, "orders": before["orders"] + 1, "spend": before["spend"] + 700,
        "spend_base": before["spend_base"] + 700}
    assert await stored.differences(gw.db) == []
    assert (await gw.db["orders"].find_one({"_id": doc["_id"]}))["rollup_due"] == []


async def test_a_due_entry_within_its_deadline_is_left_to_its_writer(gw: WritingGateway) -> None:
    # given an order whose writer is still working (its due entry is not overdue)
    doc: dict[str, Any] = {"_id": "ord_busy_0001", "member_id": MEMBER, "channel_id": "ch_flagship",
           "location_id": None, "lines": [], "total": 500, "currency": "CNY",
           "status": "PLACED", "placed_at": now(), "fx_rate": "1", "total_base": 500, "paid": 0}
    change = rollups.order_placed(doc)
    assert change is not None
    doc["rollup_due"] = [rollups.due(change)]
    await gw.db["orders"].insert_one(doc)
    # then the sweeper leaves it, and the writer's fold is the one that counts
    assert await rollups.sweep(gw.db) == 0
    await rollups.apply(gw.db, collection="orders", doc_id=doc["_id"], change=change)
    assert await stored.differences(gw.db) == []


def test_rebuild_check_finds_a_wrong_rollup_and_rebuild_repairs_it(
    mongo_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given seeded demo data (``omnigw seed`` rebuilds the rollups after loading)
    database = "omnigw_cli_rollups"
    monkeypatch.setenv("MONGODB_URI", mongo_uri)
    monkeypatch.setenv("OMNIGW_DATABASE", database)
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(mongo_uri, tz_aware=True)
    client.drop_database(database)
    try:
        assert CliRunner().invoke(app, ["seed"]).exit_code == 0
        runner = CliRunner()
        checked = runner.invoke(app, ["rollups", "rebuild", "--check"])
        assert (checked.exit_code, checked.output) == (
            0, "0 rollups differ from a recomputation\n")
        # when one rollup is wrong
        first = client[database]["member_rollups"].find_one({}, sort=[("_id", 1)])
        assert first is not None
        wrong = first["_id"]
        client[database]["member_rollups"].update_one({"_id": wrong}, {"$inc": {"orders": 1}})
        # then --check names it and exits 1, changing nothing
        checked = runner.invoke(app, ["rollups", "rebuild", "--check"])
        assert checked.exit_code == 1
        assert checked.output.startswith(f"{wrong}: stored ")
        assert checked.output.endswith("1 rollups differ from a recomputation\n")
        assert runner.invoke(app, ["rollups", "rebuild", "--check"]).exit_code == 1
        # and rebuild repairs it
        rebuilt = runner.invoke(app, ["rollups", "rebuild"])
        assert rebuilt.exit_code == 0
        assert rebuilt.output.startswith("rebuilt ")
        assert runner.invoke(app, ["rollups", "rebuild", "--check"]).exit_code == 0
    finally:
        client.drop_database(database)
        client.close()
