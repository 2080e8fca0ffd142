"""Fault drills on a real ``omnigw serve`` process: the database killed and restarted, or
frozen, under load while ``/readyz`` is polled as a load balancer does.

:class:`Drill` runs the gateway (the real command, the real uvicorn) against its own
mongo-java-server, with readers and writers sending GraphQL over HTTP and a poller asking
``/readyz`` every 100 ms. Every request and every poll is recorded, so a test (or
``python -m tests.fault_cycles``) can say how long recovery took and whether any request
outlived the deadline. Nothing here starts at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from gateway.admission import keys
from gateway.database import connect, seeding
from gateway.settings import Settings
from tests.mongo_server.server import WireServer

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "omnigw_drill"
READS = (
    "{ channels { id name } }",
    "{ members(first: 5) { edges { node { id identities { channel { id } } } } } }",
)
PLACE_ORDER = """mutation($key: String!) { placeOrder(input: {
  channel: "ch_freshmart", location: "loc_fm_shanghai_xuhui", idempotencyKey: $key,
  lines: [{sku: "sku_aloe_body_wash_1l", quantity: 1}]}) { order { id } userErrors { code } } }"""
RECORD_VISIT = """mutation($key: String!) { recordVisit(input: {
  channel: "ch_flagship", kind: PAGE_VIEW, source: "drill", idempotencyKey: $key })
  { visit { id } userErrors { code } } }"""


@dataclass(frozen=True)
class Outcome:
    """One request: what it was, when it started and ended (monotonic), and how it ended:
    ``ok`` (data, user errors included), an ``extensions.code``, ``HTTP <status>`` or
    ``transport``."""

    kind: str
    started: float
    ended: float
    result: str

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class Record:
    """Everything the drill saw."""

    outcomes: list[Outcome] = field(default_factory=list)
    readiness: list[tuple[float, int]] = field(default_factory=list)  # (time, status or 0)
    in_flight: dict[int, tuple[str, float]] = field(default_factory=dict)
    created: dict[str, str] = field(default_factory=dict)  # idempotency key -> id written
    pending: dict[int, tuple[str, str]] = field(default_factory=dict)  # writer -> (mutation, key)

    def ok_writes_after(self, moment: float) -> list[Outcome]:
        return [o for o in self.outcomes
                if o.kind == "write" and o.started >= moment and o.result == "ok"]

    def first_ok_after(self, moment: float, kind: str) -> float | None:
        times = [o.ended for o in self.outcomes
                 if o.kind == kind and o.started >= moment and o.result == "ok"]
        return min(times, default=None)

    def ready_after(self, moment: float) -> float | None:
        times = [t for t, status in self.readiness if t >= moment and status == 200]
        return min(times, default=None)

    def longest(self, since: float = 0.0) -> float:
        """The longest request that started after ``since``, finished or still running."""
        now = time.monotonic()
        finished = [o.seconds for o in self.outcomes if o.started >= since]
        running = [now - started for _, started in self.in_flight.values() if started >= since]
        return max(finished + running, default=0.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def restore(uri: str, api_keys: list[dict[str, Any]]) -> None:
    """Put the demo data and the drill's keys back (the test server keeps nothing across a
    restart; a real MongoDB would)."""
    db = connect(Settings(mongodb_uri=uri, database=DATABASE))
    try:
        if api_keys:  # first, so that callers are known again as soon as possible
            await db["api_keys"].insert_many(api_keys)
        await seeding.load(db, seeding.read_seed_files(ROOT / "seeds"))
    finally:
        await db.close()


# The drill's gateway: a 2 s request deadline (the bound the drill holds requests to); no key
# cache, so that a lookup made while the restarted server is still empty (it keeps nothing; a
# real MongoDB would) is not remembered as a miss; for the same reason, the misses of that
# window do not count toward the per-address limit of failed logins (the load comes from one
# address, and would otherwise be locked out with THROTTLED for a minute); a cost bucket the
# load never empties.
DRILL_ENV = {"OMNIGW_REQUEST_TIMEOUT_MS": "2000", "OMNIGW_KEY_CACHE_TTL_SECONDS": "0",
             "OMNIGW_AUTH_FAILURES_PER_MINUTE": "1000000",
             "OMNIGW_THROTTLE_BUCKET_SIZE": "10000000",
             "OMNIGW_THROTTLE_RESTORE_RATE": "10000000"}


class Drill:
    """A gateway process on its own test server, load, and a readiness poller."""

    def __init__(self, *, readers: int = 6, writers: int = 2,
                 env: dict[str, str] | None = None) -> None:
        self.readers = readers
        self.writers = writers
        self.env = {**DRILL_ENV, **(env or {})}
        self.server = WireServer(ROOT)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.record = Record()
        self.key = ""
        self.process: asyncio.subprocess.Process | None = None
        self._api_keys: list[dict[str, Any]] = []
        self._logs = Path(tempfile.mkdtemp(prefix="omnigw-drill-"))
        self.log_path = self._logs / "gateway.log"
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False

    # -- the database ---------------------------------------------------

    async def start_database(self) -> None:
        await asyncio.to_thread(self.server.start)
        settings = Settings(mongodb_uri=self.server.uri, database=DATABASE)
        db = connect(settings)
        try:
            self.key = await keys.create_key(db, settings, name="drill", role="admin",
                                             replace=True)
            self._api_keys = await db["api_keys"].find({}).to_list()
        finally:
            await db.close()
        await restore(self.server.uri, [])  # the data; the key is there already

    async def stop_database(self) -> None:
        await asyncio.to_thread(self.server.stop)

    async def restart_database(self) -> None:
        """Start the server again on its port and put the data back."""
        await asyncio.to_thread(self.server.start)
        await restore(self.server.uri, self._api_keys)

    def freeze_database(self) -> None:
        """SIGSTOP the server: connections stay open and nothing answers."""
        os.kill(self.server.pid, signal.SIGSTOP)

    def thaw_database(self) -> None:
        os.kill(self.server.pid, signal.SIGCONT)

    # -- the gateway ----------------------------------------------------

    async def start_gateway(self) -> None:
        env = {**os.environ, "MONGODB_URI": self.server.uri, "OMNIGW_DATABASE": DATABASE,
               "PORT": str(self.port), **self.env}
        omnigw = Path(sys.executable).with_name("omnigw")
        with self.log_path.open("ab") as log:  # the child keeps its own copy
            self.process = await asyncio.create_subprocess_exec(
                str(omnigw), "serve", cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=log,
            )
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as client:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/readyz")).status_code == 200:
                        return
                if self.process.returncode is not None:
                    raise RuntimeError(f"the gateway exited at start-up:\n{self.log_tail()}")
                await asyncio.sleep(0.1)
        raise RuntimeError(f"the gateway was not ready within 30 s:\n{self.log_tail()}")

    async def terminate_gateway(self, limit: float = 60.0) -> float:
        """SIGTERM the gateway; the seconds until it exited (SIGKILL after ``limit``)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        try:
            await asyncio.wait_for(self.process.wait(), limit)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            return float("inf")
        return time.monotonic() - signalled

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    # -- load and readiness -------------------------------------------------

    @asynccontextmanager
    async def load(self) -> AsyncIterator[Record]:
        """Readers, writers and the readiness poller, for the duration of the block."""
        self._running = True
        limits = httpx.Limits(max_connections=self.readers + self.writers + 30)
        async with httpx.AsyncClient(
            base_url=self.base_url, timeout=60, limits=limits,
            headers={"Authorization": f"Bearer {self.key}"},
        ) as client:
            self._tasks = [
                *(asyncio.create_task(self._reader(client, i)) for i in range(self.readers)),
                *(asyncio.create_task(self._writer(client, i)) for i in range(self.writers)),
                asyncio.create_task(self._readiness(client)),
            ]
            try:
                yield self.record
            finally:
                self._running = False
                await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _send(self, client: httpx.AsyncClient, kind: str, query: str,
                    variables: dict[str, Any] | None = None) -> tuple[str, Any]:
        """Send one request; its result (see :class:`Outcome`) and its ``data``."""
        started = time.monotonic()
        token = id(asyncio.current_task())
        self.record.in_flight[token] = (kind, started)
        data = None
        try:
            response = await client.post("/graphql",
                                         json={"query": query, "variables": variables or {}})
            result = _result(response)
            if result == "ok":
                data = response.json()["data"]
        except httpx.TransportError:
            result = "transport"
        finally:
            del self.record.in_flight[token]
        self.record.outcomes.append(Outcome(kind, started, time.monotonic(), result))
        return result, data

    async def _reader(self, client: httpx.AsyncClient, n: int) -> None:
        i = n
        while self._running:
            result, _ = await self._send(client, "read", READS[i % len(READS)])
            i += 1
            await asyncio.sleep(0.02 if result == "ok" else 0.1)

    async def _writer(self, client: httpx.AsyncClient, n: int) -> None:
        """Place orders (even writers) or record visits (odd ones), each under a new key; a
        request that fails is retried with the same key, as a client should."""
        mutation = (PLACE_ORDER, RECORD_VISIT)[n % 2]
        while self._running:
            key = uuid.uuid4().hex
            self.record.pending[n] = (mutation, key)
            while not await self._write(client, mutation, key):
                if not self._running:
                    return
                await asyncio.sleep(0.1)
            del self.record.pending[n]
            await asyncio.sleep(0.05)

    async def _write(self, client: httpx.AsyncClient, mutation: str, key: str) -> bool:
        result, data = await self._send(client, "write", mutation, {"key": key})
        if result != "ok":
            return False
        payload = next(iter(data.values()))
        written = payload.get("order") or payload.get("visit")
        if written is not None:
            self.record.created[key] = written["id"]
        return True

    async def settle_writes(self, *, seconds: float = 30.0) -> None:
        """After :meth:`load`: send each writer's unfinished key until it succeeds, so that
        every key used has a known outcome."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=60,
                                     headers={"Authorization": f"Bearer {self.key}"}) as client:
            ends = time.monotonic() + seconds
            for mutation, key in list(self.record.pending.values()):
                while not await self._write(client, mutation, key):
                    if time.monotonic() > ends:
                        raise AssertionError(f"key {key} did not succeed within {seconds} s")
                    await asyncio.sleep(0.2)
            self.record.pending.clear()

    async def written(self, collection: str, *, since: datetime) -> list[str]:
        """Ids of the orders or visits the drill's writers created since ``since``."""
        db = connect(Settings(mongodb_uri=self.server.uri, database=DATABASE))
        by, at = ("placed_by", "placed_at") if collection == "orders" else ("recorded_by", "at")
        try:
            docs = await db[collection].find({by: "drill", at: {"$gte": since}},
                                             {"_id": 1}).to_list()
        finally:
            await db.close()
        return [doc["_id"] for doc in docs]

    async def _readiness(self, client: httpx.AsyncClient) -> None:
        """Ask every 100 ms whether or not the previous answer came (as load balancers do),
        giving up on each after 2 s."""
        polls: set[asyncio.Task[None]] = set()
        while self._running:
            poll = asyncio.create_task(self._ready(client))
            polls.add(poll)
            poll.add_done_callback(polls.discard)
            await asyncio.sleep(0.1)
        await asyncio.gather(*polls)

    async def _ready(self, client: httpx.AsyncClient) -> None:
        try:
            status = (await client.get("/readyz", timeout=2)).status_code
        except httpx.TransportError:
            status = 0
        self.record.readiness.append((time.monotonic(), status))

    async def close(self) -> None:
        """Stop everything this drill started."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        with contextlib.suppress(ProcessLookupError, RuntimeError):
            self.thaw_database()
        await self.stop_database()
        shutil.rmtree(self._logs, ignore_errors=True)


RECOVERY_LIMIT = 10.0


@dataclass(frozen=True)
class Cycle:
    """One kill-and-restart: seconds from the server being back (data restored) to the
    gateway being ready and answering a read and a write (None: not within the limit), the
    longest request of the cycle, how its requests ended, and how those that started after
    the server was back ended (a request sent while the restarted server is still empty may
    be UNAUTHENTICATED: its key is not back yet)."""

    recovered: float | None
    longest: float
    results: dict[str, int]
    results_after: dict[str, int]


async def recovery(record: Record, back: float) -> float | None:
    """Seconds from ``back`` until readiness said 200 and a read and a write sent after it
    succeeded (``None`` if that did not happen within :data:`RECOVERY_LIMIT`)."""
    for _ in range(int(RECOVERY_LIMIT / 0.05)):
        marks = [record.ready_after(back), record.first_ok_after(back, "read"),
                 record.first_ok_after(back, "write")]
        if all(mark is not None for mark in marks):
            return max(mark for mark in marks if mark is not None) - back
        await asyncio.sleep(0.05)
    return None


async def restart_cycle(drill: Drill, *, down: float) -> Cycle:
    """Stop the server under load, keep it down ``down`` seconds, start it again (with its
    data) and wait for the gateway to recover, up to :data:`RECOVERY_LIMIT`."""
    started = time.monotonic()
    await drill.stop_database()
    await asyncio.sleep(down)
    await drill.restart_database()
    back = time.monotonic()
    record = drill.record
    recovered = await recovery(record, back)
    results = Counter(o.result for o in record.outcomes if o.started >= started)
    after = Counter(o.result for o in record.outcomes if o.started >= back)
    return Cycle(recovered, record.longest(started), dict(results), dict(after))


def _result(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        return str(errors[0].get("extensions", {}).get("code", "no code"))
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    return "ok"
