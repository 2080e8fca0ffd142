"""importOrders (both stores) and ``omnigw import orders`` (wire server): independent rows,
one result per row, and re-runs that never double anything."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo.errors import AutoReconnect
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.clock import now
from gateway.commerce import imports, order_stock, rollups
from gateway.commerce.idempotency import fingerprint
from gateway.commerce.order_stock import Units
from gateway.database.writes import lifecycle
from gateway.database.writes import members as member_writes
from gateway.database.writes import orders as order_writes
from tests.support import PARTNER_A, PARTNER_B, WritingGateway, data, fresh_gateway, gql

IMPORT = """mutation($channel: ID!, $location: ID, $orders: [ImportOrderInput!]!) {
  importOrders(channel: $channel, location: $location, orders: $orders) {
    results { index externalId status order { id status total { minorUnits } }
              userErrors { field code message } }
    created duplicates rejected userErrors { field code message } } }"""
CHANNEL, OUTLET = "ch_villagelink", "loc_vl_anji"
OIL, MILLET = "sku_sesame_oil_500ml", "sku_yellow_millet_1kg"
NAME = "import"


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, NAME):
        yield gateway


def row(external_id: str, lines: list[tuple[str, int, int]], **extra: Any) -> dict[str, Any]:
    return {"externalId": external_id, "currency": "CNY", "placedAt": "2026-10-30T03:00:00Z",
            "member": "mem_00020",
            "lines": [{"sku": s, "quantity": q, "unitPrice": str(p)} for s, q, p in lines],
            **extra}


async def on_hand(gw: WritingGateway, sku: str) -> int:
    doc = await gw.db["inventory"].find_one({"_id": f"{sku}@{OUTLET}"})
    assert doc is not None
    value: int = doc["on_hand"]
    return value


async def send(gw: WritingGateway, orders: list[dict[str, Any]]) -> dict[str, Any]:
    result = await data(gw.client, IMPORT, {"channel": CHANNEL, "location": OUTLET,
                                            "orders": orders})
    payload: dict[str, Any] = result["importOrders"]
    return payload


async def test_rows_are_independent_and_resending_doubles_nothing(gw: WritingGateway) -> None:
    # given a batch with two good rows, an unknown SKU and a wrong currency
    batch = [row("T1-0001", [(OIL, 2, 2500)]),
             row("T1-0002", [(OIL, 1, 2500), (MILLET, 3, 1500)], paymentMethod="WALLET"),
             row("T1-0003", [("sku_unknown", 1, 100)]),
             row("T1-0004", [(OIL, 1, 100)], currency="USD")]
    oil, orders = await on_hand(gw, OIL), await gw.db["orders"].count_documents({})
    # when it is sent
    first = await send(gw, batch)
    # then each row has its own outcome
    assert [(r["index"], r["externalId"], r["status"], r["userErrors"])
            for r in first["results"]] == [
        (0, "T1-0001", "CREATED", []), (1, "T1-0002", "CREATED", []),
        (2, "T1-0003", "REJECTED", [{"field": "orders.2.lines.0.sku", "code": "NOT_FOUND",
                                     "message": "Unknown SKU sku_unknown."}]),
        (3, "T1-0004", "REJECTED", [{"field": "orders.3.currency", "code": "CURRENCY_MISMATCH",
                                     "message": "ch_villagelink sells in CNY, not USD."}])]
    assert (first["created"], first["duplicates"], first["rejected"]) == (2, 0, 2)
    assert [r["order"]["total"]["minorUnits"] for r in first["results"][:2]] == ["5000", "7000"]
    assert {r["order"]["status"] for r in first["results"][:2]} == {"COMPLETED"}
    assert await on_hand(gw, OIL) == oil - 3
    assert await gw.db["orders"].count_documents({}) == orders + 2
    created = first["results"][1]["order"]["id"]
    payment = await gw.db["payments"].find_one({"order_id": created})
    assert (payment["amount"], payment["method"], payment["status"]) == (7000, "WALLET",
                                                                         "CAPTURED")
    # when the same batch is sent again
    again = await send(gw, batch)
    # then the imported rows are DUPLICATE with the same orders, and nothing is written
    assert [(r["status"], r["order"]) for r in again["results"][:2]] == [
        ("DUPLICATE", first["results"][0]["order"]), ("DUPLICATE", first["results"][1]["order"])]
    assert (again["created"], again["duplicates"], again["rejected"]) == (0, 2, 2)
    assert await on_hand(gw, OIL) == oil - 3
    assert await gw.db["orders"].count_documents({}) == orders + 2


async def test_changed_row_with_a_used_id_and_short_stock(gw: WritingGateway) -> None:
    await send(gw, [row("T2-0001", [(MILLET, 1, 1500)])])
    millet = await on_hand(gw, MILLET)
    result = await send(gw, [row("T2-0001", [(MILLET, 2, 1500)]),
                             row("T2-0002", [(MILLET, 1, 1500), (OIL, 999, 2500)])])
    assert [r["userErrors"] for r in result["results"]] == [
        [{"field": "orders.0.externalId", "code": "IDEMPOTENCY_KEY_REUSED",
          "message": "This idempotency key was used with a different input."}],
        [{"field": "orders.1.lines.1.quantity", "code": "INSUFFICIENT_STOCK",
          "message": f"Not enough {OIL} at {OUTLET} for 999."}]]
    assert await on_hand(gw, MILLET) == millet


async def test_batch_limits(gw: WritingGateway) -> None:
    too_many = await send(gw, [row(f"T3-{i}", [(OIL, 1, 1)]) for i in range(501)])
    assert too_many["userErrors"] == [{"field": "orders", "code": "INVALID",
                                       "message": "Send 1 to 500 orders per call."}]
    no_outlet = await data(gw.client, IMPORT, {"channel": CHANNEL, "orders": [
        row("T3-x", [(OIL, 1, 1)])]})
    assert no_outlet["importOrders"]["userErrors"] == [{
        "field": "location", "code": "INVALID",
        "message": "Orders in ch_villagelink name the store or outlet."}]


async def test_a_row_retried_after_its_request_died_takes_its_stock_once(
    gw: WritingGateway,
) -> None:
    # given a request that took a row's units off the shelf and died before inserting the
    # order: its claim is PENDING with an expired lease
    order_id = "ord_died0000000000000000000"
    oil = await on_hand(gw, OIL)
    await lifecycle.take_stock(gw.db, sku=OIL, location_id=OUTLET, quantity=2, reserved=False,
                               op_id=order_id)
    dead = row("T4-0001", [(OIL, 2, 2500)])
    request = [OUTLET, "mem_00020", [], "CNY", "2026-10-30T03:00:00+00:00", "CASH",
               [[OIL, 2, 2500]]]
    at = now() - timedelta(minutes=5)
    await gw.db["idempotency"].insert_one({
        "_id": f"admin:importOrders:{CHANNEL}:T4-0001", "fingerprint": fingerprint(request),
        "status": "PENDING", "result_id": order_id, "token": "dead", "created_at": at,
        "claimed_at": at, "lease_until": at})
    # when the row is sent again
    result = await send(gw, [dead])
    # then the retry creates the order without taking its units a second time, and writes
    # their movement once, without the levels only the dead request read
    assert [(r["status"], r["order"]["id"]) for r in result["results"]] == [
        ("CREATED", order_id)]
    assert await on_hand(gw, OIL) == oil - 2
    assert await movements_of(gw, order_id) == [("SALE", OIL, OUTLET, -2, None, None)]
    # and sending it again writes nothing more
    again = await send(gw, [dead])
    assert [r["status"] for r in again["results"]] == ["DUPLICATE"]
    assert await on_hand(gw, OIL) == oil - 2
    assert await movements_of(gw, order_id) == [("SALE", OIL, OUTLET, -2, None, None)]


async def test_a_row_retried_after_its_movements_were_written_writes_them_once(
    gw: WritingGateway,
) -> None:
    # given a request that took a row's units and wrote their movements, and died before
    # inserting the order
    order_id = "ord_died0000000000000000001"
    oil, millet = await on_hand(gw, OIL), await on_hand(gw, MILLET)
    await order_stock.take(gw.db, location_id=OUTLET, units=[
        Units(sku=OIL, quantity=1, line=0), Units(sku=MILLET, quantity=2, line=1)],
        reserved=False, op_id=order_id, order_id=order_id, kind="SALE", by="admin")
    dead = row("T4-0002", [(OIL, 1, 2500), (MILLET, 2, 1500)])
    await dead_claim(gw, "T4-0002", order_id, [[OIL, 1, 2500], [MILLET, 2, 1500]])
    # when the row is sent again
    result = await send(gw, [dead])
    # then the order is created, its units taken once and each movement written once, with
    # the levels the first request read
    assert [(r["status"], r["order"]["id"]) for r in result["results"]] == [
        ("CREATED", order_id)]
    assert (await on_hand(gw, OIL), await on_hand(gw, MILLET)) == (oil - 1, millet - 2)
    assert await movements_of(gw, order_id) == sorted([
        ("SALE", OIL, OUTLET, -1, oil, oil - 1),
        ("SALE", MILLET, OUTLET, -2, millet, millet - 2)])


async def test_an_attempt_that_finds_the_order_written_by_the_one_it_took_over_undoes_nothing(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a row whose claim ran out while its first request was stalled after taking the
    # units; the request that takes it over takes nothing more, and the stalled one wakes up
    # and inserts the order just before it
    order_id = "ord_died0000000000000000002"
    oil = await on_hand(gw, OIL)
    await lifecycle.take_stock(gw.db, sku=OIL, location_id=OUTLET, quantity=3, reserved=False,
                               op_id=order_id)
    await dead_claim(gw, "T4-0003", order_id, [[OIL, 3, 2500]])
    insert = order_writes.insert

    async def woken(db: Any, collection: str, doc: dict[str, Any]) -> None:
        if collection == "orders":
            await insert(db, collection, dict(doc))  # the stalled request's insert
        await insert(db, collection, doc)

    monkeypatch.setattr(order_writes, "insert", woken)
    # when the row is sent again
    result = await send(gw, [row("T4-0003", [(OIL, 3, 2500)])])
    # then it is the order the stalled request wrote, whose units and movement stay
    assert [(r["status"], r["order"]["id"]) for r in result["results"]] == [
        ("DUPLICATE", order_id)]
    assert await on_hand(gw, OIL) == oil - 3
    assert await movements_of(gw, order_id) == [("SALE", OIL, OUTLET, -3, None, None)]


async def test_a_row_that_fails_after_taking_its_units_gives_them_back_with_their_movements(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a payment insert that fails (the database is gone, say)
    async def gone(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("payments down")

    monkeypatch.setattr(imports, "_pay", gone)
    oil, millet = await on_hand(gw, OIL), await on_hand(gw, MILLET)
    movements = await gw.db["stock_movements"].count_documents({})
    # when a row is sent
    body = await gql(gw.client, IMPORT, {"channel": CHANNEL, "location": OUTLET, "orders": [
        row("T4-0004", [(OIL, 1, 2500), (MILLET, 1, 1500)])]})
    # then the call fails, and the units, the movements and the key are as before
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INTERNAL"]
    assert (await on_hand(gw, OIL), await on_hand(gw, MILLET)) == (oil, millet)
    assert await gw.db["stock_movements"].count_documents({}) == movements
    assert await gw.db["orders"].count_documents({"external_id": "T4-0004"}) == 0
    assert await gw.db["idempotency"].count_documents(
        {"_id": f"admin:importOrders:{CHANNEL}:T4-0004"}) == 0


async def earned(gw: WritingGateway, order_id: str) -> tuple[int, int, int]:
    """The member's points, its rollup's orders in the channel, and the order's EARN entries
    and rollup folds, as one comparable tuple."""
    member = await gw.db["members"].find_one({"_id": "mem_00020"})
    rollup = await gw.db["member_rollups"].find_one({"_id": f"mem_00020|{CHANNEL}"})
    assert member is not None
    ledger = await gw.db["points_ledger"].count_documents({"_id": f"EARN:{order_id}"})
    return member["points"], (rollup or {}).get("orders", 0), ledger


async def fails_once_after_the_order_stands(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch, external_id: str, error: Exception,
    code: str, module: Any, name: str, only: Callable[..., bool] = lambda *_, **__: True,
) -> None:
    """Send a row whose ``module.name`` fails the first time (the first call ``only``
    accepts); then send it again: the same order, its units taken once, its rollup folded
    and its points credited once, the ledger agreeing with the member's points."""
    real = getattr(module, name)
    calls: list[int] = []

    async def blip(*args: Any, **kwargs: Any) -> Any:
        if only(*args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                raise error
        return await real(*args, **kwargs)

    monkeypatch.setattr(module, name, blip)
    oil, orders = await on_hand(gw, OIL), await gw.db["orders"].count_documents({})
    points, rollup_orders, _ = await earned(gw, "none")
    booked = await ledger_sum(gw)
    # when a row is sent and the step after its order and payment fails
    body = await gql(gw.client, IMPORT, {"channel": CHANNEL, "location": OUTLET,
                                         "orders": [row(external_id, [(OIL, 2, 2500)])]})
    # then the call fails (retryable), its order and payment standing
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]
    written = await gw.db["orders"].find({"external_id": external_id}).to_list(None)
    assert len(written) == 1
    order_id = written[0]["_id"]
    # and when the client sends the row again at once
    again = await send(gw, [row(external_id, [(OIL, 2, 2500)])])
    # then it is that order, its units taken once, its rollup and its points (50.00 CNY
    # at a rural outlet: 100) applied once
    assert [(r["status"], r["order"]["id"]) for r in again["results"]] == [
        ("DUPLICATE", order_id)]
    assert await gw.db["orders"].count_documents({}) == orders + 1
    assert await on_hand(gw, OIL) == oil - 2
    assert await gw.db["payments"].count_documents({"order_id": order_id}) == 1
    assert await earned(gw, order_id) == (points + 100, rollup_orders + 1, 1)
    assert await ledger_sum(gw) == booked + 100
    stored = await gw.db["orders"].find_one({"_id": order_id})
    assert stored is not None and stored.get("rollup_due", []) == []
    # and a third time, nothing more
    third = await send(gw, [row(external_id, [(OIL, 2, 2500)])])
    assert [(r["status"], r["order"]["id"]) for r in third["results"]] == [
        ("DUPLICATE", order_id)]
    assert await earned(gw, order_id) == (points + 100, rollup_orders + 1, 1)
    assert await ledger_sum(gw) == booked + 100


