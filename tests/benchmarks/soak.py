"""Soak: two gateway workers under mixed load for a fixed time; errors, latency and memory.

    make soak                                   # 120 s
    python -m tests.benchmarks.soak --seconds 30 --concurrency 8 --subscribers 10

Starts the test MongoDB (mongo-java-server, unless MONGODB_URI is set) with the demo data,
then ``omnigw serve --workers 2`` as an operator would, and drives it from this process:
``--concurrency`` HTTP loops sending a mix of queries (member 360, an orders page, a product
page: 80%) and mutations (placeOrder, recordVisit: 20%), and ``--subscribers`` WebSocket
clients (graphql-transport-ws) on ``channelOrders`` and ``memberActivity``. It prints the
error rate, p50/p99 per kind, the subscription events received, the requests each status
counted in the gateway's own /metrics (both workers, PROMETHEUS_MULTIPROC_DIR), and each
worker's resident memory at the start of the load, every ``--sample`` seconds, and at the
end. Every loop is bounded in time; everything it started is stopped before it returns.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from gateway.admission import keys
from gateway.database import connect as connect_database
from gateway.database import seeding
from gateway.settings import Settings
from tests.mongo_server.server import WireServer

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "omnigw_soak"
CHANNEL = "ch_flagship"  # an online channel: orders reserve no stock, so none runs out

MEMBER = """query Member360($id: ID!) { member(id: $id) { id name tier lifetimeValue { amount }
  identities { channel { id } } history(first: 10) { edges { node { __typename id at } } } } }"""
ORDERS = """query Orders { orders(first: 20) { edges { node { id status
  total { amount currencyCode } member { id } } } } }"""
PRODUCTS = """query Products($channel: ID!) { products(first: 20, filter: {channel: $channel}) {
  edges { node { sku name offers { price { amount currencyCode } } } } } }"""
PLACE = """mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id status } userErrors { code message } } }"""
VISIT = """mutation Visit($input: RecordVisitInput!) { recordVisit(input: $input) {
  visit { id } userErrors { code message } } }"""
CHANNEL_ORDERS = "subscription($c: ID!) { channelOrders(channel: $c) { id status } }"
ACTIVITY = "subscription($m: ID!) { memberActivity(member: $m) { __typename id at } }"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def workers_of(pid: int) -> list[int]:
    """uvicorn's worker processes: the spawned children of the serving process."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sorted(int(c) for c in children
                  if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


