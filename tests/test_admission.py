"""Nothing is read before it is allowed: the gate, the connection limits and WebSocket
admission, against a real uvicorn (gateway.web.connections' protocol) on the wire server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from gateway.admission import auth, keys
from gateway.app import create_app
from gateway.database.monitoring import counting
from gateway.errors import Unauthenticated
from gateway.web import connections
from tests.support import Gateway, embedded_settings, running_gateway, wire_settings
from tests.support.servers import serving

LIMITS: dict[str, Any] = {
    "body_timeout_seconds": 0.5, "header_timeout_seconds": 0.5,
    "max_connections_per_client": 8, "ws_init_timeout_seconds": 0.5,
    "max_sockets_per_key": 2, "max_subscriptions_per_key": 3, "key_cache_ttl_seconds": 0.5,
}
SUBSCRIBE = """subscription($c: ID!) { channelOrders(channel: $c) { id } }"""


@dataclass
class Served:
    host: str
    port: int
    url: str
    gateway: Gateway
    admin: str


@pytest.fixture(scope="module")
async def served(seeded: str) -> AsyncIterator[Served]:
    settings = wire_settings(seeded, **LIMITS)
    app = create_app(settings)
    async with serving(app, http=connections.protocol(settings),
                       ws_max_size=settings.max_body_bytes) as url:
        gateway = Gateway(app, settings)
        admin = await gateway.key("admission-admin", "admin")
        host, port = url.removeprefix("http://").split(":")
        yield Served(host, int(port), url, gateway, admin)


async def exchange(served: Served, raw: bytes, wait: float = 5.0) -> bytes:
    """Send ``raw`` on a new connection; everything the server answers before closing (or
    before ``wait`` seconds)."""
    reader, writer = await asyncio.open_connection(served.host, served.port)
    writer.write(raw)
    await writer.drain()
    try:
        async with asyncio.timeout(wait):
            return await reader.read()
    except TimeoutError:
        return b"(still open)"
    finally:
        writer.close()


def request(headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"POST /graphql HTTP/1.1\r\nhost: gateway\r\n{lines}\r\n".encode() + body


async def test_the_key_is_checked_before_the_body_is_read(served: Served) -> None:
    # given a keyless request that announces 990 KB and sends none of it
    started = time.monotonic()
    answer = await exchange(served, request({"content-type": "application/json",
                                             "content-length": "990000"}))
    # then it is refused at once, and the connection closed
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert b'"code":"UNAUTHENTICATED"' in answer
    assert time.monotonic() - started < 2


async def test_a_body_that_does_not_arrive_in_time_is_refused(served: Served) -> None:
    answer = await exchange(served, request({
        "authorization": f"Bearer {served.admin}", "content-type": "application/json",
        "content-length": "100"}, b'{"query": '))
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"limit body_timeout_seconds" in answer


async def test_a_connection_that_does_not_finish_its_headers_is_closed(served: Served) -> None:
    started = time.monotonic()
    assert await exchange(served, b"POST /graphql HTTP/1.1\r\nhost: gat") == b""
    assert 0.4 < time.monotonic() - started < 3
    assert await exchange(served, b"") == b""  # a silent connection too


async def test_connections_per_client_are_capped(served: Served) -> None:
    held = [await asyncio.open_connection(served.host, served.port) for _ in range(8)]
    try:
        answer = await exchange(served, b"")
        assert answer.startswith(b"HTTP/1.1 503 ")
        assert b"limit max_connections_per_client" in answer
    finally:
        for _, writer in held:
            writer.close()
    await asyncio.sleep(0.1)
    answer = await exchange(served, request({"content-length": "0"}))
    assert answer.startswith(b"HTTP/1.1 401 ")


async def test_json_that_would_hurt_a_parser_is_a_graphql_shaped_400(served: Served) -> None:
    deep = {"query": "{ __typename }", "variables": {"v": json.loads("[" * 100 + "]" * 100)}}
    bodies = [
        (json.dumps(deep).encode(), "limit max_json_depth"),
        (b'{"query": "{ __typename }", "variables": {"v": "\xff\xfe"}}', "not valid UTF-8"),
        (b'{"query": "{ __typename }", "variables": {"v": "\\ud800"}}', "lone surrogate"),
        (b'{"query": "{ member(id: \\"\\udc00\\") { id } }"}', "lone surrogate"),
    ]
    async with httpx.AsyncClient(base_url=served.url,
                                 headers={"authorization": f"Bearer {served.admin}"}) as client:
        for body, words in bodies:
            response = await client.post("/graphql", content=body,
                                         headers={"content-type": "application/json"})
            assert response.status_code == 400, response.text
            error = response.json()["errors"][0]
            assert error["extensions"]["code"] == "BAD_USER_INPUT"
            assert words in error["message"]
        response = await client.get("/graphql", params={
            "query": "{ __typename }", "variables": "[" * 40 + "]" * 40})
        assert response.status_code == 400
        assert "limit max_json_depth" in response.json()["errors"][0]["message"]


async def open_ws(served: Served, key: str | None = None) -> ClientConnection:
    return await connect(served.url.replace("http", "ws") + "/graphql",
                         subprotocols=[Subprotocol("graphql-transport-ws")],
                         additional_headers={"authorization": f"Bearer {key}"} if key else None,
                         max_size=None)


async def closed_with(ws: ClientConnection) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(5):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def init(ws: ClientConnection) -> None:
    await ws.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await ws.recv()) == {"type": "connection_ack"}


async def test_a_socket_without_connection_init_is_closed(served: Served) -> None:
    ws = await open_ws(served, served.admin)
    assert await closed_with(ws) == (4408, "Connection initialisation timeout")


async def test_websocket_messages_are_capped_at_the_body_limit(served: Served) -> None:
    ws = await open_ws(served, served.admin)
    await init(ws)
    await ws.send(json.dumps({"type": "subscribe", "id": "1", "payload": {
        "query": "#" + " " * 1_000_100 + "\n{ __typename }"}}))
    assert (await closed_with(ws))[0] == 1009
    ws = await open_ws(served, served.admin)
    await init(ws)
    await ws.send('{"type": "subscribe", "id": "1", "payload": {"query": "{ __typename }",'
                  ' "variables": {"v": "\\ud800"}}}')
    assert (await closed_with(ws))[0] == 4400


async def test_a_keys_sockets_and_operations_are_capped(served: Served) -> None:
    key = await served.gateway.key("socket-partner", "partner", ("ch_flagship",))
    first, second = await open_ws(served, key), await open_ws(served, key)
    await init(first)
    await init(second)
    third = await open_ws(served, key)
    await third.send(json.dumps({"type": "connection_init"}))
    assert await closed_with(third) == (4429, "Too many sockets for this key (max_sockets_per_key)")
    for n in range(3):
        await (first if n % 2 else second).send(json.dumps({
            "type": "subscribe", "id": str(n),
            "payload": {"query": SUBSCRIBE, "variables": {"c": "ch_flagship"}}}))
    await asyncio.sleep(0.3)
    await first.send(json.dumps({"type": "subscribe", "id": "4", "payload": {
        "query": SUBSCRIBE, "variables": {"c": "ch_flagship"}}}))
    refused = json.loads(await first.recv())
    assert (refused["id"], refused["type"]) == ("4", "error")
    assert refused["payload"][0]["extensions"]["code"] == "THROTTLED"
    assert "limit max_subscriptions_per_key" in refused["payload"][0]["message"]
    await first.close()
    await second.close()


async def test_a_revoked_key_closes_its_open_sockets(served: Served) -> None:
    key = await served.gateway.key("socket-revoked", "partner", ("ch_flagship",))
    in_header, in_init = await open_ws(served, key), await open_ws(served)
    await init(in_header)
    await in_init.send(json.dumps({"type": "connection_init",
                                   "payload": {"Authorization": f"Bearer {key}"}}))
    assert json.loads(await in_init.recv()) == {"type": "connection_ack"}
    await in_header.send(json.dumps({"type": "subscribe", "id": "1", "payload": {
        "query": SUBSCRIBE, "variables": {"c": "ch_flagship"}}}))
    # when the key is revoked, both sockets are closed within the re-check (1 s here)
    assert await keys.revoke_key(served.gateway.app.state.db, "socket-revoked")
    started = time.monotonic()
    assert await closed_with(in_header) == (4403, "Forbidden")
    assert await closed_with(in_init) == (4403, "Forbidden")
    assert time.monotonic() - started < 3


async def test_failed_authentications_are_limited_per_address_without_lookups() -> None:
    async for gateway in running_gateway(embedded_settings(auth_failures_per_minute=3)):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway.app),
                                     base_url="http://gateway") as client:
            for n in range(3):
                with counting() as looked_up:
                    response = await client.post("/graphql", json={"query": "{ __typename }"},
                                                 headers={"authorization": f"Bearer random-{n}x"})
                assert (response.status_code, looked_up.commands) == (401, 1)
            with counting() as looked_up:
                response = await client.post("/graphql", json={"query": "{ __typename }"},
                                             headers={"authorization": "Bearer random-key-4"})
            assert (response.status_code, looked_up.commands) == (429, 0)
            assert response.json()["errors"][0]["extensions"]["code"] == "THROTTLED"
            assert int(response.headers["retry-after"]) >= 1


async def test_unknown_keys_never_evict_known_ones(
    embedded_gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "CACHE_SIZE", 5)
    db = embedded_gateway.app.state.db
    authenticator = auth.Authenticator(embedded_settings())
    key = await embedded_gateway.key("cached-among-strangers", "admin")
    await authenticator.authenticate(db, f"Bearer {key}")
    for n in range(50):
        with pytest.raises(Unauthenticated):
            await authenticator.authenticate(db, f"Bearer unknown-key-{n}")
    with counting() as looked_up:
        assert (await authenticator.authenticate(db, f"Bearer {key}")).name == (
            "cached-among-strangers")
    assert looked_up.commands == 0


async def test_a_key_that_cannot_pay_for_its_body_is_refused_before_it_is_read() -> None:
    async for gateway in running_gateway(embedded_settings(throttle_bucket_size=100,
                                                    throttle_restore_rate=1)):
        async with gateway.client(await gateway.key("big-bodies", "partner",
                                                    ("ch_us_market",))) as client:
            # a body of 20,029 bytes needs 201 points: more than the bucket holds
            padded = {"query": "#" + "x" * 20_000 + "\n{ __typename }"}
            response = await client.post("/graphql", json=padded)
            assert response.status_code == 413
            assert response.json()["errors"][0]["message"] == (
                "A body of 20029 bytes needs 201 points, more than a bucket holds (100, limit "
                "throttle_bucket_size).")
            # 8,999 bytes need 90 points; after one, the bucket holds 10: refused unread
            padded = {"query": "#" + "x" * 8_970 + "\n{ __typename }"}
            assert (await client.post("/graphql", json=padded)).status_code == 200
            response = await client.post("/graphql", json=padded)
            assert response.status_code == 429
            error = response.json()["errors"][0]
            assert error["extensions"]["code"] == "THROTTLED"
            assert error["message"].startswith(
                "Throttled: a body of 8999 bytes needs 90 points and 10 are available")
            assert response.headers["connection"] == "close"
            # a small document still runs
            small = await client.post("/graphql", json={"query": "{ __typename }"})
            assert small.json()["data"] == {"__typename": "Query"}


async def test_websockets_per_client_are_capped(served: Served) -> None:
    # given 8 open sockets from one address (4 keys, 2 sockets each)
    sockets = []
    for n in range(4):
        key = await served.gateway.key(f"socket-cap-{n}", "partner", ("ch_flagship",))
        for _ in range(2):
            sockets.append(await open_ws(served, key))
            await init(sockets[-1])
    try:
        # then the 9th is closed at once
        extra = await open_ws(served, served.admin)
        assert await closed_with(extra) == (1013, "Too many connections from this address")
    finally:
        for ws in sockets:
            await ws.close()
