"""Abuse benchmark: hostile traffic against a real ``omnigw serve`` process, measured by its
resident memory (``/proc/<pid>/status``) and by another key's latency, not only by codes.

    make abuse                               # the full corpus (a few minutes)
    python -m tests.benchmarks.abuse --scale 0.2

Cases (a partner key is the attacker, from 127.0.0.2; the admin key the bystander, from
127.0.0.1). The memory cases run with buckets that never run dry (the worst case: an attacker
the throttle does not stop); the last two with the default bucket:

- ``big-documents``: distinct 990 KB comment-padded documents;
- ``cached-documents``: distinct 31 KB comment-padded documents that pass every limit (each
  parsed, validated and cached);
- ``big-frames``: 15 MB WebSocket messages;
- ``keyless-stalls``: connections without a key announcing 990 KB and sending 64 KB;
- ``trickle``: connections sending a request one byte at a time;
- ``invalid-documents``: 8 loops of distinct 1,990-field invalid documents;
- ``analytics``: 6 loops of ``omnichannelReach``.

Each prints the process's RSS before and after (MB), the bystander's p50 and p99 (ms) during
the case, and what the attacker got back. The gateway reads mongo-java-server (started here)
with the demo data, unless ``--mongodb-uri`` names another MongoDB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.typing import Subprotocol

from gateway.admission import keys
from gateway.database import connect as connect_database
from gateway.database import seeding
from gateway.settings import Settings
from tests.mongo_server.server import WireServer

ROOT = Path(__file__).resolve().parents[2]
ADMIN, PARTNER = "abuse-admin-key", "abuse-partner-key"
ATTACKER = "127.0.0.2"  # loopback: the attacker is another client address
DATABASE = "omnigw_abuse"
UNLIMITED = {"OMNIGW_THROTTLE_BUCKET_SIZE": "10000000", "OMNIGW_THROTTLE_RESTORE_RATE": "10000000"}
REACH = """{ omnichannelReach(since: "2026-01-01T00:00:00Z", until: "2026-11-01T00:00:00Z") {
  activeMembers byKindCount { kinds members } spendBase { amount } } }"""


@dataclass
class Server:
    url: str
    pid: int
    host: str = "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


async def prepare(mongodb_uri: str) -> None:
    """The demo data and the two keys, in ``DATABASE``."""
    settings = Settings(mongodb_uri=mongodb_uri, database=DATABASE)
    db = connect_database(settings)
    try:
        await db.client.drop_database(DATABASE)
        await seeding.load(db, seeding.read_seed_files(ROOT / "seeds"))
        await keys.create_key(db, settings, name="abuse-admin", role="admin", key=ADMIN)
        await keys.create_key(db, settings, name="abuse-partner", role="partner",
                              channels=keys.DEMO_PARTNER_CHANNELS, key=PARTNER)
    finally:
        await db.close()


@contextmanager
def serve(mongodb_uri: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """``omnigw serve`` in its own process on ``mongodb_uri`` (see :func:`prepare`)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith("OMNIGW_") and k != "MONGODB_URI"}
    environment.update(MONGODB_URI=mongodb_uri, OMNIGW_DATABASE=DATABASE,
                       OMNIGW_LOG_LEVEL="ERROR", OMNIGW_ENV_FILE="",  # and no .env
                       **(env or {}))
    process = subprocess.Popen(
        [sys.executable, "-c", "from gateway.cli.main import app; app()", "serve", "--port",
         str(port)], cwd=ROOT, env=environment, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("omnigw serve did not start")
            time.sleep(0.2)
        yield Server(url, process.pid)
    finally:
        process.terminate()
        process.wait(30)


@dataclass
class Result:
    name: str
    rss_before: float
    rss_after: float
    rss_peak: float
    latencies: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)  # the other key's, if any

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        return (f"{self.name:18} RSS {self.rss_before:6.0f} -> {self.rss_after:6.0f} MB "
                f"(peak {self.rss_peak:6.0f})  other key p50 {self.percentile(0.5):6.1f} ms "
                f"p99 {self.percentile(0.99):7.1f} ms ({len(self.latencies)})  "
                f"{dict(self.outcomes)}"
                + (f"  other key failed: {dict(self.failures)}" if self.failures else ""))