class Load:
    """Counts, latencies (ms) and errors per kind of request."""

    def __init__(self, members: list[str], skus: list[str]) -> None:
        self.members, self.skus = members, skus
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()
        self.examples: dict[str, str] = {}
        self.events: Counter[str] = Counter()

    def request(self) -> tuple[str, dict[str, Any]]:
        roll = random.random()
        member = random.choice(self.members)
        if roll < 0.35:
            return "member360", {"query": MEMBER, "variables": {"id": member}}
        if roll < 0.60:
            return "orders", {"query": ORDERS}
        if roll < 0.80:
            return "products", {"query": PRODUCTS, "variables": {"channel": CHANNEL}}
        key = uuid.uuid4().hex
        if roll < 0.90:
            lines = [{"sku": random.choice(self.skus), "quantity": 1}]
            return "placeOrder", {"query": PLACE, "variables": {"input": {
                "channel": CHANNEL, "member": member, "lines": lines, "idempotencyKey": key}}}
        return "recordVisit", {"query": VISIT, "variables": {"input": {
            "channel": CHANNEL, "member": member, "kind": "PAGE_VIEW", "source": "soak",
            "idempotencyKey": key}}}

    async def http_loop(self, client: httpx.AsyncClient, until: float) -> None:
        while time.monotonic() < until:
            kind, body = self.request()
            started = time.perf_counter()
            problem = None
            try:
                response = await client.post("/graphql", json=body, timeout=30)
                answer = response.json()
                if response.status_code != 200 or answer.get("errors"):
                    problem = f"{response.status_code} {answer.get('errors')}"
                elif kind in ("placeOrder", "recordVisit"):
                    payload = next(iter(answer["data"].values()))
                    problem = str(payload["userErrors"]) if payload["userErrors"] else None
            except (httpx.HTTPError, ValueError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            self.latency[kind].append((time.perf_counter() - started) * 1000)
            if problem is not None:
                self.errors[kind] += 1
                self.examples.setdefault(kind, problem[:300])

    async def subscriber(self, url: str, key: str, query: str, variables: dict[str, Any],
                         name: str, until: float) -> None:
        try:
            async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")],
                               additional_headers={"Authorization": f"Bearer {key}"},
                               open_timeout=10) as ws:
                await ws.send(json.dumps({"type": "connection_init"}))
                assert json.loads(await ws.recv())["type"] == "connection_ack"
                await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                    "query": query, "variables": variables}}))
                while (left := until - time.monotonic()) > 0:
                    try:
                        message = json.loads(await asyncio.wait_for(ws.recv(), left))
                    except TimeoutError:
                        break
                    if message["type"] == "next" and not message["payload"].get("errors"):
                        self.events[name] += 1
                    elif message["type"] == "ping":
                        await ws.send(json.dumps({"type": "pong"}))
                    elif message["type"] != "pong":
                        self.errors[f"subscription {name}"] += 1
                        self.examples.setdefault(f"subscription {name}", str(message)[:300])
                        return
        except (OSError, AssertionError, ValueError) as exc:
            self.errors[f"subscription {name}"] += 1
            self.examples.setdefault(f"subscription {name}", f"{type(exc).__name__}: {exc}")


async def prepare(uri: str) -> tuple[str, list[str], list[str]]:
    """Load the demo data into the soak database; an admin key, members and SKUs to use."""
    settings = Settings(mongodb_uri=uri, database=DATABASE)
    data = seeding.read_seed_files(ROOT / "seeds")
    db = connect_database(settings)
    try:
        await db.client.drop_database(DATABASE)
        await seeding.load(db, data)
        key = await keys.create_key(db, settings, name="soak-admin", role="admin", replace=True)
    finally:
        await db.close()
    skus = [p["_id"] for p in data["products"]
            if any(o["channel_id"] == CHANNEL and o["available"] for o in p["offers"])]
    return key, [m["_id"] for m in data["members"]], skus


async def metrics_by_status(client: httpx.AsyncClient) -> dict[str, int]:
    text = (await client.get("/metrics")).text
    counts: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "omnigw_http_requests_total":
                counts[f"{sample.labels['status']} {sample.labels['code']}"] += int(sample.value)
    return dict(sorted(counts.items()))


