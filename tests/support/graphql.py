"""Sending GraphQL in tests: the body of a request, or the data of one that must succeed;
and paging through a whole connection."""

from __future__ import annotations

from typing import Any

import httpx


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """POST a GraphQL request; return the JSON body."""
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def data(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``data`` of a request that must succeed without errors."""
    body = await gql(client, query, variables)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


async def page_through(
    client: httpx.AsyncClient, query: str, field: str, key: str, variables: dict[str, Any],
    first: int,
) -> list[Any]:
    """Follow endCursor to the end; return every node's ``key``."""
    seen: list[Any] = []
    after = None
    while True:
        result = (await data(client, query, {**variables, "first": first, "after": after}))[field]
        seen += [edge["node"][key] for edge in result["edges"]]
        if not result["pageInfo"]["hasNextPage"]:
            assert len(result["edges"]) <= first
            return seen
        after = result["pageInfo"]["endCursor"]


def newest_first(docs: list[dict[str, Any]], field: str) -> list[str]:
    """The ids of ``docs`` newest first by ``field`` (ties by id), as activity lists order them."""
    return [d["_id"] for d in sorted(docs, key=lambda d: (d[field], d["_id"]), reverse=True)]