def outcome(response: httpx.Response) -> str:
    try:
        errors = response.json().get("errors")
    except ValueError:
        return f"{response.status_code} not-json"
    code = errors[0].get("extensions", {}).get("code") if errors else "ok"
    return f"{response.status_code} {code}"


async def bystander(server: Server, stop: asyncio.Event, latencies: list[float],
                    failures: Counter[str]) -> None:
    """The admin key asking for the channels, one request at a time, while abuse runs."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30,
                                 headers={"Authorization": f"Bearer {ADMIN}"}) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                response = await client.post("/graphql", json={"query": "{ channels { id } }"})
            except httpx.TransportError as exc:
                failures[type(exc).__name__] += 1
            else:
                if response.status_code != 200 or "errors" in response.json():
                    failures[outcome(response)] += 1
                else:
                    latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)


async def run_case(server: Server, name: str,
                   attack: Callable[[Server, Counter[str]], Awaitable[None]]) -> Result:
    result = Result(name, server.rss_mb(), 0.0, 0.0)
    stop = asyncio.Event()
    peak = [result.rss_before]

    async def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], server.rss_mb())
            await asyncio.sleep(0.05)

    print(f"{name}...", file=sys.stderr, flush=True)
    tasks = [asyncio.create_task(bystander(server, stop, result.latencies, result.failures)),
             asyncio.create_task(sample())]
    try:
        await attack(server, result.outcomes)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    await asyncio.sleep(0.5)
    result.rss_after = server.rss_mb()
    result.rss_peak = max(peak[0], result.rss_after)
    return result


def attacker(server: Server) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, timeout=60,
                             headers={"Authorization": f"Bearer {PARTNER}"},
                             transport=httpx.AsyncHTTPTransport(local_address=ATTACKER))


def padded(size: int, query: str = "{ __typename }") -> str:
    """A distinct document of about ``size`` characters, mostly one comment."""
    return f"# {secrets.token_hex(8)} " + "x" * max(0, size - len(query) - 20) + "\n" + query


async def post_documents(server: Server, outcomes: Counter[str], count: int, size: int,
                         query: str = "{ __typename }", loops: int = 4) -> None:
    remaining = [count]

    async def loop(client: httpx.AsyncClient) -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            try:
                response = await client.post("/graphql", json={"query": padded(size, query)})
            except httpx.TransportError as exc:
                outcomes[type(exc).__name__] += 1
            else:
                outcomes[outcome(response)] += 1

    async with attacker(server) as client:
        await asyncio.gather(*(loop(client) for _ in range(loops)))


async def big_frames(server: Server, outcomes: Counter[str], count: int) -> None:
    frame = json.dumps({"type": "subscribe", "id": "1", "payload": {"query": padded(15 << 20)}})
    for _ in range(count):
        try:
            async with connect(server.url.replace("http", "ws") + "/graphql",
                               subprotocols=[Subprotocol("graphql-transport-ws")],
                               additional_headers={"Authorization": f"Bearer {PARTNER}"},
                               max_size=None, local_addr=(ATTACKER, 0)) as ws:
                await ws.send(json.dumps({"type": "connection_init"}))
                await ws.recv()
                await ws.send(frame)
                await ws.recv()
                outcomes["answered"] += 1
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else "no close frame"
            outcomes[f"closed {code}"] += 1
        except (WebSocketException, OSError) as exc:
            outcomes[type(exc).__name__] += 1


async def held_connections(server: Server, outcomes: Counter[str], count: int,
                           first: bytes, hold: float) -> None:
    """``count`` connections that send ``first`` and then nothing for ``hold`` seconds."""
    async def one() -> None:
        try:
            reader, writer = await asyncio.open_connection(server.host, server.port,
                                                           local_addr=(ATTACKER, 0))
        except OSError:
            outcomes["refused by the kernel"] += 1
            return
        try:
            writer.write(first)
            await writer.drain()
            async with asyncio.timeout(hold):
                answer = await reader.read(200)
            status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else (
                "closed")
            outcomes[status] += 1
        except TimeoutError:
            outcomes["still open"] += 1
        except OSError:
            outcomes["reset"] += 1
        finally:
            writer.close()
            with suppress(OSError):
                await writer.wait_closed()

    await asyncio.gather(*(one() for _ in range(count)))


async def invalid_documents(server: Server, outcomes: Counter[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    fields = " ".join(f"f{i}" for i in range(1990))

    async def loop(client: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            query = f"# {secrets.token_hex(8)}\n{{ {fields} }}"
            outcomes[outcome(await client.post("/graphql", json={"query": query}))] += 1

    async with attacker(server) as client:
        await asyncio.gather(*(loop(client) for _ in range(8)))


async def analytics(server: Server, outcomes: Counter[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds

    async def loop(client: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            response = await client.post("/graphql", json={"query": REACH})
            outcomes[outcome(response)] += 1
            if response.json().get("errors"):
                await asyncio.sleep(0.05)

    async with attacker(server) as client:
        await asyncio.gather(*(loop(client) for _ in range(6)))


Case = tuple[str, Callable[[Server, Counter[str]], Awaitable[None]]]


def memory_cases(scale: float, hold: float = 15) -> list[Case]:
    n = lambda count: max(1, int(count * scale))  # noqa: E731
    stall = (b"POST /graphql HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\n"
             b"content-length: 990000\r\n\r\n" + b" " * 65536)
    return [
        ("big-documents", lambda s, o: post_documents(s, o, n(300), 990_000)),
        ("cached-documents", lambda s, o: post_documents(s, o, n(300), 31_000)),
        ("big-frames", lambda s, o: big_frames(s, o, n(40))),
        ("keyless-stalls", lambda s, o: held_connections(s, o, n(1000), stall, hold)),
        ("trickle", lambda s, o: held_connections(s, o, n(2000), b"P", hold)),
    ]


def throttle_cases(scale: float) -> list[Case]:
    return [
        ("invalid-documents", lambda s, o: invalid_documents(s, o, 20 * scale)),
        ("analytics", lambda s, o: analytics(s, o, 20 * scale)),
    ]


async def run(server: Server, cases: list[Case]) -> list[Result]:
    return [await run_case(server, name, attack) for name, attack in cases]


def report(server: Server, results: list[Result]) -> None:
    for result in results:
        print(result.line(), flush=True)
    print(f"RSS at the end: {server.rss_mb():.0f} MB; other key's latency at rest: "
          f"p50 {statistics.median(rest(server)):.1f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply counts and times")
    parser.add_argument("--mongodb-uri", default=None,
                        help="a MongoDB (default: mongo-java-server, started here)")
    args = parser.parse_args()
    wire = None if args.mongodb_uri else WireServer(ROOT).start()
    uri = args.mongodb_uri or (wire.uri if wire else "")
    try:
        asyncio.run(prepare(uri))
        with serve(uri, UNLIMITED) as server:
            print(f"buckets that never run dry; omnigw serve {server.rss_mb():.0f} MB at start")
            report(server, asyncio.run(run(server, memory_cases(args.scale))))
        with serve(uri) as server:
            print(f"default buckets; omnigw serve {server.rss_mb():.0f} MB at start")
            report(server, asyncio.run(run(server, throttle_cases(args.scale))))
    finally:
        if wire is not None:
            wire.stop()


def rest(server: Server) -> list[float]:
    latencies: list[float] = []
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {ADMIN}"}) as c:
        for _ in range(50):
            started = time.perf_counter()
            c.post("/graphql", json={"query": "{ channels { id } }"})
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


if __name__ == "__main__":
    main()