async def soak(args: argparse.Namespace, uri: str) -> int:
    key, members, skus = await prepare(uri)
    port = free_port()
    multiproc = tempfile.mkdtemp(prefix="omnigw-soak-metrics-")
    env = {**os.environ, "MONGODB_URI": uri, "OMNIGW_DATABASE": DATABASE,
           "OMNIGW_LOG_LEVEL": "WARNING", "OMNIGW_ENV_FILE": "",
           "OMNIGW_THROTTLE_BUCKET_SIZE": "10000000", "OMNIGW_THROTTLE_RESTORE_RATE": "10000000",
           "PROMETHEUS_MULTIPROC_DIR": multiproc}
    server = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "omnigw"), "serve", "--workers", "2",
        "--port", str(port), env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    load = Load(members, skus)
    limits = httpx.Limits(max_connections=args.concurrency + 2)
    try:
        async with httpx.AsyncClient(base_url=base, limits=limits,
                                     headers={"Authorization": f"Bearer {key}"}) as client:
            for _ in range(300):
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            warm = time.monotonic() + 3  # both workers take connections and fill their caches
            await asyncio.gather(*(load.http_loop(client, warm) for _ in range(args.concurrency)))
            load = Load(members, skus)
            workers = workers_of(server.pid)
            memory = [(0.0, [rss_kib(w) for w in workers])]
            started = time.monotonic()
            until = started + args.seconds

            async def sample() -> None:
                while (left := until - time.monotonic()) > 0:
                    await asyncio.sleep(min(args.sample, left))
                    memory.append((time.monotonic() - started, [rss_kib(w) for w in workers]))

            url = f"ws://127.0.0.1:{port}/graphql"
            subscribers = [
                load.subscriber(url, key, CHANNEL_ORDERS, {"c": CHANNEL}, "channelOrders", until)
                if i % 2 == 0 else
                load.subscriber(url, key, ACTIVITY, {"m": members[i % len(members)]},
                                "memberActivity", until)
                for i in range(args.subscribers)]
            await asyncio.gather(sample(), *subscribers,
                                 *(load.http_loop(client, until) for _ in range(args.concurrency)))
            elapsed = time.monotonic() - started
            by_status = await metrics_by_status(client)
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(server.communicate(), 60)
    report(args, load, elapsed, workers, memory, by_status)
    if server.returncode not in (0, -signal.SIGTERM):
        print(stderr.decode()[-3000:], file=sys.stderr)
        return 1
    return 0


def report(args: argparse.Namespace, load: Load, elapsed: float, workers: list[int],
           memory: list[tuple[float, list[int]]], by_status: dict[str, int]) -> None:
    total = sum(len(v) for v in load.latency.values())
    errors = sum(load.errors.values())
    every = [ms for samples in load.latency.values() for ms in samples]
    print(f"soak: 2 workers, {elapsed:.0f} s, {args.concurrency} HTTP loops, "
          f"{args.subscribers} subscriptions")
    print(f"requests {total} ({total / elapsed:.0f}/s), errors {errors} "
          f"({100 * errors / max(total, 1):.3f}%), p50 {statistics.median(every):.1f} ms, "
          f"p99 {percentile(every, 0.99):.1f} ms")
    print(f"{'kind':<14}{'requests':>10}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}")
    for kind, samples in sorted(load.latency.items()):
        print(f"{kind:<14}{len(samples):>10}{load.errors[kind]:>8}"
              f"{statistics.median(samples):>9.1f}{percentile(samples, 0.99):>9.1f}")
    print("subscription events: " + ", ".join(f"{k} {v}" for k, v in sorted(load.events.items()))
          + (f"; subscription errors {sum(v for k, v in load.errors.items() if 'sub' in k)}"))
    print("gateway /metrics, requests by status and code: "
          + ", ".join(f"{k}: {v}" for k, v in by_status.items()))
    print("resident memory (MiB) per worker, from the start of the load:")
    for at, sizes in memory:
        print(f"  {at:6.0f} s  " + "  ".join(f"worker {i + 1} {kib / 1024:7.1f}"
                                             for i, kib in enumerate(sizes)))
    start, end = memory[0][1], memory[-1][1]
    print("SOAK " + json.dumps({
        "seconds": round(elapsed), "requests": total, "errors": errors,
        "p50_ms": round(statistics.median(every), 1), "p99_ms": round(percentile(every, 0.99), 1),
        "events": sum(load.events.values()),
        "rss_mib_start": [round(k / 1024, 1) for k in start],
        "rss_mib_end": [round(k / 1024, 1) for k in end]}))
    for kind, example in load.examples.items():
        print(f"first error ({kind}): {example}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--subscribers", type=int, default=20)
    parser.add_argument("--sample", type=float, default=20.0, help="seconds between RSS samples")
    args = parser.parse_args()
    server = None
    uri = os.environ.get("MONGODB_URI")
    if not uri:
        server = WireServer(ROOT).start()
        uri = server.uri
    try:
        return asyncio.run(soak(args, uri))
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
