"""Leases of the shared bucket: a process takes a slice of a key's bucket ahead and spends it
without a command, yet the processes together never spend more than the bucket holds."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from gateway.admission.throttle import LEASE_SECONDS, MongoStore, Throttle
from gateway.database import monitoring
from tests.support import Gateway


@pytest.fixture
def commands() -> Iterator[list[str]]:
    """The commands sent to ``rate_limits`` meanwhile."""
    seen: list[str] = []

    class Seen:
        def started(self, command: str, collection: str | None, key: object) -> None:
            if collection == "rate_limits":
                seen.append(command)

        def finished(self, key: object, failure: str | None) -> None:
            pass

    observer = Seen()
    monitoring.observers.append(observer)
    try:
        yield seen
    finally:
        monitoring.observers.remove(observer)


async def test_charges_within_a_lease_send_no_command_and_the_rest_goes_back(
    wire_gateway: Gateway, commands: list[str],
) -> None:
    now = [1000.0]
    bucket = Throttle(size=1000, rate=100, store=MongoStore(wire_gateway.app.state.db),
                      clock=lambda: now[0])
    key = f"k-{uuid.uuid4().hex}"
    assert bucket.lease == 10
    # the first charge takes 1 point and a lease of 10; the next ten points cost no command
    assert await bucket.charge(key, 1) is None
    for _ in range(10):
        assert await bucket.charge(key, 1) is None
    assert commands == ["findAndModify"]
    assert bucket.available(key) == pytest.approx(989)
    # the lease is spent: the next charge goes to MongoDB (and leases again)
    assert await bucket.charge(key, 1) is None
    assert commands == ["findAndModify"] * 2
    # a lease too old is not spent: its remainder goes back with the next update
    now[0] += LEASE_SECONDS * 2
    assert await bucket.charge(key, 3) is None
    assert commands == ["findAndModify"] * 3
    doc = await wire_gateway.app.state.db["rate_limits"].find_one({"_id": key})
    # spent 15 points; the store holds them and one live lease of 10, no more
    assert doc["tat"] == pytest.approx(1000 + (15 + 10) / 100)


async def test_concurrent_charges_wait_for_the_one_taking_a_lease_and_spend_it(
    wire_gateway: Gateway, commands: list[str],
) -> None:
    now = [4000.0]
    bucket = Throttle(size=1000, rate=100, store=MongoStore(wire_gateway.app.state.db),
                      clock=lambda: now[0])
    key = f"k-{uuid.uuid4().hex}"
    # eight charges at once: one goes to MongoDB and takes a lease of 10 (a wrong guess of the
    # key's form costs one more update), the seven others wait for it and spend the lease
    assert await asyncio.gather(*(bucket.charge(key, 1) for _ in range(8))) == [None] * 8
    assert 1 <= len(commands) <= 2
    sent = len(commands)
    for _ in range(2):  # two more points from the lease (10 - 8): no command
        assert await bucket.charge(key, 1) is None
    assert len(commands) == sent
    assert bucket.available(key) == pytest.approx(1000 - 10)
    # a charge larger than the lease: the waiting ones take their own, one at a time
    assert await asyncio.gather(bucket.charge(key, 25), bucket.charge(key, 1)) == [None, None]
    assert bucket.available(key) == pytest.approx(1000 - 36)


async def test_a_waiting_charge_cancelled_leaves_the_others_unharmed(
    wire_gateway: Gateway,
) -> None:
    now = [5000.0]
    bucket = Throttle(size=1000, rate=100, store=MongoStore(wire_gateway.app.state.db),
                      clock=lambda: now[0])
    key = f"k-{uuid.uuid4().hex}"
    taking = asyncio.ensure_future(bucket.charge(key, 1))
    await asyncio.sleep(0)  # it is now taking the lease
    waiting = asyncio.ensure_future(bucket.charge(key, 1))
    await asyncio.sleep(0)
    waiting.cancel()
    assert await taking is None
    assert waiting.cancelled()
    assert await bucket.charge(key, 1) is None
    assert bucket.available(key) == pytest.approx(1000 - 2)


async def test_processes_sharing_a_bucket_never_spend_more_than_it_holds(
    wire_gateway: Gateway,
) -> None:
    now = [2000.0]
    store = MongoStore(wire_gateway.app.state.db)
    processes = [Throttle(size=1000, rate=100, store=store, clock=lambda: now[0])
                 for _ in range(3)]
    key = f"k-{uuid.uuid4().hex}"
    spent = 0
    # in turns, each process charges 7 points until every one is refused: the clock stands
    # still, so the bucket regains nothing
    refused: set[int] = set()
    turn = 0
    while len(refused) < len(processes):
        index = turn % len(processes)
        if await processes[index].charge(key, 7) is None:
            spent += 7
            refused.discard(index)
        else:
            refused.add(index)
        turn += 1
    assert spent <= 1000
    # what no process could pay is at most what the leases hold back, one per process
    assert 1000 - spent < 7 + len(processes) * processes[0].lease


async def test_a_nearly_empty_bucket_is_charged_without_a_lease(
    wire_gateway: Gateway, commands: list[str],
) -> None:
    now = [3000.0]
    bucket = Throttle(size=1000, rate=100, store=MongoStore(wire_gateway.app.state.db),
                      clock=lambda: now[0])
    key = f"k-{uuid.uuid4().hex}"
    assert await bucket.charge(key, 995) is None  # 995 + no lease: it would not fit
    assert await bucket.charge(key, 5) is None
    assert bucket.available(key) == 0
    assert await bucket.charge(key, 1) == 0.01
    doc = await wire_gateway.app.state.db["rate_limits"].find_one({"_id": key})
    assert doc["tat"] == pytest.approx(3000 + 1000 / 100)


async def test_small_buckets_and_the_memory_store_take_no_lease(wire_gateway: Gateway) -> None:
    assert Throttle(size=100, rate=10, store=MongoStore(wire_gateway.app.state.db)).lease == 0
    assert Throttle(size=10_000, rate=10).lease == 0
