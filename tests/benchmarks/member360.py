"""Benchmark: the member-360 query for a page of 50 members, three ways, side by side.

    make bench                      # scale 2: 120 members, 2,400 orders; then HTTP
    python -m tests.benchmarks.member360 --scale 170 --runs 10 --http-seconds 0

(a) the gateway; (b) the same schema with every DataLoader replaced by per-item queries (the
naive N+1); (c) a hand-written PyMongo + orjson function that sends the same queries and builds
the same JSON (the floor). Plus a 10,000-object list query with no database, against the same
query on plain strawberry with default settings. Then the HTTP runs of
:mod:`tests.benchmarks.throughput` on the same data. Runs on mongo-java-server (started here)
unless MONGODB_URI is set. The last two lines are machine-readable: ``http ...`` and
``member360 ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import strawberry
from strawberry.schema.config import StrawberryConfig

from gateway.cli.main import load_with_progress
from gateway.context import make_context
from gateway.database import Database, connect
from gateway.database.scope import ADMIN
from gateway.demo import generator
from gateway.settings import Settings
from resolvers.channels import Channel, ChannelKind
from resolvers.scalars import SCALAR_MAP
from resolvers.schema import Schema, build_schema
from resolvers.schema.execution import FastExecutionContext
from tests.benchmarks import throughput
from tests.benchmarks.floor import member360_floor
from tests.mongo_server.server import WireServer
from tests.test_member360 import MEMBERS_360

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "omnigw_bench"


def per_item(load_fn: Callable[[list[Any]], Awaitable[list[Any]]]) -> Callable[..., Any]:
    """A batch function that sends one query per key, one after another (the N+1)."""

    async def batch(keys: list[Any]) -> list[Any]:
        return [(await load_fn([key]))[0] for key in keys]

    return batch


async def timed(fn: Callable[[], Awaitable[bytes]], runs: int) -> tuple[list[float], bytes]:
    out = await fn()  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        out = await fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples, out


async def side_by_side(fns: dict[str, Callable[[], Awaitable[bytes]]], runs: int, *,
                       warm_up: int = 3) -> dict[str, tuple[list[float], bytes]]:
    """Each of ``fns`` ``runs`` times, taking turns (the order reversed every round), after
    ``warm_up`` untimed rounds: the database server's warm-up and the neighbours' load fall on
    every variant alike, not on whichever ran first."""
    names = list(fns)
    samples: dict[str, list[float]] = {name: [] for name in names}
    outs: dict[str, bytes] = {}
    for round_ in range(warm_up + runs):
        for name in names if round_ % 2 == 0 else names[::-1]:
            started = time.perf_counter()
            outs[name] = await fns[name]()
            if round_ >= warm_up:
                samples[name].append((time.perf_counter() - started) * 1000)
    return {name: (samples[name], outs[name]) for name in names}


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, round(0.95 * len(samples)) - 1)]


async def member360(db: Database, settings: Settings, runs: int, naive_runs: int) -> dict[str, Any]:
    schema = build_schema()
    variables = {"first": 50}
    gc.collect()
    gc.freeze()  # as the served gateway does once started (gateway/app.py)

    async def gateway(naive: bool = False) -> bytes:
        context = make_context(db, settings, ADMIN)
        if naive:  # each loader, as it is built, sends one query per key
            loaders, observe = context.loaders, context.loaders.observe

            def naive_observe(name: str, loader: Any) -> None:
                if id(loader) not in loaders._observed:
                    loader.load_fn = per_item(loader.load_fn)
                observe(name, loader)

            loaders.observe = naive_observe  # type: ignore[method-assign]
        result = await schema.execute(MEMBERS_360, variable_values=variables,
                                      context_value=context)
        assert not result.errors, result.errors
        return orjson.dumps({"data": result.data})

    async def floor() -> bytes:
        return await member360_floor(db.db, first=50, base=settings.base_currency)

    timings = await side_by_side({"gateway": gateway, "floor": floor}, runs)
    (gateway_ms, gateway_out), (floor_ms, floor_out) = timings["gateway"], timings["floor"]
    naive_ms, naive_out = await timed(lambda: gateway(naive=True), naive_runs)
    assert orjson.loads(floor_out) == orjson.loads(gateway_out), "the floor differs"
    assert naive_out == gateway_out
    context = make_context(db, settings, ADMIN)
    await schema.execute(MEMBERS_360, variable_values=variables, context_value=context)
    return {"commands": context.stats.commands, "gateway": gateway_ms, "floor": floor_ms,
            "naive": naive_ms}


async def list10k(runs: int) -> tuple[list[float], list[float]]:
    """10,000 channels from memory: our schema set-up versus plain strawberry defaults."""
    kinds = list(ChannelKind)
    items = [Channel(id=strawberry.ID(f"ch_{n}"), name=f"Channel {n}", kind=kinds[n % 4],
                     currency="CNY", country="CN", time_zone="Asia/Shanghai")
             for n in range(10_000)]

    @strawberry.type
    class Query:
        @strawberry.field
        def items(self) -> list[Channel]:
            return items

    query = "{ items { id name kind currency country timeZone } }"
    # Channel reaches the Long scalar (its analytics): both schemas need its definition
    scalars = StrawberryConfig(scalar_map=SCALAR_MAP)
    ours = Schema(query=Query, extensions=build_schema().extensions,
                  execution_context_class=FastExecutionContext, config=scalars)
    plain = strawberry.federation.Schema(query=Query, config=scalars)  # default settings
    settings = Settings()
    context = make_context(connect(settings), settings, ADMIN)

    async def run(schema: Any) -> list[float]:
        samples = []
        for _ in range(runs + 1):
            started = time.perf_counter()
            result = await schema.execute(query, context_value=context)
            assert not result.errors and len(result.data["items"]) == 10_000
            samples.append((time.perf_counter() - started) * 1000)
        return samples[1:]

    return await run(ours), await run(plain)


@asynccontextmanager
async def seeded_server(scale: int) -> AsyncIterator[tuple[str, str, list[str]]]:
    """The test MongoDB server (started here unless MONGODB_URI is set) with the demo data at
    ``scale`` in DATABASE: its URI, the database and the member ids, in id order."""
    server = None
    uri = os.environ.get("MONGODB_URI")
    if not uri:
        server = WireServer(ROOT).start()
        uri = server.uri
    try:
        settings = Settings(mongodb_uri=uri, database=DATABASE, socket_timeout_ms=300_000,
                            connect_timeout_ms=30_000, server_selection_timeout_ms=30_000)
        db = connect(settings)
        try:
            await db.client.drop_database(DATABASE)
        finally:
            await db.close()
        started = time.perf_counter()
        data = generator.generate(scale)
        await load_with_progress(settings, data)
        members = sorted(m["_id"] for m in data["members"])
        print(f"seeded scale {scale}: {len(members)} members, {len(data['orders'])} "
              f"orders, {len(data['visits'])} visits in {time.perf_counter() - started:.0f} s")
        del data
        yield uri, DATABASE, members
    finally:
        if server is not None:
            server.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=2,
                        help="demo data scale (2: 120 members; 170: 10,200 members)")
    parser.add_argument("--runs", type=int, default=10, help="timed runs per variant")
    parser.add_argument("--naive-runs", type=int, default=2, help="timed runs of the N+1 variant")
    parser.add_argument("--http-seconds", type=float, default=5,
                        help="seconds of wrk load per HTTP run (0: no HTTP runs)")
    args = parser.parse_args()

    # The in-memory list first, while no database server shares the machine.
    ours, plain = await list10k(args.runs)
    http = None
    async with seeded_server(args.scale) as (uri, database, members):
        # The test server scans whole collections (it ignores non-unique indexes): be patient.
        settings = Settings(mongodb_uri=uri, database=database, socket_timeout_ms=300_000,
                            connect_timeout_ms=30_000, server_selection_timeout_ms=30_000,
                            max_cost=1_000_000)  # the 50-member page costs ~13,700 points
        db = connect(settings)
        try:
            result = await member360(db, settings, args.runs, args.naive_runs)
        finally:
            await db.close()
        if args.http_seconds > 0:
            http = await throughput.measure(uri, database, seconds=args.http_seconds,
                                            member=members[0])
    med = {k: statistics.median(v) for k, v in result.items() if k != "commands"}
    print(f"cores={os.cpu_count()} runs={args.runs} naive_runs={args.naive_runs} "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'variant':<28}{'median ms':>12}{'p95 ms':>12}")
    for name, key in [("gateway", "gateway"), ("hand-written floor", "floor"),
                      ("naive N+1", "naive")]:
        print(f"{name:<28}{med[key]:>12.1f}{p95(result[key]):>12.1f}")
    print(f"{'list 10k, our schema':<28}{statistics.median(ours):>12.1f}{p95(ours):>12.1f}")
    print(f"{'list 10k, plain strawberry':<28}{statistics.median(plain):>12.1f}{p95(plain):>12.1f}")
    if http is not None:
        print(throughput.report(http))
    print(f"member360 commands={result['commands']} gateway_ms={med['gateway']:.1f} "
          f"floor_ms={med['floor']:.1f} naive_ms={med['naive']:.1f} "
          f"ratio={med['gateway'] / med['floor']:.2f} list10k_ms={statistics.median(ours):.1f}")


if __name__ == "__main__":
    asyncio.run(main())
