"""Error codes: bad input, unknown ids, masked internals, and a database that is down."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.mongo_server.server import WireServer
from tests.support import ROOT, admin_client, data, gql, wire_settings


def codes(body: dict[str, Any]) -> list[tuple[str, list[Any] | None]]:
    return [(e["extensions"]["code"], e.get("path")) for e in body["errors"]]


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ('{ member(id: "ord_1") { id } }', ["member"]),
        ('{ member(id: "mem_$ne") { id } }', ["member"]),
        ('{ order(id: "") { id } }', ["order"]),
        ('{ channel(id: "ch_a b") { id } }', ["channel"]),
        ('{ product(sku: "mem_1") { sku } }', ["product"]),
        ('{ node(id: "zzz_1") { id } }', ["node"]),
        ('{ members(first: 0) { edges { cursor } } }', ["members"]),
        ('{ orders(first: 101) { edges { cursor } } }', ["orders"]),
        ('{ products(after: "not-a-cursor") { edges { cursor } } }', ["products"]),
        ('{ visits(filter: {channels: ["loc_x"]}) { edges { cursor } } }', ["visits"]),
        ('{ orders(filter: {since: "2026-02-01T00:00:00Z", until: "2026-01-01T00:00:00Z"})'
         " { edges { cursor } } }", ["orders"]),
        ('{ memberByIdentity(channel: "ch_flagship", externalId: "") { id } }',
         ["memberByIdentity"]),
    ],
)
async def test_malformed_arguments_are_bad_user_input(
    client: httpx.AsyncClient, query: str, path: list[str]
) -> None:
    body = await gql(client, query)
    assert body["data"] is None or body["data"] == {path[0]: None}
    assert codes(body) == [("BAD_USER_INPUT", path)]


async def test_unknown_ids_are_null_not_errors(client: httpx.AsyncClient) -> None:
    query = """{ member(id: "mem_99999") { id } order(id: "ord_0") { id }
      channel(id: "ch_nope") { id } product(sku: "sku_nope") { sku } }"""
    assert await data(client, query) == {"member": None, "order": None, "channel": None,
                                         "product": None}


async def test_operator_objects_never_reach_a_query(client: httpx.AsyncClient) -> None:
    query = "query($id: ID!) { member(id: $id) { id } }"
    body = await gql(client, query, {"id": {"$ne": None}})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "data" not in body or body["data"] is None


async def test_validation_and_parse_errors_have_codes(client: httpx.AsyncClient) -> None:
    assert codes(await gql(client, "{ nope }")) == [("GRAPHQL_VALIDATION_FAILED", None)]
    assert codes(await gql(client, "{ channels { id ")) == [("GRAPHQL_PARSE_FAILED", None)]


async def test_internal_errors_are_masked(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.database import channels

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail: password=hunter2")

    monkeypatch.setattr(channels, "list_channels", broken)
    body = await gql(client, "{ channels { id } }")
    assert body["errors"] == [{"message": "Internal server error.",
                               "locations": [{"line": 1, "column": 3}], "path": ["channels"],
                               "extensions": {"code": "INTERNAL"}}]
    assert "hunter2" not in str(body)


async def test_database_down_gives_unavailable_by_the_request_deadline() -> None:
    server = WireServer(ROOT).start()
    try:
        async for client in admin_client(wire_settings(server.uri, request_timeout_ms=2000)):
            assert (await gql(client, "{ channels { id } }"))["data"] == {"channels": []}
            server.stop()
            started = time.monotonic()
            body = await gql(client, "{ channels { id } }")
            elapsed = time.monotonic() - started
            # refused before execution: the key's bucket (in MongoDB) cannot be charged
            assert codes(body) == [("UNAVAILABLE", None)]
            assert "Errno" not in body["errors"][0]["message"]
            assert elapsed < 2.5, elapsed  # the 2 s deadline, checked every 0.5 s at most
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["code"] == "UNAVAILABLE"
            server.restart()
            assert (await gql(client, "{ channels { id } }"))["data"] == {"channels": []}
            assert (await client.get("/readyz")).status_code == 200
    finally:
        server.stop()