async def ledger_sum(gw: WritingGateway) -> int:
    """The sum of the member's ledger entries."""
    entries = await gw.db["points_ledger"].find({"member_id": "mem_00020"}).to_list(None)
    return sum(int(e["delta"]) for e in entries)


async def test_a_row_whose_rollup_fails_after_its_order_stands_is_that_order_when_retried(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await fails_once_after_the_order_stands(gw, monkeypatch, "T4-0005",
                                            RuntimeError("rollups down"), "INTERNAL", rollups,
                                            "apply")


async def test_a_row_whose_points_fail_after_its_order_stands_is_that_order_when_retried(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await fails_once_after_the_order_stands(gw, monkeypatch, "T4-0006",
                                            AutoReconnect("members down"), "UNAVAILABLE",
                                            member_writes, "add_points_once")


async def test_a_row_whose_ledger_entry_fails_after_its_points_is_credited_once_when_retried(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the member's points moved, then the ledger entry could not be written: the retry
    # writes the entry and does not credit the points again
    await fails_once_after_the_order_stands(
        gw, monkeypatch, "T4-0007", AutoReconnect("ledger down"), "UNAVAILABLE", member_writes,
        "insert", only=lambda _db, collection, _doc: collection == "points_ledger")


async def dead_claim(gw: WritingGateway, external_id: str, order_id: str,
                     lines: list[list[Any]]) -> None:
    """The claim of a request that died: PENDING, its lease run out."""
    request = [OUTLET, "mem_00020", [], "CNY", "2026-10-30T03:00:00+00:00", "CASH", lines]
    at = now() - timedelta(minutes=5)
    await gw.db["idempotency"].insert_one({
        "_id": f"admin:importOrders:{CHANNEL}:{external_id}",
        "fingerprint": fingerprint(request), "status": "PENDING", "result_id": order_id,
        "token": "dead", "created_at": at, "claimed_at": at, "lease_until": at})


async def movements_of(gw: WritingGateway, order_id: str) -> list[tuple[Any, ...]]:
    docs = await gw.db["stock_movements"].find({"order_id": order_id}).to_list(None)
    return sorted((m["kind"], m["sku"], m["location_id"], m["delta"], m["before"], m["after"])
                  for m in docs)


MOVEMENTS = """query($loc: ID!, $id: ID!) {
  location(id: $loc) { movements(first: 5) { edges { node {
    id kind sku delta by order { id } } } } }
  node(id: $id) { id } }"""
STORE, TOMATOES, RICE = "loc_fm_shenzhen_nanshan", "sku_cherry_tomatoes_1kg", "sku_jasmine_rice_5kg"


async def test_an_imports_movements_explain_each_level_it_changed(gw: WritingGateway) -> None:
    # given the levels of two SKUs at the outlet and the movements already there
    keys = [f"{sku}@{OUTLET}" for sku in (OIL, MILLET)]
    before = {key: (await gw.db["inventory"].find_one({"_id": key}))["on_hand"] for key in keys}
    known = {m["_id"] for m in await gw.db["stock_movements"].find({}).to_list(None)}
    # when a batch imports two orders, and one row is refused for short stock
    result = await send(gw, [row("T5-0001", [(OIL, 2, 2500), (MILLET, 1, 1500)]),
                             row("T5-0002", [(OIL, 1, 2500)]),
                             row("T5-0003", [(MILLET, 1, 1500), (OIL, 9999, 2500)])])
    assert [r["status"] for r in result["results"]] == ["CREATED", "CREATED", "REJECTED"]
    # then each level's new movements are SALEs of the created orders whose deltas sum to
    # its on-hand change, each starting where the one before it ended
    orders = {r["order"]["id"] for r in result["results"][:2]}
    new = [m for m in await gw.db["stock_movements"].find({}).to_list(None)
           if m["_id"] not in known]
    assert {(m["kind"], m["order_id"] in orders, m["by"]) for m in new} == {
        ("SALE", True, "admin")}
    for key in keys:
        sku = key.split("@")[0]
        mine = sorted((m for m in new if m["sku"] == sku), key=lambda m: m["before"],
                      reverse=True)
        after = (await gw.db["inventory"].find_one({"_id": key}))["on_hand"]
        assert sum(m["delta"] for m in mine) == after - before[key] < 0
        assert [(m["before"], m["after"]) for m in mine] == list(zip(
            [before[key]] + [m["after"] for m in mine[:-1]],
            [m["before"] + m["delta"] for m in mine], strict=True))
        assert mine[-1]["after"] == after
    # and resending the batch writes no movement
    await send(gw, [row("T5-0001", [(OIL, 2, 2500), (MILLET, 1, 1500)])])
    assert await gw.db["stock_movements"].count_documents({}) == len(known) + len(new)


async def test_a_partner_sees_the_movements_of_its_imports_only_at_its_locations(
    gw: WritingGateway,
) -> None:
    # given partner B, which sells through FreshMart, and partner A, which does not
    ours = await gw.gateway.key("import-b", "partner", PARTNER_B)
    theirs = await gw.gateway.key("import-a", "partner", PARTNER_A)
    async with gw.gateway.client(ours) as insider, gw.gateway.client(theirs) as outsider:
        # when partner B imports a till's order at one of its stores
        sent = await data(insider, IMPORT, {"channel": "ch_freshmart", "location": STORE,
                                            "orders": [row("T6-0001", [(TOMATOES, 2, 990),
                                                                       (RICE, 1, 6190)],
                                                           member=None)]})
        assert sent["importOrders"]["results"][0]["userErrors"] == []
        order_id = sent["importOrders"]["results"][0]["order"]["id"]
        ids = {m["sku"]: m["_id"] for m in await gw.db["stock_movements"].find(
            {"order_id": order_id}).to_list(None)}
        # then it lists their movements at the store, naming the order, without who made them
        shown = await data(insider, MOVEMENTS, {"loc": STORE, "id": ids[RICE]})
        assert sorted((e["node"]["id"], e["node"]["kind"], e["node"]["sku"], e["node"]["delta"],
                       e["node"]["by"], e["node"]["order"]["id"])
                      for e in shown["location"]["movements"]["edges"][:2]) == sorted([
            (ids[TOMATOES], "SALE", TOMATOES, -2, None, order_id),
            (ids[RICE], "SALE", RICE, -1, None, order_id)])
        assert shown["node"] == {"id": ids[RICE]}
        # and partner A sees neither the store nor the movement
        hidden = await data(outsider, MOVEMENTS, {"loc": STORE, "id": ids[RICE]})
        assert hidden == {"location": None, "node": None}


async def test_cli_import_can_be_rerun_after_an_interruption(
    seeded: str, tmp_path: Path
) -> None:
    # given a fresh database and a file of 30 offline orders, prices as JSON integers (the
    # file may hold a Long as a number)
    async for gw in fresh_gateway("wire", seeded, "import_cli"):
        orders = await gw.db["orders"].count_documents({})
        rows = [row(f"CLI-{i:04d}", [(OIL if i % 2 else MILLET, 1, 2000 + i)])
                for i in range(30)]
        for r in rows:
            for line in r["lines"]:
                line["unitPrice"] = int(line["unitPrice"])
        whole, part = tmp_path / "outlet.jsonl", tmp_path / "first-10.jsonl"
        whole.write_text("".join(json.dumps(r) + "\n" for r in rows))
        part.write_text("".join(json.dumps(r) + "\n" for r in rows[:10]))
        # when an interrupted run sent the first 10, and then the whole file is sent
        first = await asyncio.to_thread(run_cli, seeded, part)
        second = await asyncio.to_thread(run_cli, seeded, whole)
        # then 10 + 20 orders exist, none twice
        assert (first.exit_code, first.stdout.splitlines()[-1]) == (
            0, "created=10 duplicate=0 rejected=0")
        assert (second.exit_code, second.stdout.splitlines()[-1]) == (
            0, "created=20 duplicate=10 rejected=0")
        assert await gw.db["orders"].count_documents({}) == orders + 30
        assert await gw.db["orders"].count_documents({"source": "import"}) == 30


def run_cli(uri: str, path: Path, database: str = "omnigw_import_cli", batch: int = 7) -> Any:
    """``omnigw import orders`` in batches (in a thread: it runs its own event loop)."""
    return CliRunner().invoke(
        app, ["import", "orders", str(path), "--channel", CHANNEL, "--location", OUTLET,
              "--batch-size", str(batch)],
        env={"MONGODB_URI": uri, "OMNIGW_DATABASE": database})


async def test_cli_reports_each_malformed_row_and_imports_the_others(
    seeded: str, tmp_path: Path
) -> None:
    # given a file where most lines are wrong, each in its own way, among three good rows
    good = [row(f"MIX-{i}", [(OIL, 1, 1000 + i)]) for i in range(3)]
    lines = [
        json.dumps(good[0]),
        "{not json",
        "[1, 2]",
        json.dumps({**row("MIX-bad-1", [(OIL, 1, 1)]), "lines": None}),
        json.dumps(row("MIX-bad-2", [(OIL, "two", 1)])),
        "",
        json.dumps(good[1]),
        json.dumps({**row("MIX-bad-3", [(OIL, 1, 1)]), "colour": "red"}),
        json.dumps(row("MIX-bad-4", [("sku_unknown", 1, 100)])),
        json.dumps(row("X" * 300, [(OIL, 1, 1)])),
        json.dumps(good[2]),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    async for gw in fresh_gateway("wire", seeded, "import_mixed"):
        orders = await gw.db["orders"].count_documents({})
        # when it is imported in batches of 3
        result = await asyncio.to_thread(run_cli, seeded, path, "omnigw_import_mixed", 3)
        # then every bad line is reported with its number and reason, the good rows are in,
        # and the exit status says that some row failed
        assert result.exit_code == 1, result.output
        assert result.stdout.splitlines()[-1] == "created=3 duplicate=0 rejected=7"
        assert result.stderr.splitlines() == [
            "line 2: not JSON (Expecting property name enclosed in double quotes)",
            "line 3: not a JSON object",
            "line 4: BAD_USER_INPUT lines: Expected value of non-null type "
            "'[ImportLineInput!]!' not to be None.",
            "line 5: BAD_USER_INPUT lines[0].quantity: Int cannot represent non-integer "
            "value: 'two'.",
            "line 8: BAD_USER_INPUT row: Expected value of type 'ImportOrderInput' not to "
            "include unknown field 'colour'.",
            "line 9 (MIX-bad-4): NOT_FOUND lines.0.sku: Unknown SKU sku_unknown.",
            "line 10: BAD_USER_INPUT: A string argument has 300 characters; at most 256 are "
            "allowed (limit max_string_length).",
        ]
        assert await gw.db["orders"].count_documents({}) == orders + 3
        assert sorted(d["external_id"] for d in await gw.db["orders"].find(
            {"source": "import"}).to_list()) == ["MIX-0", "MIX-1", "MIX-2"]
