"""Live subscriptions over graphql-transport-ws, served by a real uvicorn.

Documents written here go to their own database (``omnigw_live_test``), so the shared seed
database stays exactly the seeds.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from gateway import database
from gateway.admission import keys
from gateway.app import create_app
from gateway.database import Database
from gateway.errors import Unavailable
from gateway.live import Interest, Poller
from gateway.settings import Settings
from tests.mongo_server.server import WireServer
from tests.support import ROOT, SEEDS, TEST_DEFAULTS
from tests.support.servers import serving

LIVE_DATABASE = "omnigw_live_test"
INTERVAL = 0.5  # the default live_poll_interval_ms

MEMBER_ACTIVITY = """subscription($member: ID!) { memberActivity(member: $member) {
  __typename id at channel { id } ... on Order { total { amount currencyCode } } } }"""
CHANNEL_ORDERS = """subscription($channel: ID!) { channelOrders(channel: $channel) {
  id status member { id } } }"""


@dataclass
class Live:
    url: str
    poller: Poller
    db: Database
    admin: str  # "Bearer <an admin key>"
    partner: str  # "Bearer <a key of a partner of ch_flagship>"


@pytest.fixture(scope="module")
async def live_server(mongo_uri: str) -> AsyncIterator[Live]:
    settings = Settings(mongodb_uri=mongo_uri, database=LIVE_DATABASE, **TEST_DEFAULTS)
    app = create_app(settings)
    async with serving(app) as url:
        db: Database = app.state.db
        for name in ("orders", "payments", "visits", "order_events", "members", "identities",
                     "channels"):
            await db[name].drop()
        await db["channels"].insert_many(SEEDS["channels"])
        admin = await keys.create_key(db, settings, name="live-admin", role="admin",
                                      replace=True)
        partner = await keys.create_key(db, settings, name="live-partner", role="partner",
                                        channels=["ch_flagship"], replace=True)
        yield Live(url.replace("http", "ws") + "/graphql", app.state.live, db,
                   f"Bearer {admin}", f"Bearer {partner}")


class Socket:
    """A graphql-transport-ws client."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def subscribe(self, op_id: str, query: str, **variables: str) -> None:
        await self.ws.send(json.dumps({"id": op_id, "type": "subscribe",
                                       "payload": {"query": query, "variables": variables}}))

    async def receive(self) -> dict[str, Any]:
        async with asyncio.timeout(5):
            frame = await self.ws.recv()
        assert isinstance(frame, str), "graphql-transport-ws messages are text frames"
        message: dict[str, Any] = json.loads(frame)
        return message


async def open_socket(url: str, authorization: str) -> Socket:
    ws = await connect(url, subprotocols=[Subprotocol("graphql-transport-ws")])
    socket = Socket(ws)
    await ws.send(json.dumps({"type": "connection_init",
                              "payload": {"Authorization": authorization}}))
    assert await socket.receive() == {"type": "connection_ack"}
    return socket


