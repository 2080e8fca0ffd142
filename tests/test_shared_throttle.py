"""Two worker processes give a key one bucket: it cannot spend more than its bucket and rate
across both (the ``mongodb`` store), where each process's own buckets (``memory``) let it
spend about twice that."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from gateway.admission import keys
from gateway.admission.throttle import COLLECTION, MongoStore
from gateway.database import connect
from gateway.settings import Settings
from tests.support import ROOT

DATABASE = "omnigw_shared_throttle"
SIZE, RATE = 40, 10.0  # points, points per second
QUERY = {"query": "{ channels { id } }"}  # costs 2 points
SECONDS = 3.0
TOLERANCE = 4  # points: one charge of each process racing the end of the window


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def workers(mongo_uri: str, request: pytest.FixtureRequest) -> Iterator[list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIGW_")}
    env.update(MONGODB_URI=mongo_uri, OMNIGW_DATABASE=DATABASE, OMNIGW_LOG_LEVEL="WARNING",
               OMNIGW_ENV_FILE="",  # no .env from the working directory either
               OMNIGW_THROTTLE_BUCKET_SIZE=str(SIZE), OMNIGW_THROTTLE_RESTORE_RATE=str(RATE),
               OMNIGW_THROTTLE_STORE=request.param)
    ports = [free_port(), free_port()]
    processes = [subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "gateway.app:create_app", "--factory",
         "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env)
        for port in ports]
    try:
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        deadline = time.monotonic() + 30
        for url in urls:
            while True:
                try:
                    if httpx.get(url + "/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "workers did not start"
                time.sleep(0.1)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(15)


async def hammer(url: str, key: str, until: float) -> tuple[int, int]:
    """Requests from 4 concurrent loops until ``until``, each waiting ``retryAfterSeconds``
    when throttled: (answered, throttled)."""
    answered = throttled = 0

    async def loop(client: httpx.AsyncClient) -> None:
        nonlocal answered, throttled
        while time.monotonic() < until:
            body = (await client.post("/graphql", json=QUERY)).json()
            if "errors" in body:
                assert body["errors"][0]["extensions"]["code"] == "THROTTLED", body
                throttled += 1
                # a well-behaved client waits as told (each refusal costs it a point)
                await asyncio.sleep(body["errors"][0]["extensions"]["retryAfterSeconds"])
            else:
                answered += 1

    async with httpx.AsyncClient(base_url=url,
                                 headers={"Authorization": f"Bearer {key}"}) as client:
        await asyncio.gather(*(loop(client) for _ in range(4)))
    return answered, throttled


@pytest.mark.parametrize("workers", ["mongodb", "memory"], indirect=True)
async def test_a_key_spends_one_bucket_across_two_workers(
    workers: list[str], mongo_uri: str, request: pytest.FixtureRequest
) -> None:
    settings = Settings(mongodb_uri=mongo_uri, database=DATABASE)
    db = connect(settings)
    try:
        key = await keys.create_key(db, settings, name="two-workers", role="admin",
                                    replace=True)
    finally:
        await db.close()
    started = time.monotonic()
    results = await asyncio.gather(*(hammer(url, key, started + SECONDS) for url in workers))
    elapsed = time.monotonic() - started
    spent = 2 * sum(answered for answered, _ in results)
    allowed = SIZE + RATE * elapsed
    assert all(answered > 0 and throttled > 0 for answered, throttled in results), results
    if request.node.callspec.params["workers"] == "mongodb":
        # one bucket: never more than its size and rate, and not much less than what the
        # window alone allows (the tail of slow last answers on a loaded machine adds time,
        # not requests, so the floor is not measured against the elapsed time)
        floor = 0.8 * (SIZE + RATE * SECONDS)
        assert floor <= spent <= allowed + TOLERANCE, (spent, floor, allowed)
    else:
        # a bucket per process: about twice as much
        assert spent > allowed + TOLERANCE, (spent, allowed)


class RacedStore(MongoStore):
    """A store in which another process charges the key, once, between the two conditional
    forms."""

    raced = False

    async def _idle(self, key: str, seconds: float, now: float) -> float | None:
        if not self.raced:
            self.raced = True
            await self.collection.update_one({"_id": key}, {"$set": {"tat": now + 0.5}})
        return await super()._idle(key, seconds, now)


async def test_a_charge_raced_between_the_two_forms_still_succeeds(mongo_uri: str) -> None:
    # given a key this process last saw busy, idle in the database when the charge starts
    db = connect(Settings(mongodb_uri=mongo_uri, database=DATABASE))
    try:
        await db[COLLECTION].delete_many({})
        await db[COLLECTION].insert_one({"_id": "raced", "tat": 999.0})
        store = RacedStore(db)
        # when another charge makes it busy between the busy and the idle form
        ok, tat = await store.take("raced", 0.1, now=1000.0, ceiling=1004.0, hint=1000.5)
        # then the charge is taken on top of the other one, not refused
        assert (ok, tat) == (True, 1000.6)
        assert (await db[COLLECTION].find_one({"_id": "raced"}))["tat"] == 1000.6
        # and a bucket that is really full still refuses
        assert await store.take("raced", 4.0, now=1000.0, ceiling=1004.0, hint=1000.6) == (
            False, 1000.6)
    finally:
        await db.close()
