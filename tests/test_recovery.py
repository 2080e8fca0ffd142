"""Faults as production meets them, on a real ``omnigw serve`` process
(``tests/support/faults.py``):
6 readers and 2 writers over HTTP, ``/readyz`` polled every 100 ms, and the MongoDB server
killed and restarted, or frozen, under them. The gateway has a 2 s request deadline and a
5 s graceful period. ``python -m tests.fault_cycles --cycles N`` is the long version.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.support.faults import RECOVERY_LIMIT, Drill, recovery, restart_cycle

DEADLINE = 2.0
# PyMongo checks its deadline between waits of up to 0.5 s during server selection; the rest
# is HTTP and scheduling on a shared machine.
BOUND = DEADLINE + 0.5 + 0.5
GRACE = 5
ALLOWED = {"ok", "UNAVAILABLE"}


@pytest.fixture(scope="module")
async def drill() -> AsyncIterator[Drill]:
    drill = Drill(env={"OMNIGW_REQUEST_TIMEOUT_MS": str(int(DEADLINE * 1000)),
                       "OMNIGW_GRACEFUL_SHUTDOWN_SECONDS": str(GRACE)})
    try:
        await drill.start_database()
        await drill.start_gateway()
        yield drill
    finally:
        await drill.close()


async def healthz(drill: Drill) -> int:
    async with httpx.AsyncClient(base_url=drill.base_url, timeout=5) as client:
        return (await client.get("/healthz")).status_code


async def test_five_restarts_under_load_recover_within_10_s_each(drill: Drill) -> None:
    cycles = []
    async with drill.load() as record:
        await asyncio.sleep(1.0)
        for _ in range(5):
            # when the server is killed, stays down a second, and comes back with its data
            cycles.append(await restart_cycle(drill, down=1.0))
            await asyncio.sleep(0.5)
    print("recovery (s):", [c.recovered for c in cycles],
          "longest request (s):", [round(c.longest, 2) for c in cycles])
    for cycle in cycles:
        # then each time the gateway is ready and answers reads and writes within 10 s
        assert cycle.recovered is not None, (cycle, drill.log_tail())
        assert cycle.recovered < RECOVERY_LIMIT
        # no request outlives its deadline, and every one ends as data or UNAVAILABLE
        assert cycle.longest < BOUND, cycle
        assert set(cycle.results) <= ALLOWED | {"UNAUTHENTICATED"}, (cycle, drill.log_tail(80))
        assert set(cycle.results_after) <= ALLOWED, cycle
    # and no readiness poll hung (each answers within its 1.5 s) and the process never
    # needed replacing
    assert record.readiness and all(status in (200, 503) for _, status in record.readiness)
    assert await healthz(drill) == 200


async def test_a_frozen_database_gives_unavailable_by_the_deadline_then_recovers(
    drill: Drill,
) -> None:
    created_before = len(drill.record.created)
    since = datetime.now(UTC)
    async with drill.load() as record:
        await asyncio.sleep(1.0)
        # when the server process is frozen (SIGSTOP) for 6 s
        drill.freeze_database()
        frozen = time.monotonic()
        await asyncio.sleep(6.0)
        drill.thaw_database()
        thawed = time.monotonic()
        recovered = await recovery(record, thawed)
        await asyncio.sleep(1.0)
    await drill.settle_writes()
    # (the requests sent while it was frozen whose deadline came before SIGCONT)
    during = [o for o in record.outcomes if frozen + 0.1 <= o.started < thawed - BOUND]
    first_unavailable = min(o.ended for o in record.outcomes
                            if o.ended > frozen and o.result == "UNAVAILABLE")
    not_ready = min(t for t, status in record.readiness if t > frozen and status == 503)
    retried = min((o.ended for o in record.ok_writes_after(thawed - BOUND)), default=None)
    print(f"frozen: first UNAVAILABLE {first_unavailable - frozen:.2f} s after SIGSTOP; "
          f"{len(during)} requests sent while frozen, longest "
          f"{max((o.seconds for o in during), default=0):.2f} s; "
          f"/readyz 503 after {not_ready - frozen:.2f} s; recovered {recovered} s after "
          f"SIGCONT; first write retry through "
          f"{(retried or float('inf')) - thawed:.2f} s after SIGCONT")
    # then every request sent while it is frozen ends with UNAVAILABLE within the deadline
    assert during and {o.result for o in during} == {"UNAVAILABLE"}
    assert max(o.seconds for o in during) < BOUND
    # and readiness turns 503 within its ping's 1.5 s
    assert not_ready - frozen < 2.0
    # after SIGCONT reads and readiness come back, and the writes that were cut off are
    # retried with their keys and go through within seconds (their claims' leases ran out)
    assert recovered is not None
    assert retried is not None and retried - thawed < RECOVERY_LIMIT
    # with no duplicate: exactly one order or visit per key, whatever the retries
    created = list(drill.record.created.values())[created_before:]
    written = [*await drill.written("orders", since=since),
               *await drill.written("visits", since=since)]
    assert sorted(written) == sorted(created)
    assert len(set(created)) == len(created)
    assert await healthz(drill) == 200


async def test_sigterm_ends_the_process_within_the_grace_period_while_frozen(
    drill: Drill,
) -> None:
    # given requests in flight on a frozen database
    async with drill.load():
        await asyncio.sleep(0.5)
        drill.freeze_database()
        await asyncio.sleep(0.5)
        # when the process gets SIGTERM
        seconds = await drill.terminate_gateway(limit=GRACE + 10)
    drill.thaw_database()
    print(f"SIGTERM with the database frozen: exited after {seconds:.2f} s")
    # then it exits within the graceful period
    assert seconds < GRACE
    assert drill.process is not None and drill.process.returncode in (0, -15)
