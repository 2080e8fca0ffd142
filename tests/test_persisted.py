"""Persisted queries: Apollo's APQ protocol and the safelist mode."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.errors import Refused
from gateway.manifest import Manifest
from gateway.web.persisted import PersistedQueries, sha256
from tests.support import admin_client, wire_settings

CHANNEL = 'query FlagshipChannel { channel(id: "ch_flagship") { id kind } }'
FLAGSHIP = {"channel": {"id": "ch_flagship", "kind": "ONLINE_SHOP"}}


def persisted(query: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256(query)}}


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body["errors"]]


async def test_apq_registers_then_runs_by_hash_also_by_get(client: httpx.AsyncClient) -> None:
    query = CHANNEL.replace("FlagshipChannel", "ApqRoundTrip")
    # given a hash the gateway has never seen: not found, nothing runs
    miss = await client.post("/graphql", json={"extensions": persisted(query)})
    assert miss.status_code == 200
    assert miss.json() == {"errors": [{"message": "PersistedQueryNotFound",
                                       "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}
    # when the client retries with the text, it runs and is remembered
    register = await client.post("/graphql", json={"query": query,
                                                   "extensions": persisted(query)})
    assert register.json()["data"] == FLAGSHIP
    # then the hash alone runs it, by POST and by GET
    by_post = await client.post("/graphql", json={"extensions": persisted(query)})
    assert by_post.json()["data"] == FLAGSHIP
    by_get = await client.get("/graphql", params={"extensions": json.dumps(persisted(query))},
                              headers={"Accept": "application/graphql-response+json"})
    assert (by_get.status_code, by_get.json()["data"]) == (200, FLAGSHIP)


async def test_apq_refuses_a_hash_that_does_not_match(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": CHANNEL,
                                                   "extensions": persisted(CHANNEL + " ")})
    assert response.status_code == 400
    assert codes(response.json()) == ["PERSISTED_QUERY_HASH_MISMATCH"]


@pytest.mark.parametrize(
    "extension",
    [{"version": 2, "sha256Hash": "0" * 64}, {"version": 1, "sha256Hash": "xyz"}, "abc"],
)
async def test_malformed_persisted_query_extensions(
    client: httpx.AsyncClient, extension: object
) -> None:
    response = await client.post("/graphql", json={"extensions": {"persistedQuery": extension}})
    assert response.status_code == 400
    assert codes(response.json())[0] in {"PERSISTED_QUERY_NOT_SUPPORTED", "BAD_USER_INPUT"}


def test_the_apq_store_is_a_bounded_lru() -> None:
    from strawberry.http import GraphQLRequestData

    def request(query: str | None, text: str) -> GraphQLRequestData:
        return GraphQLRequestData(query=query, variables=None, operation_name=None,
                                  extensions=persisted(text), protocol="http")

    store = PersistedQueries(cache_size=2)
    for text in ("{ a }", "{ b }"):
        store.resolve(request(text, text))
    store.resolve(request(None, "{ a }"))  # a is now the most recent
    store.resolve(request("{ c }", "{ c }"))  # evicts b
    assert store.resolve(request(None, "{ a }")).query == "{ a }"
    with pytest.raises(Refused) as refused:
        store.resolve(request(None, "{ b }"))
    assert refused.value.code == "PERSISTED_QUERY_NOT_FOUND"


def write_manifest(path: Path, *bodies: str) -> Path:
    path.write_text(json.dumps({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [{"id": sha256(b), "name": f"Op{i}", "type": "query", "body": b}
                       for i, b in enumerate(bodies)],
    }))
    return path


@pytest.fixture
async def safelisted(seeded: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    manifest = write_manifest(tmp_path / "manifest.json", CHANNEL)
    async for c in admin_client(wire_settings(seeded, persisted_queries_manifest=manifest)):
        yield c


async def test_safelist_runs_listed_operations_by_id_or_text(
    safelisted: httpx.AsyncClient,
) -> None:
    by_id = await safelisted.post("/graphql", json={"extensions": persisted(CHANNEL)})
    assert by_id.json()["data"] == FLAGSHIP
    by_text = await safelisted.post("/graphql", json={"query": CHANNEL})
    assert by_text.json()["data"] == FLAGSHIP


async def test_safelist_refuses_everything_else(safelisted: httpx.AsyncClient) -> None:
    other = "{ channels { id } }"
    for body in ({"query": other}, {"extensions": persisted(other)},
                 {"query": other, "extensions": persisted(other)},
                 {"query": other, "extensions": persisted(CHANNEL)}):
        response = await safelisted.post("/graphql", json=body)
        assert response.status_code == 400, body
        assert codes(response.json()) == ["PERSISTED_QUERY_NOT_IN_LIST"]
    # and the attempt taught it nothing
    again = await safelisted.post("/graphql", json={"extensions": persisted(other)})
    assert codes(again.json()) == ["PERSISTED_QUERY_NOT_IN_LIST"]


def test_a_bad_manifest_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"format": "something-else", "version": 1, "operations": []}))
    with pytest.raises(ValueError, match=r"m\.json is not an apollo-persisted-query-manifest"):
        Manifest.read(path)
