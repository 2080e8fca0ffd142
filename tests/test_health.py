"""Health, readiness and the request id."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid

import httpx
import pytest

from tests.mongo_server.server import WireServer
from tests.support import ROOT, admin_client, gql, wire_settings


async def test_healthz_says_the_process_is_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_answers_200_when_mongodb_answers_ping(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert (response.status_code, response.json()) == (
        200, {"status": "ready", "database": "mongodb"}
    )


async def test_readyz_is_503_when_ping_hangs(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a database whose ping never answers
    from gateway.database import Database

    async def hangs(self: Database, *, seconds: float) -> bool:
        await asyncio.sleep(3)
        return True

    monkeypatch.setattr(Database, "ping", hangs)
    # when readiness is asked, then it gives up after 1.5 seconds with 503
    asked = time.monotonic()
    response = await client.get("/readyz")
    assert 1.4 < time.monotonic() - asked < 2.5
    assert (response.status_code, response.json()) == (
        503, {"status": "unavailable", "database": "mongodb", "code": "UNAVAILABLE"}
    )


async def test_a_sane_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": "abc-123.def:4_5"})
    assert response.headers["x-request-id"] == "abc-123.def:4_5"


@pytest.mark.parametrize("given", ["", "a b", "x" * 129, "<script>", "é"])
async def test_an_insane_request_id_is_replaced(client: httpx.AsyncClient, given: str) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": given.encode()})
    generated = response.headers["x-request-id"]
    assert generated != given
    assert uuid.UUID(hex=generated).hex == generated


async def test_every_response_gets_a_fresh_request_id(client: httpx.AsyncClient) -> None:
    first = await client.post("/graphql", json={"query": "{ channels { id } }"})
    second = await client.post("/graphql", json={"query": "{ channels { id } }"})
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_outage_is_detected_and_recovered_without_a_restart() -> None:
    # given a gateway on its own test server, with a 2 s request deadline
    server = WireServer(ROOT).start()
    try:
        async for client in admin_client(wire_settings(server.uri, request_timeout_ms=2000)):
            assert (await client.get("/readyz")).status_code == 200
            # (a first request caches the caller's key, as in steady state)
            assert "errors" not in await gql(client, "{ channels { id } }")
            # when the server stops
            server.stop()
            stopped = time.monotonic()
            body = await gql(client, "{ channels { id } }")
            unavailable = time.monotonic() - stopped
            for _ in range(100):
                if (await client.get("/readyz")).status_code == 503:
                    break
                await asyncio.sleep(0.1)
            not_ready = time.monotonic() - stopped
            # then requests fail with UNAVAILABLE by their deadline and readiness turns 503
            assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAVAILABLE"]
            assert unavailable < 2.5, unavailable
            assert not_ready < 5.0, not_ready
            # when it comes back, requests succeed again, with no restart of the gateway
            server.restart()
            restarted = time.monotonic()
            for _ in range(200):
                if "errors" not in await gql(client, "{ channels { id } }"):
                    break
                await asyncio.sleep(0.1)
            recovered = time.monotonic() - restarted
            assert recovered < 10.0, recovered
            assert (await client.get("/readyz")).status_code == 200
            print(f"outage: UNAVAILABLE after {unavailable:.2f} s, /readyz 503 after "
                  f"{not_ready:.2f} s; recovery: requests succeed {recovered:.2f} s after restart")
    finally:
        server.stop()


async def test_a_start_without_mongodb_says_not_ready_rather_than_connected(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a MongoDB URI where nothing listens
    from gateway.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(wire_settings(f"mongodb://127.0.0.1:{port}/?directConnection=true",
                                   server_selection_timeout_ms=200))
    # when the gateway starts, then it says it is not ready, never that it connected
    with caplog.at_level(logging.INFO, logger="gateway"):
        async with app.router.lifespan_context(app):
            pass
    messages = [record.getMessage() for record in caplog.records]
    assert any(m.startswith("MongoDB is not reachable yet: not ready") for m in messages)
    assert not any(m.startswith("connected to MongoDB") for m in messages)