async def until(condition: Any) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def order(member_id: str, channel_id: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {"_id": f"ord_live_{uuid.uuid4().hex[:12]}", "member_id": member_id,
            "channel_id": channel_id, "location_id": None,
            "lines": [{"sku": "sku_bok_choy_500g", "quantity": 2, "unit_price": 690}],
            "total": 1380, "currency": "CNY", "status": "PLACED", "placed_at": at,
            "fx_rate": "1", "total_base": 1380, **extra}


def stored(at: datetime) -> datetime:
    """``at`` as MongoDB keeps it (milliseconds)."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def gauge(field: str) -> float:
    return REGISTRY.get_sample_value("omnigw_live_subscriptions", {"field": field}) or 0.0


async def test_200_subscribers_on_50_members_cost_one_query_per_collection_per_tick(
    live_server: Live,
) -> None:
    # given 200 subscriptions (4 connections x 50, the per-connection limit) on 50 members
    members = [f"mem_{n:05d}" for n in range(1, 51)]
    before = gauge("memberActivity")
    sockets = [await open_socket(live_server.url, live_server.admin) for _ in range(4)]
    for s, socket in enumerate(sockets):
        for n, member in enumerate(members):
            await socket.subscribe(f"{s}-{n}", MEMBER_ACTIVITY, member=member)
    await until(lambda: len(live_server.poller.feeds) == 200)
    assert gauge("memberActivity") - before == 200
    # when the poller ticks three times
    start = live_server.poller.ticks
    await until(lambda: live_server.poller.ticks >= start + 4)
    # then each tick sent exactly one find per collection, for all 200 subscribers
    print("commands per tick with 200 subscribers:",
          [dict(stats.by_collection) for stats in list(live_server.poller.recent)[-3:]])
    for stats in list(live_server.poller.recent)[-3:]:
        assert (stats.commands, dict(stats.by_collection), dict(stats.by_command)) == (
            4, {"orders": 1, "payments": 1, "visits": 1, "order_events": 1}, {"find": 4}
        )
    # and closing the connections ends the subscriptions
    for socket in sockets:
        await socket.ws.close()
    await until(lambda: not live_server.poller.feeds)
    assert live_server.poller.tracks == {}
    await until(lambda: gauge("memberActivity") == before)


async def test_a_write_by_another_system_reaches_subscribers_within_two_intervals(
    live_server: Live,
) -> None:
    # given a member's and a channel's subscribers
    socket = await open_socket(live_server.url, live_server.admin)
    await socket.subscribe("member", MEMBER_ACTIVITY, member="mem_00007")
    await socket.subscribe("channel", CHANNEL_ORDERS, channel="ch_flagship")
    await until(lambda: len(live_server.poller.feeds) == 2)
    # when an order is inserted straight into MongoDB
    doc = order("mem_00007", "ch_flagship", datetime.now(UTC))
    started = time.monotonic()
    await live_server.db["orders"].insert_one(doc)
    received = {}
    for _ in range(2):
        message = await socket.receive()
        received[message["id"]] = message
    elapsed = time.monotonic() - started
    # then both subscribers get it, within two polling intervals
    assert elapsed < 2 * INTERVAL, elapsed
    print(f"order written straight into MongoDB reached both subscribers in {elapsed:.3f} s")
    assert received["member"] == {"id": "member", "type": "next", "payload": {"data": {
        "memberActivity": {"__typename": "Order", "id": doc["_id"],
                           "at": stored(doc["placed_at"]).isoformat(),
                           "channel": {"id": "ch_flagship"},
                           "total": {"amount": "13.80", "currencyCode": "CNY"}}}}}
    assert received["channel"]["payload"]["data"] == {"channelOrders": {
        "id": doc["_id"], "status": "PLACED", "member": None}}
    # and a payment and a visit of that member follow as their own types
    payment = {**SEEDS["payments"][0], "_id": f"pay_live_{uuid.uuid4().hex[:8]}",
               "member_id": "mem_00007", "paid_at": datetime.now(UTC)}
    await live_server.db["payments"].insert_one(payment)
    visit = {**SEEDS["visits"][0], "_id": f"vis_live_{uuid.uuid4().hex[:8]}",
             "member_id": "mem_00007", "at": datetime.now(UTC)}
    await live_server.db["visits"].insert_one(visit)
    kinds = set()
    for _ in range(2):
        message = await socket.receive()
        data = message["payload"]["data"]["memberActivity"]
        kinds.add((data["__typename"], data["id"]))
    assert kinds == {("Payment", payment["_id"]), ("Visit", visit["_id"])}
    await socket.ws.close()
    await until(lambda: not live_server.poller.feeds)


async def test_an_order_event_reaches_the_member_and_the_channel(live_server: Live) -> None:
    # given an order, and a member's and a channel's subscribers
    doc = order("mem_00008", "ch_flagship", datetime.now(UTC) - timedelta(minutes=1))
    await live_server.db["orders"].insert_one(doc)
    socket = await open_socket(live_server.url, live_server.admin)
    await socket.subscribe("member", MEMBER_ACTIVITY, member="mem_00008")
    await socket.subscribe("channel", CHANNEL_ORDERS, channel="ch_flagship")
    await until(lambda: len(live_server.poller.feeds) == 2)
    # when the order ships (its status and its event, as shipOrder writes them)
    await live_server.db["orders"].update_one({"_id": doc["_id"]},
                                              {"$set": {"status": "SHIPPED"}})
    event = {"_id": f"oev_live{uuid.uuid4().hex[:12]}", "order_id": doc["_id"],
             "member_id": "mem_00008", "channel_id": "ch_flagship", "location_id": None,
             "kind": "SHIPPED", "at": datetime.now(UTC), "by": "admin"}
    await live_server.db["order_events"].insert_one(event)
    received = {}
    for _ in range(2):
        message = await socket.receive()
        received[message["id"]] = message["payload"]["data"]
    # then the member's feed gets the event, and the channel's feed the order as it is now
    assert received["member"] == {"memberActivity": {
        "__typename": "OrderEvent", "id": event["_id"], "at": stored(event["at"]).isoformat(),
        "channel": {"id": "ch_flagship"}}}
    assert received["channel"] == {"channelOrders": {
        "id": doc["_id"], "status": "SHIPPED", "member": None}}
    await socket.ws.close()
    await until(lambda: not live_server.poller.feeds)


async def test_the_keyset_misses_nothing_and_repeats_nothing(live_server: Live) -> None:
    # given a poller that reads at most 5 documents per tick
    poller = Poller(live_server.db, interval=3600, batch_limit=5)
    async with poller.subscribe([Interest("orders", "member_id", "mem_keyset")]) as feed:
        start = poller.tracks["orders"].floor
        # when 12 orders arrive, 6 of them in the same millisecond, in an unsorted burst
        docs = [order("mem_keyset", "ch_flagship", start + timedelta(milliseconds=n // 6),
                      _id=f"ord_keyset_{n:02d}") for n in reversed(range(12))]
        await live_server.db["orders"].insert_many(docs)
        for _ in range(4):
            stats = await poller.tick()
            assert stats.commands == 1
        # then each arrives once, in (time, id) order
        seen = [feed.queue.get_nowait() for _ in range(feed.queue.qsize())]
        assert [doc["_id"] for _, doc in seen if doc is not None] == [
            f"ord_keyset_{n:02d}" for n in range(12)]
        # and nothing else is in flight
        await poller.tick()
        assert feed.queue.empty()
    await poller.stop()


async def test_a_late_write_within_the_lookback_is_sent_once(live_server: Live) -> None:
    # given a poller that has read an order 50 ms after its start
    poller = Poller(live_server.db, interval=3600, lookback=timedelta(seconds=2))
    async with poller.subscribe([Interest("orders", "member_id", "mem_late")]) as feed:
        start = poller.tracks["orders"].floor
        newer = order("mem_late", "ch_flagship", start + timedelta(milliseconds=50))
        await live_server.db["orders"].insert_one(newer)
        await poller.tick()
        # when another writer's order, timed 20 ms after the start, becomes visible only now,
        # and an order older than the subscription appears too
        late = order("mem_late", "ch_flagship", start + timedelta(milliseconds=20))
        before = order("mem_late", "ch_flagship", start - timedelta(milliseconds=1))
        await live_server.db["orders"].insert_many([late, before])
        for _ in range(3):
            await poller.tick()
        # then the late order is sent, once; the older one is not; nothing repeats
        sent = [feed.queue.get_nowait() for _ in range(feed.queue.qsize())]
        assert [doc["_id"] for _, doc in filter(None, sent)] == [newer["_id"], late["_id"]]
    await poller.stop()


async def test_a_subscriber_that_falls_behind_is_ended(live_server: Live) -> None:
    # given a subscriber whose queue holds 2 events and who does not read
    poller = Poller(live_server.db, interval=3600, queue_limit=2)
    async with poller.subscribe([Interest("orders", "member_id", "mem_lagging")]) as feed:
        start = poller.tracks["orders"].floor
        # when 3 orders arrive
        await live_server.db["orders"].insert_many([
            order("mem_lagging", "ch_flagship", start + timedelta(milliseconds=1))
            for _ in range(3)])
        await poller.tick()
        # then reading ends with UNAVAILABLE
        with pytest.raises(Unavailable, match="fell too far behind"):
            await feed.next()
    await poller.stop()


async def test_subscriptions_per_connection_are_limited(live_server: Live) -> None:
    socket = await open_socket(live_server.url, live_server.admin)
    for n in range(50):
        await socket.subscribe(str(n), MEMBER_ACTIVITY, member="mem_00001")
    await socket.subscribe("51st", MEMBER_ACTIVITY, member="mem_00001")
    assert await socket.receive() == {"id": "51st", "type": "error",
                                      "payload": [{"message": "Subscription limit reached"}]}
    await socket.ws.close()
    await until(lambda: not live_server.poller.feeds)


async def test_a_document_of_several_operations_needs_an_operation_name(
    live_server: Live,
) -> None:
    socket = await open_socket(live_server.url, live_server.admin)
    two = CHANNEL_ORDERS.replace("subscription(", "subscription A(") + MEMBER_ACTIVITY.replace(
        "subscription(", "subscription B(")
    await socket.subscribe("two", two, channel="ch_flagship", member="mem_00001")
    refused = await socket.receive()  # a validation error: the protocol's `error` message
    assert (refused["type"], refused["id"]) == ("error", "two")
    assert [e["extensions"]["code"] for e in refused["payload"]] == ["GRAPHQL_VALIDATION_FAILED"]
    assert not live_server.poller.feeds
    await socket.ws.close()


async def test_connection_init_authenticates_and_scopes_the_connection(
    live_server: Live,
) -> None:
    # given a connection whose Authorization is the key of a partner of ch_flagship
    member = next(m for m in SEEDS["members"] if m["_id"] == "mem_00008")
    await live_server.db["members"].insert_one(member)
    await live_server.db["identities"].insert_many(
        [i for i in SEEDS["identities"] if i["member_id"] == "mem_00008"])
    socket = await open_socket(live_server.url, live_server.partner)
    # when it watches another channel, it is refused
    await socket.subscribe("other", CHANNEL_ORDERS, channel="ch_miniapp")
    refused = await socket.receive()
    assert refused["type"] == "next"
    assert [(e["extensions"]["code"], e.get("path")) for e in refused["payload"]["errors"]] == [
        ("FORBIDDEN", None)]  # raised before the stream starts: no path
    assert (await socket.receive())["type"] == "complete"
    # and a member's activity shows only its channels
    await socket.subscribe("member", MEMBER_ACTIVITY, member="mem_00008")
    await until(lambda: len(live_server.poller.feeds) == 1)
    hidden = order("mem_00008", "ch_miniapp", datetime.now(UTC))
    shown = order("mem_00008", "ch_flagship", datetime.now(UTC) + timedelta(milliseconds=1))
    await live_server.db["orders"].insert_many([hidden, shown])
    message = await socket.receive()
    assert message["payload"]["data"]["memberActivity"]["id"] == shown["_id"]
    await socket.ws.close()
    await until(lambda: not live_server.poller.feeds)


async def test_an_unauthenticated_connection_is_closed(live_server: Live) -> None:
    ws = await connect(live_server.url, subprotocols=[Subprotocol("graphql-transport-ws")])
    await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": "x"}}))
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4403, "Forbidden")


async def test_subscribers_outlive_a_database_outage(caplog: pytest.LogCaptureFixture) -> None:
    # given a subscriber on a database of its own
    server = WireServer(ROOT).start()
    db = database.connect(Settings(mongodb_uri=server.uri, database=LIVE_DATABASE))
    poller = Poller(db, interval=3600)
    try:
        async with poller.subscribe([Interest("orders", "member_id", "mem_outage")]) as feed:
            start = poller.tracks["orders"].floor
            # when the database goes away, ticks fail quietly (one warning per outage)
            server.stop()
            for _ in range(2):
                assert (await poller.tick()).commands == 0  # no server to send it to
            warnings = [r for r in caplog.records if r.name == "gateway.live"]
            assert [r.levelname for r in warnings] == ["WARNING"]
            # and when it comes back, new writes reach the subscriber
            server.restart()
            doc = order("mem_outage", "ch_flagship", start + timedelta(milliseconds=1))
            await db["orders"].insert_one(doc)
            await poller.tick()
            event = feed.queue.get_nowait()
            assert event is not None and event[1]["_id"] == doc["_id"]
    finally:
        await poller.stop()
        await db.close()
        server.stop()
