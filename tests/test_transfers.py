"""Transfers between locations (gateway.commerce.transfers): units leave one location and
arrive at the other exactly once, under retries, concurrent callers and requests killed half-way;
every change is a movement that resolves. On the wire server and the embedded store; the
gateways here hold a reservation for 1 s and sweep every 0.1 s."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.database.writes import stock as stock_writes
from gateway.database.writes import transfers as transfer_writes
from tests.support import PARTNER_B, WritingGateway, data, fresh_gateway, gql

CREATE = """mutation($input: CreateTransferInput!) { createTransfer(input: $input) {
  transfer { id status lines { sku quantity } from { id } to { id } }
  userErrors { field code message } } }"""
STEP = """mutation($id: ID!, $key: String!) { %s(transfer: $id, idempotencyKey: $key) {
  transfer { id status } userErrors { field code message } } }"""
A, B = "loc_fm_beijing_chaoyang", "loc_fm_chengdu_jinjiang"  # FreshMart stores
WAREHOUSE = "loc_wh_hangzhou"  # the flagship's
X, Y = "sku_spicy_beef_jerky_150g", "sku_sesame_brittle_300g"
TIMEOUT = 1.0


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "transfers",
                                       reservation_timeout_seconds=TIMEOUT,
                                       reservation_sweep_seconds=0.1):
        yield gateway


async def set_stock(gw: WritingGateway, sku: str, location: str, on_hand: int | None,
                    reserved: int = 0) -> None:
    """Set a level (``None``: the SKU is not stocked there at all)."""
    key = f"{sku}@{location}"
    if on_hand is None:
        await gw.db["inventory"].delete_one({"_id": key})
        return
    await gw.db["inventory"].update_one({"_id": key}, {"$set": {
        "sku": sku, "location_id": location, "on_hand": on_hand, "reserved": reserved,
        "holds": []}}, upsert=True)


async def level(gw: WritingGateway, sku: str, location: str) -> tuple[int, int, int] | None:
    """(on hand, reserved, incoming) of a level, or None when there is none."""
    doc = await gw.db["inventory"].find_one({"_id": f"{sku}@{location}"})
    if doc is None:
        return None
    incoming = sum(h.get("incoming", 0) for h in doc.get("holds", []))
    return doc["on_hand"], doc["reserved"], incoming


def transfer(key: str, lines: dict[str, int], source: str = A,
             destination: str = B) -> dict[str, Any]:
    return {"input": {"from": source, "to": destination, "idempotencyKey": key,
                      "note": "weekly restock",
                      "lines": [{"sku": s, "quantity": q} for s, q in lines.items()]}}


async def create(gw: WritingGateway, key: str, lines: dict[str, int], **where: str) -> str:
    body = await data(gw.client, CREATE, transfer(key, lines, **where))
    assert body["createTransfer"]["userErrors"] == [], body
    return str(body["createTransfer"]["transfer"]["id"])


async def step(client: Any, name: str, transfer_id: str, key: str) -> dict[str, Any]:
    body = await data(client, STEP % f"{name}Transfer", {"id": transfer_id, "key": key})
    payload: dict[str, Any] = body[f"{name}Transfer"]
    return payload


MOVEMENTS = """query($loc: ID!, $sku: ID!, $id: ID!) {
  location(id: $loc) { movements(first: 5) { edges { node { id kind sku delta before after
    transfer { id status } } } } }
  product(sku: $sku) { movements(location: $loc, first: 5) { edges { node { id } } } }
  node(id: $id) { id ... on StockMovement { kind location { id } } } }"""


async def test_a_transfer_moves_units_out_of_one_location_and_into_the_other_once(
    gw: WritingGateway,
) -> None:
    # given 20 of X at A (2 reserved) and 5 at B; 10 of Y at A and none ever at B
    await set_stock(gw, X, A, 20, 2)
    await set_stock(gw, X, B, 5)
    await set_stock(gw, Y, A, 10)
    await set_stock(gw, Y, B, None)
    # when a transfer of 6 X and 4 Y is created: reserved at A, announced at B
    created = await data(gw.client, CREATE, transfer("t-life", {X: 6, Y: 4}))
    transfer_id = created["createTransfer"]["transfer"]["id"]
    assert created["createTransfer"] == {"transfer": {
        "id": transfer_id, "status": "CREATED", "lines": [
            {"sku": X, "quantity": 6}, {"sku": Y, "quantity": 4}],
        "from": {"id": A}, "to": {"id": B}}, "userErrors": []}
    assert [await level(gw, X, A), await level(gw, Y, A)] == [(20, 8, 0), (10, 4, 0)]
    assert [await level(gw, X, B), await level(gw, Y, B)] == [(5, 0, 6), (0, 0, 4)]
    # when it ships: the units leave A
    shipped = await step(gw.client, "ship", transfer_id, "t-life-ship")
    assert shipped == {"transfer": {"id": transfer_id, "status": "IN_TRANSIT"}, "userErrors": []}
    assert [await level(gw, X, A), await level(gw, Y, A)] == [(14, 2, 0), (6, 0, 0)]
    # when it is received: they arrive at B
    received = await step(gw.client, "receive", transfer_id, "t-life-receive")
    assert received["transfer"] == {"id": transfer_id, "status": "RECEIVED"}
    assert [await level(gw, X, B), await level(gw, Y, B)] == [(11, 0, 0), (4, 0, 0)]
    # then receiving or shipping it again (a new key) changes nothing
    for name in ("receive", "ship"):
        again = await step(gw.client, name, transfer_id, f"t-life-{name}-again")
        assert again == {"transfer": {"id": transfer_id, "status": "RECEIVED"},
                         "userErrors": []}
    assert [await level(gw, X, A), await level(gw, X, B)] == [(14, 2, 0), (11, 0, 0)]
    # and each change is a movement, listed at its location and for its product, by id
    moves = await gw.db["stock_movements"].find({"transfer_id": transfer_id}).to_list(None)
    assert sorted((m["kind"], m["sku"], m["location_id"], m["delta"], m["before"], m["after"])
                  for m in moves) == [
        ("TRANSFER_IN", Y, B, 4, 0, 4), ("TRANSFER_IN", X, B, 6, 5, 11),
        ("TRANSFER_OUT", Y, A, -4, 10, 6), ("TRANSFER_OUT", X, A, -6, 20, 14)]
    arrived = next(m for m in moves if m["kind"] == "TRANSFER_IN" and m["sku"] == X)
    listed = await data(gw.client, MOVEMENTS, {"loc": B, "sku": X, "id": arrived["_id"]})
    newest = [edge["node"] for edge in listed["location"]["movements"]["edges"][:2]]
    assert {"id": arrived["_id"], "kind": "TRANSFER_IN", "sku": X, "delta": 6, "before": 5,
            "after": 11, "transfer": {"id": transfer_id, "status": "RECEIVED"}} in newest
    assert listed["product"]["movements"]["edges"][0]["node"] == {"id": arrived["_id"]}
    assert listed["node"] == {"id": arrived["_id"], "kind": "TRANSFER_IN",
                              "location": {"id": B}}


async def test_cancelling_gives_the_units_back_and_withdraws_the_announcement(
    gw: WritingGateway,
) -> None:
    await set_stock(gw, X, A, 20, 2)
    await set_stock(gw, X, B, 5)
    transfer_id = await create(gw, "t-cancel", {X: 6})
    assert (await level(gw, X, A), await level(gw, X, B)) == ((20, 8, 0), (5, 0, 6))
    cancelled = await step(gw.client, "cancel", transfer_id, "t-cancel-1")
    assert cancelled["transfer"] == {"id": transfer_id, "status": "CANCELLED"}
    assert (await level(gw, X, A), await level(gw, X, B)) == ((20, 2, 0), (5, 0, 0))
    # cancelling again returns it; shipping or receiving it is a conflict; nothing moves
    assert (await step(gw.client, "cancel", transfer_id, "t-cancel-2"))["transfer"] == {
        "id": transfer_id, "status": "CANCELLED"}
    for name in ("ship", "receive"):
        refused = await step(gw.client, name, transfer_id, f"t-cancel-{name}")
        assert refused["transfer"] is None
        assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
            ("transfer", "CONFLICT")]
    assert (await level(gw, X, A), await level(gw, X, B)) == ((20, 2, 0), (5, 0, 0))
    assert await gw.db["stock_movements"].count_documents({"transfer_id": transfer_id}) == 0


async def test_refused_transfers_change_nothing(gw: WritingGateway) -> None:
    await set_stock(gw, X, A, 10, 7)
    await set_stock(gw, Y, A, 50)
    await set_stock(gw, X, B, 1)
    before = await gw.db["transfers"].count_documents({})
    cases = [
        (transfer("r1", {Y: 5, X: 4}), [("lines.1.quantity", "INSUFFICIENT_STOCK")]),
        (transfer("r2", {X: 1}, destination=A), [("to", "INVALID")]),
        (transfer("r3", {"sku_nothing": 1}), [("lines.0.sku", "NOT_FOUND")]),
        (transfer("r4", {X: 0, Y: 1_000_001}), [("lines.0.quantity", "INVALID"),
                                               ("lines.1.quantity", "LIMIT_EXCEEDED")]),
        (transfer("r5", {X: 1}, source="loc_nowhere"), [("from", "NOT_FOUND")]),
    ]
    for variables, expected in cases:
        body = await data(gw.client, CREATE, variables)
        assert body["createTransfer"]["transfer"] is None
        assert [(e["field"], e["code"]) for e in body["createTransfer"]["userErrors"]] == expected
    assert [await level(gw, X, A), await level(gw, Y, A), await level(gw, X, B)] == [
        (10, 7, 0), (50, 0, 0), (1, 0, 0)]
    assert await gw.db["transfers"].count_documents({}) == before
    # a step on an unknown transfer, and a transfer received before it shipped
    unknown = await step(gw.client, "ship", "trf_000000000000000000000000", "r6")
    assert [(e["field"], e["code"]) for e in unknown["userErrors"]] == [("transfer", "NOT_FOUND")]
    transfer_id = await create(gw, "r7", {X: 1})
    early = await step(gw.client, "receive", transfer_id, "r7-receive")
    assert [(e["field"], e["code"]) for e in early["userErrors"]] == [("transfer", "CONFLICT")]
    malformed = await gql(gw.client, STEP % "shipTransfer", {"id": "ord_1", "key": "r8"})
    assert [(e["extensions"]["code"], e["extensions"]["field"])
            for e in malformed["errors"]] == [("BAD_USER_INPUT", "transfer")]


async def test_a_key_makes_each_write_once(gw: WritingGateway) -> None:
    await set_stock(gw, X, A, 30)
    await set_stock(gw, X, B, 0)
    first = await data(gw.client, CREATE, transfer("k-1", {X: 3}))
    again = await data(gw.client, CREATE, transfer("k-1", {X: 3}))
    assert again == first and await level(gw, X, A) == (30, 3, 0)
    other = await data(gw.client, CREATE, transfer("k-1", {X: 4}))
    assert [(e["field"], e["code"]) for e in other["createTransfer"]["userErrors"]] == [
        ("idempotencyKey", "IDEMPOTENCY_KEY_REUSED")]
    transfer_id = first["createTransfer"]["transfer"]["id"]
    shipped = await step(gw.client, "ship", transfer_id, "k-ship")
    assert await step(gw.client, "ship", transfer_id, "k-ship") == shipped
    assert await level(gw, X, A) == (27, 0, 0)


async def test_100_concurrent_receipts_of_one_transfer_bring_the_units_once(
    gw: WritingGateway,
) -> None:
    # given a transfer of 7 X and 3 Y in transit to B
    await set_stock(gw, X, A, 40)
    await set_stock(gw, Y, A, 40)
    await set_stock(gw, X, B, 2)
    await set_stock(gw, Y, B, 0)
    transfer_id = await create(gw, "c-receive", {X: 7, Y: 3})
    await step(gw.client, "ship", transfer_id, "c-receive-ship")
    # when 100 receipts arrive at once, each with its own key
    results = await asyncio.gather(*(step(gw.client, "receive", transfer_id, f"c-r-{i}")
                                     for i in range(100)))
    # then every one answers RECEIVED, and the units arrived once
    assert Counter(r["transfer"]["status"] for r in results) == {"RECEIVED": 100}
    assert (await level(gw, X, B), await level(gw, Y, B)) == ((9, 0, 0), (3, 0, 0))
    moves = await gw.db["stock_movements"].find(
        {"transfer_id": transfer_id, "kind": "TRANSFER_IN"}).to_list(None)
    assert sorted((m["sku"], m["before"], m["after"]) for m in moves) == [(Y, 0, 3), (X, 2, 9)]


async def test_100_concurrent_ships_and_cancels_one_of_them_wins(gw: WritingGateway) -> None:
    await set_stock(gw, X, A, 40, 1)
    await set_stock(gw, X, B, 0)
    transfer_id = await create(gw, "c-race", {X: 5})
    results = await asyncio.gather(*(
        step(gw.client, "ship" if i % 2 else "cancel", transfer_id, f"c-race-{i}")
        for i in range(100)))
    outcomes = Counter(r["transfer"]["status"] if r["transfer"] else r["userErrors"][0]["code"]
                       for r in results)
    status = (await gw.db["transfers"].find_one({"_id": transfer_id}))["status"]
    # the winner's 50 answer its status; the loser's 50 are CONFLICT; the stock agrees
    assert outcomes == {status: 50, "CONFLICT": 50}
    assert (await level(gw, X, A), await level(gw, X, B)) == (
        ((35, 1, 0), (0, 0, 5)) if status == "IN_TRANSIT" else ((40, 1, 0), (0, 0, 0)))


def hang_once(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> asyncio.Event:
    """Fault injection: the first call of ``module.name`` stops for good (the event is set when
    it got there); later calls (the sweeper's, another request's) run."""
    there = asyncio.Event()
    real = getattr(module, name)

    async def first_hangs(*args: Any, **kwargs: Any) -> Any:
        if not there.is_set():
            there.set()
            await asyncio.Event().wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(module, name, first_hangs)
    return there


async def test_a_ship_killed_half_way_is_completed_by_the_sweeper(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await set_stock(gw, X, A, 30, 2)
    await set_stock(gw, X, B, 1)
    transfer_id = await create(gw, "h-ship", {X: 4})
    # when a ship changes the status, then dies before the units leave
    there = hang_once(monkeypatch, stock_writes, "take_held")
    request = asyncio.create_task(step(gw.client, "ship", transfer_id, "h-ship-1"))
    await asyncio.wait_for(there.wait(), 5)
    doc = await gw.db["transfers"].find_one({"_id": transfer_id})
    assert (doc["status"], doc["pending"], await level(gw, X, A)) == ("IN_TRANSIT", "SHIP",
                                                                      (30, 6, 0))
    # then the sweeper completes the step once it is older than the reservation timeout
    for _ in range(int((TIMEOUT + 3) / 0.05)):
        if "pending" not in await gw.db["transfers"].find_one({"_id": transfer_id}):
            break
        await asyncio.sleep(0.05)
    assert await level(gw, X, A) == (26, 2, 0)
    assert await gw.db["stock_movements"].count_documents(
        {"transfer_id": transfer_id, "kind": "TRANSFER_OUT"}) == 1
    request.cancel()
    await asyncio.gather(request, return_exceptions=True)
    # and the units arrive once when it is received
    assert (await step(gw.client, "receive", transfer_id, "h-ship-r"))["userErrors"] == []
    assert (await level(gw, X, A), await level(gw, X, B)) == ((26, 2, 0), (5, 0, 0))


async def test_a_create_killed_before_its_insert_gives_everything_back(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await set_stock(gw, X, A, 30, 2)
    await set_stock(gw, X, B, 1)
    there = hang_once(monkeypatch, transfer_writes, "insert")
    body = transfer("h-create", {X: 4})
    request = asyncio.create_task(gql(gw.client, CREATE, body))
    await asyncio.wait_for(there.wait(), 5)
    assert (await level(gw, X, A), await level(gw, X, B)) == ((30, 6, 0), (1, 0, 4))
    # the sweeper gives the reserved units back and withdraws the announcement, once
    for _ in range(int((TIMEOUT + 3) / 0.05)):
        if await level(gw, X, B) == (1, 0, 0) and await level(gw, X, A) == (30, 2, 0):
            break
        await asyncio.sleep(0.05)
    assert (await level(gw, X, A), await level(gw, X, B)) == ((30, 2, 0), (1, 0, 0))
    request.cancel()
    await asyncio.gather(request, return_exceptions=True)
    assert (await level(gw, X, A), await level(gw, X, B)) == ((30, 2, 0), (1, 0, 0))
    # and the client's retry creates it
    monkeypatch.undo()
    again = await data(gw.client, CREATE, body)
    assert again["createTransfer"]["transfer"]["status"] == "CREATED"
    assert (await level(gw, X, A), await level(gw, X, B)) == ((30, 6, 0), (1, 0, 4))


async def test_a_receipt_that_would_pass_the_stock_ceiling_stops_and_resumes(
    gw: WritingGateway,
) -> None:
    ceiling = gw.gateway.settings.max_stock_level
    await set_stock(gw, X, A, 30)
    await set_stock(gw, Y, A, 30)
    await set_stock(gw, X, B, 0)
    await set_stock(gw, Y, B, ceiling - 2)
    transfer_id = await create(gw, "ceiling", {X: 3, Y: 5})
    await step(gw.client, "ship", transfer_id, "ceiling-ship")
    refused = await step(gw.client, "receive", transfer_id, "ceiling-r1")
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        ("transfer", "LIMIT_EXCEEDED")]
    # the first line arrived; the transfer is still in transit, the rest still on its way
    assert (await level(gw, X, B), await level(gw, Y, B)) == ((3, 0, 0), (ceiling - 2, 0, 5))
    assert (await gw.db["transfers"].find_one({"_id": transfer_id}))["status"] == "IN_TRANSIT"
    await set_stock(gw, Y, B, 10)
    await gw.db["inventory"].update_one({"_id": f"{Y}@{B}"}, {"$push": {"holds": {
        "order": transfer_id, "quantity": 0, "incoming": 5, "token": "t"}}})
    done = await step(gw.client, "receive", transfer_id, "ceiling-r2")
    assert done["transfer"]["status"] == "RECEIVED"
    assert (await level(gw, X, B), await level(gw, Y, B)) == ((3, 0, 0), (15, 0, 0))


TRANSFERS = """{ transfers(first: 100) { edges { node { id } } } }"""
NODE = """query($id: ID!) { node(id: $id) { id } }"""


async def test_a_partner_moves_stock_only_between_its_own_locations(
    gw: WritingGateway,
) -> None:
    # given partner B (FreshMart and the Thailand marketplace) and an admin's transfer from
    # the flagship's warehouse to a FreshMart store
    await set_stock(gw, X, A, 30)
    await set_stock(gw, X, B, 0)
    await set_stock(gw, X, WAREHOUSE, 30)
    theirs = await create(gw, "p-admin", {X: 2}, source=WAREHOUSE, destination=A)
    key = await gw.gateway.key("transfer-partner", "partner", PARTNER_B)
    async with gw.gateway.client(key) as partner:
        # it moves stock between two of its stores, step after step
        own = await data(partner, CREATE, transfer("p-own", {X: 2}))
        mine = own["createTransfer"]["transfer"]["id"]
        assert (await step(partner, "ship", mine, "p-own-ship"))["userErrors"] == []
        assert (await step(partner, "receive", mine, "p-own-receive"))["userErrors"] == []
        # but not to or from another channel's location, which it cannot see
        out = await data(partner, CREATE, transfer("p-out", {X: 1}, destination=WAREHOUSE))
        assert [(e["field"], e["code"]) for e in out["createTransfer"]["userErrors"]] == [
            ("to", "NOT_FOUND")]
        # nor step a transfer from one: it does not exist for the partner
        for name in ("ship", "cancel", "receive"):
            refused = await step(partner, name, theirs, f"p-{name}")
            assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
                ("transfer", "NOT_FOUND")]
        listed = {e["node"]["id"] for e in (await data(partner, TRANSFERS))["transfers"]["edges"]}
        assert mine in listed and theirs not in listed
        assert await data(partner, NODE, {"id": theirs}) == {"node": None}
    assert (await gw.db["transfers"].find_one({"_id": theirs}))["status"] == "CREATED"
    assert (await level(gw, X, WAREHOUSE), await level(gw, X, B)) == ((30, 2, 0), (2, 0, 0))


async def commands(client: Any, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = await gql(client, query, variables)
    assert "errors" not in body and not next(iter(body["data"].values()))["userErrors"], body
    stats: dict[str, Any] = body["extensions"]["db"]
    return stats


async def test_commands_of_each_step(gw: WritingGateway) -> None:
    for sku in (X, Y):
        await set_stock(gw, sku, A, 50)
        await set_stock(gw, sku, B, 5)
    # createTransfer: claim, find locations (both), find products, then per line a
    # reservation at the source and an announcement at the destination, commit the claim
    # (fenced by its token: a request taken over meanwhile writes no transfer), insert, DONE
    one = await commands(gw.client, CREATE, transfer("n-1", {X: 1}))
    two = await commands(gw.client, CREATE, transfer("n-2", {X: 1, Y: 1}))
    assert (one["commands"], two["commands"]) == (6 + 2, 6 + 4)
    assert two["byCollection"] == {"idempotency": 3, "locations": 1, "products": 1,
                                   "inventory": 4, "transfers": 1}
    transfer_id = (await gw.db["transfers"].find_one({"created_by": "admin"},
                                                     sort=[("created_at", -1)]))["_id"]
    # shipTransfer: claim, findAndModify the status, per line one update taking the units
    # out, insert the movements, clear the step's mark, DONE
    ship = await commands(gw.client, STEP % "shipTransfer", {"id": transfer_id, "key": "n-s"})
    assert ship["byCollection"] == {"idempotency": 2, "transfers": 2, "inventory": 2,
                                    "stock_movements": 1}
    # receiveTransfer: claim, find the transfer, per line one update bringing the units in,
    # insert the movements, findAndModify the status, DONE
    receive = await commands(gw.client, STEP % "receiveTransfer",
                             {"id": transfer_id, "key": "n-r"})
    assert receive["byCollection"] == {"idempotency": 2, "transfers": 2, "inventory": 2,
                                       "stock_movements": 1}
    # cancelTransfer: claim, findAndModify the status, per line one update giving the units
    # back at the source, one update withdrawing every announcement, clear the mark, DONE
    other = (await gw.db["transfers"].find_one({"_id": {"$ne": transfer_id}, "status":
                                                "CREATED", "created_by": "admin"}))["_id"]
    cancel = await commands(gw.client, STEP % "cancelTransfer", {"id": other, "key": "n-c"})
    assert cancel["commands"] == 5 + 1
    # a replay: the claim, its read, and the transfer for the payload
    replay = await commands(gw.client, STEP % "shipTransfer", {"id": transfer_id, "key": "n-s"})
    assert replay == {"commands": 3, "byCollection": {"idempotency": 2, "transfers": 1}}
