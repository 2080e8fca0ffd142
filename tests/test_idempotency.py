"""Idempotency claims hold a lease (gateway.commerce.idempotency), on both stores: a holder
that works keeps its claim past the lease by renewing it; one that stalled past its deadline
loses it to a retry within a lease; a retry never waits past its own deadline. Still one
order per key. Leases here are 0.5 s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.commerce.idempotency import fingerprint
from gateway.commerce.orders import check_place_order
from gateway.database.writes import orders as order_writes
from tests.support import WritingGateway, data, fresh_gateway, gql

PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id } userErrors { field code message } } }"""
STORE, SKU = "loc_fm_shanghai_xuhui", "sku_aloe_body_wash_1l"
LEASE = 0.5


@asynccontextmanager
async def gateway(kind: str, uri: str, **overrides: Any) -> AsyncIterator[WritingGateway]:
    async for gw in fresh_gateway(kind, uri, f"leases_{kind}",
                                  idempotency_lease_seconds=LEASE, **overrides):
        yield gw


def order(key: str) -> dict[str, Any]:
    return {"input": {"channel": "ch_freshmart", "location": STORE, "member": "mem_00009",
                      "lines": [{"sku": SKU, "quantity": 1}], "idempotencyKey": key}}


@pytest.fixture
def stall(monkeypatch: pytest.MonkeyPatch) -> tuple[asyncio.Event, asyncio.Event]:
    """Fault injection: the first order insert waits until ``go`` is set (``there`` is set
    when it starts waiting)."""
    there, go = asyncio.Event(), asyncio.Event()
    insert = order_writes.insert

    async def stalled(db: Any, collection: str, doc: dict[str, Any]) -> None:
        if collection == "orders" and not there.is_set():
            there.set()
            await go.wait()
        await insert(db, collection, doc)

    monkeypatch.setattr(order_writes, "insert", stalled)
    return there, go


async def reserved_and_orders(gw: WritingGateway, key: str) -> tuple[int, int]:
    doc = await gw.db["inventory"].find_one({"_id": f"{SKU}@{STORE}"})
    claim = await gw.db["idempotency"].find_one({"_id": f"admin:placeOrder:{key}"})
    orders = await gw.db["orders"].count_documents({"_id": claim["result_id"]})
    return doc["reserved"], orders


@pytest.mark.parametrize("kind", ["wire", "embedded"])
async def test_a_working_holder_keeps_its_claim_past_the_lease(
    kind: str, seeded: str, stall: tuple[asyncio.Event, asyncio.Event],
) -> None:
    there, go = stall
    async with gateway(kind, seeded) as gw:
        reserved = (await gw.db["inventory"].find_one({"_id": f"{SKU}@{STORE}"}))["reserved"]
        # given a request that holds its key and works for 1.5 s (3 leases)
        first = asyncio.create_task(data(gw.client, PLACE, order("working-1")))
        await asyncio.wait_for(there.wait(), 5)
        started = time.monotonic()
        # when the client retries meanwhile
        retry = asyncio.create_task(data(gw.client, PLACE, order("working-1")))
        await asyncio.sleep(1.5)
        assert not retry.done()
        go.set()
        results = await asyncio.gather(first, retry)
        # then the retry waited for the holder (it renewed its lease) and got its order
        assert time.monotonic() - started >= 1.5
        assert results[0] == results[1]
        assert results[0]["placeOrder"]["userErrors"] == []
        assert await reserved_and_orders(gw, "working-1") == (reserved + 1, 1)


@pytest.mark.parametrize("kind", ["wire", "embedded"])
async def test_a_holder_stalled_past_its_deadline_loses_the_claim_to_a_retry(
    kind: str, seeded: str, stall: tuple[asyncio.Event, asyncio.Event],
) -> None:
    there, go = stall
    async with gateway(kind, seeded, request_timeout_ms=1000) as gw:
        reserved = (await gw.db["inventory"].find_one({"_id": f"{SKU}@{STORE}"}))["reserved"]
        # given a request that stalls before its insert, past its 1 s deadline
        first = asyncio.create_task(gql(gw.client, PLACE, order("stalled-1")))
        try:
            await asyncio.wait_for(there.wait(), 5)
            await asyncio.sleep(1.0 + LEASE + 0.2)  # it stopped renewing; its lease ran out
            # when the client retries
            asked = time.monotonic()
            retry = await data(gw.client, PLACE, order("stalled-1"))
            # then the retry takes the claim over at once and writes the order
            assert time.monotonic() - asked < 0.5
            assert retry["placeOrder"]["userErrors"] == []
        finally:
            # and when the stalled request wakes up, it writes nothing more
            go.set()
            woke = await first
        assert woke.get("data") in (None, retry)  # UNAVAILABLE past its deadline, or the same
        assert await reserved_and_orders(gw, "stalled-1") == (reserved + 1, 1)


@pytest.mark.parametrize("kind", ["wire", "embedded"])
async def test_a_retry_answers_in_use_within_its_deadline(kind: str, seeded: str) -> None:
    async with gateway(kind, seeded, request_timeout_ms=1000) as gw:
        # given a claim whose holder has gone silent, with 30 s of lease left
        now = datetime.now(UTC)
        i = order("silent-1")["input"]
        checked = check_place_order(channel=i["channel"], location=i["location"],
                                    member=i["member"], identity=None, lines=[(SKU, 1)],
                                    idempotency_key="silent-1", max_quantity=999)
        await gw.db["idempotency"].insert_one({
            "_id": "admin:placeOrder:silent-1", "status": "PENDING", "token": "silent",
            "fingerprint": fingerprint(checked.fingerprint_input()), "result_id": "ord_silent",
            "created_at": now, "claimed_at": now, "lease_until": now + timedelta(seconds=30)})
        # when the client retries
        asked = time.monotonic()
        retry = await data(gw.client, PLACE, order("silent-1"))
        # then it gets the retryable IDEMPOTENCY_KEY_IN_USE at its 1 s deadline, long before
        # the lease ends (the margin is for a loaded machine: the wait itself is the deadline)
        assert time.monotonic() - asked < 5.0
        assert retry["placeOrder"]["userErrors"] == [{
            "field": "idempotencyKey", "code": "IDEMPOTENCY_KEY_IN_USE",
            "message": "A request with this idempotency key is still in progress; retry in "
                       "30 s."}]
