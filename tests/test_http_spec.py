"""GraphQL over HTTP: content negotiation and status codes, for both response media types."""

from __future__ import annotations

import json

import httpx
import pytest
import strawberry
from strawberry.asgi import GraphQL

from gateway.web.view import GRAPHQL_RESPONSE_JSON, JSON, negotiate
from tests.support import Gateway

GRJ = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
SUBSCRIPTION = 'subscription { channelOrders(channel: "ch_flagship") { id } }'


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
        ({"query": "query A { channels { id } } query B { __typename }"},
         "GRAPHQL_VALIDATION_FAILED"),
        ({"query": SUBSCRIPTION}, "BAD_REQUEST"),
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


@pytest.mark.parametrize("content_type", ["text/plain", "application/jsonx",
                                          "application/graphql", "application/json-patch+json",
                                          None])
@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, "application/json"])
async def test_post_needs_a_json_body(
    client: httpx.AsyncClient, content_type: str | None, accept: str
) -> None:
    headers = {"Accept": accept} | ({"Content-Type": content_type} if content_type else {})
    response = await client.post("/graphql", content='{"query": "{ channels { id } }"}',
                                 headers=headers)
    assert response.status_code == 415
    assert response.headers["content-type"] == (GRJ if accept == GRAPHQL_RESPONSE_JSON
                                                 else "application/json")
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert error["message"].startswith("Send the request as application/json")


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8",
                                          "Application/JSON", "APPLICATION/JSON; Charset=UTF-8"])
async def test_json_in_any_case_and_with_parameters_is_json(
    client: httpx.AsyncClient, content_type: str
) -> None:
    # media types and parameter names are case-insensitive (RFC 9110, section 8.3.1)
    response = await client.post(
        "/graphql", content='{"query": "{ __typename }"}',
        headers={"Content-Type": content_type})
    assert (response.status_code, response.json()["data"]) == (200, {"__typename": "Query"})


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, "application/json", "*/*"])
async def test_http_failures_have_a_json_body_in_the_negotiated_type(
    client: httpx.AsyncClient, wire_gateway: Gateway, accept: str
) -> None:
    json_type = GRJ if accept == GRAPHQL_RESPONSE_JSON else "application/json"
    query = {"query": "{ channels { id } }"}
    failures = {
        "bad json": await client.post("/graphql", content="{not json", headers={
            "Content-Type": "application/json", "Accept": accept}),
        "no query": await post(client, {"variables": {}}, accept=accept),
        "bad variables": await client.get("/graphql", params={
            "query": "{ channels { id } }", "variables": "{"}, headers={"Accept": accept}),
        "put": await client.put("/graphql", json=query, headers={"Accept": accept}),
        "mutation by get": await client.get("/graphql", params={
            "query": "mutation { cancelOrder(id: \"ord_1\") { userErrors { code } } }"},
            headers={"Accept": accept}),
    }
    async with wire_gateway.client(None) as anonymous:
        failures["no key"] = await anonymous.post("/graphql", json=query,
                                                  headers={"Accept": accept})
    assert {name: (r.status_code, r.headers["content-type"], r.json()["errors"][0]["extensions"])
            for name, r in failures.items()} == {
        "bad json": (400, json_type, {"code": "BAD_REQUEST"}),
        "no query": (400, json_type, {"code": "BAD_REQUEST"}),
        "bad variables": (400, json_type, {"code": "BAD_REQUEST"}),
        "put": (405, json_type, {"code": "BAD_REQUEST"}),
        "mutation by get": (405, json_type, {"code": "BAD_REQUEST"}),
        "no key": (401, json_type, {"code": "UNAUTHENTICATED"}),
    }
    assert failures["put"].headers["allow"] == "GET, POST"
    assert failures["mutation by get"].headers["allow"] == "POST"
    unacceptable = await post(client, query, accept="text/html")
    assert (unacceptable.status_code, unacceptable.headers["content-type"]) == (
        406, "application/json")
    assert unacceptable.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}


TWO_OPERATIONS = "query A { channels { id } } query B { __typename }"


@pytest.mark.parametrize(("accept", "status"), [(GRAPHQL_RESPONSE_JSON, 400),
                                                ("application/json", 200)])
async def test_several_operations_need_an_operation_name(
    client: httpx.AsyncClient, accept: str, status: int
) -> None:
    # when a document of two operations comes without operationName
    response = await post(client, {"query": TWO_OPERATIONS}, accept=accept)
    # then it is a request error: nothing runs
    assert response.status_code == status
    body = response.json()
    assert body.get("data") is None and body["extensions"]["db"]["commands"] == 0
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [(
        "The document holds 2 operations: name the one to run in `operationName`.",
        "GRAPHQL_VALIDATION_FAILED")]
    # and naming one runs that one
    named = await post(client, {"query": TWO_OPERATIONS, "operationName": "B"}, accept=accept)
    assert (named.status_code, named.json()["data"]) == (200, {"__typename": "Query"})



@pytest.mark.parametrize(("accept", "status"), [(GRAPHQL_RESPONSE_JSON, 400),
                                                ("application/json", 200)])
async def test_a_subscription_over_http_is_refused_clearly(
    client: httpx.AsyncClient, accept: str, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    # when a subscription comes by POST or by GET
    by_post = await post(client, {"query": SUBSCRIPTION}, accept=accept)
    by_get = await client.get("/graphql", params={"query": SUBSCRIPTION},
                              headers={"Accept": accept})
    # then both say where subscriptions run, and nothing fails inside
    for response in (by_post, by_get):
        assert response.status_code == status
        body = response.json()
        assert body.get("data") is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_REQUEST"]
        assert "WebSocket" in body["errors"][0]["message"]
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []


PLAIN_SCHEMA = strawberry.Schema(query=strawberry.type(type("Query", (), {
    "__annotations__": {"ok": bool}, "ok": strawberry.field(resolver=lambda: True)})))


@pytest.mark.parametrize("body", [
    {"query": 5},
    {"query": ["{ __typename }"]},
    {"query": "{ __typename }", "variables": []},
    {"query": "{ __typename }", "variables": "{}"},
    {"query": "{ __typename }", "extensions": 1},
    {"variables": {}},
])
async def test_a_malformed_operation_is_refused_as_strawberrys_view_refuses_it(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    """Our POST parse (gateway.web.view) checks an operation's fields itself: its status and
    message are plain strawberry's for the same body."""
    plain = httpx.AsyncClient(transport=httpx.ASGITransport(app=GraphQL(PLAIN_SCHEMA)),
                              base_url="http://plain")
    async with plain:
        expected = await plain.post("/graphql", json=body)
    response = await post(client, body, accept="application/json")
    assert response.status_code == expected.status_code
    if expected.status_code == 400 and expected.headers["content-type"].startswith("text"):
        # strawberry answers its HTTP errors in plain text; we wrap the same message in JSON
        (error,) = response.json()["errors"]
        assert (error["message"], error["extensions"]) == (expected.text,
                                                           {"code": "BAD_REQUEST"})
    else:
        assert [e["message"] for e in response.json()["errors"]] == [
            e["message"] for e in expected.json()["errors"]]
