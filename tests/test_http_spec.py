"""GraphQL over HTTP: content negotiation and status codes, for both response media types."""

from __future__ import annotations

import json

import httpx
import pytest

from gateway.http import GRAPHQL_RESPONSE_JSON, JSON, negotiate

GRJ = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("application/json", JSON),
        ("application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        ("application/json, application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json;q=0.5, application/json", JSON),
        ("application/graphql-response+json;q=0, */*", JSON),
        ("Application/GraphQL-Response+JSON", GRAPHQL_RESPONSE_JSON),
        ("text/plain", None),
        ("text/html, application/xml;q=0.9", None),
        ("application/json;q=0", None),
    ],
)
def test_negotiation_by_accept(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept) == expected


async def post(
    client: httpx.AsyncClient, body: object, accept: str = GRAPHQL_RESPONSE_JSON
) -> httpx.Response:
    return await client.post("/graphql", json=body, headers={"Accept": accept})


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json()["errors"]]


async def test_success_in_graphql_response_json(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": '{ channel(id: "ch_flagship") { id } }'})
    assert response.status_code == 200
    assert response.headers["content-type"] == GRJ
    assert response.json()["data"] == {"channel": {"id": "ch_flagship"}}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{ channels { id "}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ nope }"}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": "query A { channels { id } }", "operationName": "B"},
         "GRAPHQL_VALIDATION_FAILED"),
        ({"query": "query($id: ID!) { member(id: $id) { id } }", "variables": {}},
         "BAD_USER_INPUT"),
        ({"query": "query($id: ID!) { member(id: $id) { id } }",
          "variables": {"id": {"$ne": None}}}, "BAD_USER_INPUT"),
        ({"query": "query($n: Int!) { members(first: $n) { edges { cursor } } }",
          "variables": {"n": "ten"}}, "BAD_USER_INPUT"),
    ],
)
async def test_request_errors_are_400_without_data(
    client: httpx.AsyncClient, body: dict[str, object], code: str
) -> None:
    # when the client accepts application/graphql-response+json
    response = await post(client, body)
    # then a failure before execution is a 400 with errors only
    assert response.status_code == 400
    assert response.headers["content-type"] == GRJ
    assert "data" not in response.json()
    assert codes(response) == [code]


async def test_the_same_failures_stay_200_for_application_json(
    client: httpx.AsyncClient,
) -> None:
    for accept in ("application/json", "*/*"):
        response = await post(client, {"query": "{ nope }"}, accept=accept)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json()["data"] is None
        assert codes(response) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_execution_errors_are_200_with_data(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": '{ member(id: "ord_1") { id } channels { id } }'})
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["member"] is None
    assert len(body["data"]["channels"]) >= 6
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [
        ("BAD_USER_INPUT", ["member"])
    ]


async def test_unacceptable_accept_is_406(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": "{ channels { id } }"}, accept="text/plain")
    assert response.status_code == 406


async def test_get_runs_queries(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql", params={"query": "query($id: ID!) { channel(id: $id) { id } }",
                            "variables": json.dumps({"id": "ch_flagship"})},
        headers={"Accept": GRAPHQL_RESPONSE_JSON},
    )
    assert (response.status_code, response.json()["data"]) == (
        200, {"channel": {"id": "ch_flagship"}}
    )


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, "application/json"])
async def test_mutations_by_get_are_405(client: httpx.AsyncClient, accept: str) -> None:
    response = await client.get(
        "/graphql", params={"query": "mutation { channels { id } }"}, headers={"Accept": accept}
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_post_needs_a_json_body(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content="{ channels { id } }",
        headers={"Content-Type": "text/plain", "Accept": GRAPHQL_RESPONSE_JSON},
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == GRJ
    assert response.json() == {"errors": [{"message": "Unsupported content type"}]}


async def test_malformed_requests_are_400_with_an_errors_body(client: httpx.AsyncClient) -> None:
    broken = await client.post(
        "/graphql", content="{not json",
        headers={"Content-Type": "application/json", "Accept": GRAPHQL_RESPONSE_JSON},
    )
    assert (broken.status_code, broken.json()) == (
        400, {"errors": [{"message": "Unable to parse request body as JSON"}]}
    )
    missing = await post(client, {"variables": {}})
    assert (missing.status_code, missing.json()) == (
        400, {"errors": [{"message": "No GraphQL query found in the request"}]}
    )
    classic = await post(client, {"variables": {}}, accept="application/json")
    assert (classic.status_code, classic.text) == (400, "No GraphQL query found in the request")
