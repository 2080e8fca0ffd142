"""Benchmark: does a member's past cost anything? Member 360 of a member with 20 orders and
of one with 100,000, in the same database, side by side.

    python -m tests.benchmarks.history_depth                     # the test server
    MONGODB_URI=mongodb://host:27017 python -m tests.benchmarks.history_depth  # a MongoDB

It loads the demo seeds, adds the two members (their orders in one channel, 20 visits each),
rebuilds the rollups (as any bulk load does), then times the member-360 query
(tests/test_member360.py's MEMBER_360: identities, a history page of 20 with lines and
payments, channel summaries, lifetime value) and its two costly parts alone, and counts the
commands. Where the engine answers ``explain`` it prints the documents and index keys the
history's aggregate examines for both members, in the shape the engine runs
(gateway/database/latest.py); the test server has no ``explain`` and says so. The last line
is machine-readable.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.context import make_context
from gateway.database import Database, connect, rollups, seeding
from gateway.database.latest import grouped_pipeline, union_pipeline
from gateway.database.query import Paging
from gateway.database.scope import ADMIN
from gateway.settings import Settings
from resolvers.schema import build_schema
from tests.mongo_server.server import WireServer
from tests.test_member360 import MEMBER_360

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "omnigw_history_depth"
CHANNEL, SKU, PRICE = "ch_flagship", "sku_aloe_body_wash_1l", 4990
SUMMARIES = """query($id: ID!) { member(id: $id) { channelSummaries { channel { id }
  orderCount spend { amount } spendBase { amount } visitCount firstActivityAt lastActivityAt }
  lifetimeValue { amount currencyCode } } }"""
HISTORY = """query($id: ID!) { member(id: $id) { history(first: 20) { edges { cursor node {
  __typename at ... on Order { total { amount } } } } pageInfo { hasNextPage } } } }"""
EXAMINED = ("totalDocsExamined", "totalKeysExamined", "docsExamined", "keysExamined")


def member(member_id: str) -> dict[str, Any]:
    return {"_id": member_id, "name": f"Depth {member_id[-4:]}", "phone": None, "email": None,
            "tier": "GOLD", "points": 0, "joined_at": datetime(2015, 1, 1, tzinfo=UTC),
            "home_channel_id": CHANNEL}


def orders(member_id: str, count: int, start: datetime) -> list[dict[str, Any]]:
    return [{"_id": f"ord_{member_id[4:]}_{n:07d}", "member_id": member_id,
             "channel_id": CHANNEL, "location_id": None,
             "lines": [{"sku": SKU, "quantity": 1, "unit_price": PRICE}], "total": PRICE,
             "currency": "CNY", "status": "COMPLETED" if n % 7 else "PAID",
             "placed_at": start + timedelta(minutes=30 * n), "fx_rate": "1",
             "total_base": PRICE, "paid": PRICE, "stock": None, "source": "import"}
            for n in range(count)]


def visits(member_id: str, start: datetime) -> list[dict[str, Any]]:
    return [{"_id": f"vis_{member_id[4:]}_{n:04d}", "member_id": member_id,
             "channel_id": CHANNEL, "location_id": None, "kind": "APP_SESSION",
             "source": "push", "at": start + timedelta(hours=n)} for n in range(20)]


async def load(db: Database, *, few: int, many: int) -> None:
    await db.client.drop_database(DATABASE)
    await seeding.load(db, seeding.read_seed_files(ROOT / "seeds"))
    start = datetime(2021, 1, 1, tzinfo=UTC)
    await db["members"].insert_many([member("mem_depth_few"), member("mem_depth_many")])
    for member_id, count in (("mem_depth_few", few), ("mem_depth_many", many)):
        docs = orders(member_id, count, start)
        for i in range(0, len(docs), 5_000):
            await db["orders"].insert_many(docs[i:i + 5_000])
        await db["visits"].insert_many(visits(member_id, start))
    await rollups.rebuild(db)


def examined(explained: Any) -> dict[str, int]:
    """Every count of examined documents and keys in an ``explain`` answer, summed by name."""
    found: dict[str, int] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in EXAMINED and isinstance(value, int):
                    found[key] = found.get(key, 0) + value
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(explained)
    return found


async def explain(db: Database, member_id: str, *, union: bool) -> str:
    paging = Paging(size=20)
    pipeline = (union_pipeline("orders", key_field="member_id", keys=[member_id], query={},
                               time_field="placed_at", paging=paging) if union
                else grouped_pipeline(key_field="member_id", keys=[member_id], query={},
                                      time_field="placed_at", paging=paging))
    try:
        answer = await db.db.command("explain", {"aggregate": "orders", "pipeline": pipeline,
                                                 "cursor": {}}, verbosity="executionStats")
    except Exception as exc:  # an engine without explain: say so
        return f"no explain on this engine ({str(exc).splitlines()[0][:80]})"
    return " ".join(f"{k}={v}" for k, v in sorted(examined(answer).items())) or "no counts"


async def timed(db: Database, settings: Settings, query: str, member_id: str,
                runs: int) -> tuple[float, int]:
    schema = build_schema()
    samples, commands = [], 0
    for _ in range(runs + 1):  # the first one warms up
        context = make_context(db, settings, ADMIN)
        started = time.perf_counter()
        result = await schema.execute(query, variable_values={"id": member_id},
                                      context_value=context)
        samples.append((time.perf_counter() - started) * 1000)
        assert not result.errors, result.errors
        commands = context.stats.commands
    return statistics.median(samples[1:]), commands


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--few", type=int, default=20, help="orders of the first member")
    parser.add_argument("--many", type=int, default=100_000, help="orders of the second")
    parser.add_argument("--runs", type=int, default=10, help="timed runs per query")
    args = parser.parse_args()
    server = None
    uri = os.environ.get("MONGODB_URI")
    if not uri:
        server = WireServer(ROOT).start()
        uri = server.uri
    try:
        settings = Settings(mongodb_uri=uri, database=DATABASE, socket_timeout_ms=300_000,
                            max_cost=1_000_000)
        db = connect(settings)
        started = time.perf_counter()
        await load(db, few=args.few, many=args.many)
        print(f"loaded: members with {args.few} and {args.many} orders "
              f"in {time.perf_counter() - started:.0f} s")
        features = await db.features()
        print(f"history shape on this engine: {features.history_shape} "
              "(gateway/database/engine.py)")
        rows: dict[str, dict[str, float]] = {}
        for label, member_id in (("few", "mem_depth_few"), ("many", "mem_depth_many")):
            row: dict[str, float] = {}
            row["m360_ms"], row["commands"] = await timed(db, settings, MEMBER_360, member_id,
                                                          args.runs)
            row["summaries_ms"], _ = await timed(db, settings, SUMMARIES, member_id, args.runs)
            row["history_ms"], _ = await timed(db, settings, HISTORY, member_id, args.runs)
            rows[label] = row
            for union in (True, False):
                shape = "union" if union else "grouped"
                print(f"explain {shape:<8} {label:<5}: {await explain(db, member_id, union=union)}")
        await db.close()
    finally:
        if server is not None:
            server.stop()
    print(f"{'member':<24}{'commands':>9}{'member 360 ms':>15}{'summaries ms':>14}"
          f"{'history ms':>12}")
    for label, count in (("few", args.few), ("many", args.many)):
        row = rows[label]
        print(f"{f'{count:,} orders':<24}{row['commands']:>9.0f}{row['m360_ms']:>15.1f}"
              f"{row['summaries_ms']:>14.1f}{row['history_ms']:>12.1f}")
    few, many = rows["few"], rows["many"]
    print(f"history_depth shape={features.history_shape} few={args.few} many={args.many} "
          f"commands={few['commands']:.0f}/{many['commands']:.0f} "
          f"m360_ms={few['m360_ms']:.1f}/{many['m360_ms']:.1f} "
          f"summaries_ms={few['summaries_ms']:.1f}/{many['summaries_ms']:.1f} "
          f"history_ms={few['history_ms']:.1f}/{many['history_ms']:.1f} "
          f"ratio={many['m360_ms'] / few['m360_ms']:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
