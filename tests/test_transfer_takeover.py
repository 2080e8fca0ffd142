"""createTransfer when its request stalls past its lease and a retry takes the transfer over
(both stores): whatever each attempt does, a transfer exists only with every line reserved at
its source and announced at its destination once, and units stay reserved only for a transfer
that may still be written (gateway.commerce.idempotency, "Fenced work")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.database.writes import stock as stock_writes
from gateway.database.writes import transfers as transfer_writes
from tests.support import WritingGateway, fresh_gateway, gql
from tests.support.takeover import Stall, first, lease_runs_out, stalled_then_down
from tests.test_transfers import CREATE, A, B, X, Y, set_stock, transfer


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "transfer_takeover"):
        yield gateway


async def create(gw: WritingGateway, key: str) -> dict[str, Any]:
    body: dict[str, Any] = await gql(gw.client, CREATE, transfer(key, {X: 2, Y: 2}))
    return body


def outcome(body: dict[str, Any]) -> tuple[str | None, list[str]]:
    payload = body["data"]["createTransfer"]
    return ((payload["transfer"] or {}).get("id"),
            [e["code"] for e in payload["userErrors"]])


async def level(gw: WritingGateway, sku: str, location: str) -> tuple[int, int, list[Any]]:
    """On-hand, reserved and the transfers holding (at the source) or announcing (at the
    destination) units of ``sku`` at ``location``, with the units: ``(id, reserved,
    incoming)``."""
    doc = await gw.db["inventory"].find_one({"_id": f"{sku}@{location}"})
    assert doc is not None
    return doc["on_hand"], doc["reserved"], [
        (h["order"], h["quantity"], h.get("incoming", 0)) for h in doc.get("holds", [])]


async def levels(gw: WritingGateway) -> list[tuple[int, int, list[Any]]]:
    return [await level(gw, sku, location) for location in (A, B) for sku in (X, Y)]


def held(before: list[tuple[int, int, list[Any]]], transfer_id: str,
         ) -> list[tuple[int, int, list[Any]]]:
    """The levels ``before`` with 2 of X and of Y reserved at A and announced at B, once each,
    for ``transfer_id``."""
    (xa, ya, xb, yb) = before
    return [(xa[0], xa[1] + 2, [*xa[2], (transfer_id, 2, 0)]),
            (ya[0], ya[1] + 2, [*ya[2], (transfer_id, 2, 0)]),
            (xb[0], xb[1], [*xb[2], (transfer_id, 0, 2)]),
            (yb[0], yb[1], [*yb[2], (transfer_id, 0, 2)])]


async def stocked(gw: WritingGateway) -> list[tuple[int, int, list[Any]]]:
    for sku in (X, Y):
        await set_stock(gw, sku, A, 20)
        await set_stock(gw, sku, B, 5)
    return await levels(gw)


async def test_a_retry_refused_after_a_stalled_request_reserved_a_line_leaves_no_transfer_short(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch, stalled_holder: None,
) -> None:
    # given a request that reserved a transfer's first line at its source and stalled before
    # its second, past its lease
    stall = Stall()
    monkeypatch.setattr(stock_writes, "reserve", first(
        stall, stock_writes.reserve, lambda *a, **k: k["sku"] == Y))
    before = await stocked(gw)
    stalled = asyncio.create_task(create(gw, "stall-1"))
    await asyncio.wait_for(stall.there.wait(), 10)
    transfer_id = await lease_runs_out(gw.db, "admin:createTransfer:stall-1")
    assert (await level(gw, X, A))[1:] == (2, [(transfer_id, 2, 0)])
    # when the client's retry takes the transfer over (it takes the stalled request's hold on
    # the first line) and finds the second line short
    await gw.db["inventory"].update_one({"_id": f"{Y}@{A}"}, {"$set": {"on_hand": 1}})
    retry = await create(gw, "stall-1")
    # then the retry is refused, and the first line's units are available again
    assert outcome(retry) == (None, ["INSUFFICIENT_STOCK"])
    assert await level(gw, X, A) == before[0]
    # and when the stock is back and the stalled request wakes up, it reserves the second
    # line but may not write the transfer: it gives the units back and answers IN_USE
    await gw.db["inventory"].update_one({"_id": f"{Y}@{A}"}, {"$set": {"on_hand": 20}})
    stall.go.set()
    woke = await asyncio.wait_for(stalled, 10)
    assert outcome(woke) == (None, ["IDEMPOTENCY_KEY_IN_USE"])
    assert await gw.db["transfers"].count_documents({"_id": transfer_id}) == 0
    assert await levels(gw) == before
    # and the transfer created again is written once, each line reserved and announced once
    again = await create(gw, "stall-1")
    created, errors = outcome(again)
    assert created is not None and created != transfer_id and errors == []
    assert await levels(gw) == held(before, created)


async def test_a_retry_that_fails_after_a_stalled_request_reserved_every_line_keeps_them_for_it(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch, stalled_holder: None,
) -> None:
    # given a request that reserved and announced every line and stalled just before
    # inserting the transfer, past its lease
    stall = Stall()
    insert, failing = stalled_then_down(stall, transfer_writes.insert, lambda db, doc: True)
    monkeypatch.setattr(transfer_writes, "insert", insert)
    before = await stocked(gw)
    stalled = asyncio.create_task(create(gw, "stall-2"))
    await asyncio.wait_for(stall.there.wait(), 10)
    transfer_id = await lease_runs_out(gw.db, "admin:createTransfer:stall-2")
    # when the client's retry takes the transfer over, takes its holds and fails to insert it
    retry = await create(gw, "stall-2")
    assert [e["extensions"]["code"] for e in retry["errors"]] == ["INTERNAL"]
    assert [doc["_id"] for _, doc in failing] == [transfer_id]
    # then it gives nothing back: the stalled request may still write the transfer
    assert await levels(gw) == held(before, transfer_id)
    # and when the stalled request wakes up, it writes the transfer, its lines held once
    stall.go.set()
    woke = await asyncio.wait_for(stalled, 10)
    assert outcome(woke) == (transfer_id, [])
    assert await levels(gw) == held(before, transfer_id)
    # and once the failed retry's lease runs out, the transfer created again is that transfer
    await lease_runs_out(gw.db, "admin:createTransfer:stall-2")
    again = await create(gw, "stall-2")
    assert outcome(again) == (transfer_id, [])
    assert await gw.db["transfers"].count_documents({"_id": transfer_id}) == 1
    assert await levels(gw) == held(before, transfer_id)


async def test_a_request_whose_insert_fails_in_the_answer_leaves_no_transfer_and_no_holds(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a request whose transfer is written but whose insert fails on the way back
    insert = transfer_writes.insert
    written: list[str] = []

    async def lost_answer(db: Any, doc: dict[str, Any]) -> None:
        await insert(db, doc)
        written.append(doc["_id"])
        raise RuntimeError("connection reset")

    monkeypatch.setattr(transfer_writes, "insert", lost_answer)
    before = await stocked(gw)
    failed = await create(gw, "lost-1")
    # then the request fails, and its claim gone, the transfer and its holds are undone
    assert [e["extensions"]["code"] for e in failed["errors"]] == ["INTERNAL"]
    assert len(written) == 1
    assert await gw.db["transfers"].count_documents({"_id": written[0]}) == 0
    assert await gw.db["idempotency"].count_documents({"_id": "admin:createTransfer:lost-1"}) == 0
    assert await levels(gw) == before
    # and the retry creates the transfer once
    monkeypatch.setattr(transfer_writes, "insert", insert)
    created, errors = outcome(await create(gw, "lost-1"))
    assert created is not None and errors == []
    assert await levels(gw) == held(before, created)
