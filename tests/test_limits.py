"""Each limit refuses its request with its code and a message naming it, before any database
command; and operator objects in any kind of argument give errors, never data.

Commands are counted twice over: ``extensions.db.commands`` (the operation) and a counter set
around the whole HTTP request (anything else, such as a key lookup).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.admission.document_cache import Documents
from gateway.admission.limits import check_tokens
from gateway.context import make_context
from gateway.database.monitoring import counting
from gateway.database.scope import ADMIN
from resolvers.schema import build_schema
from tests.support import SEEDS, embedded_settings, running_gateway

DEEP = """{ member(id: "mem_00001") { history(first: 1) { edges { node { ... on Order {
  lines { product { offers { channel { locations { channel { id } } } } } } } } } } } }"""
FRAGMENT_ALIASES = """{ ...Four ...Four ...Four ...Four }
fragment Four on Query { a: channels { id } b: channels { id } c: channels { id }
  d: channels { id } }"""
FIFTEEN_ALIASES = "{ " + " ".join(f"a{i}: channels {{ id }}" for i in range(15)) + " }"


async def post(client: httpx.AsyncClient, payload: Any) -> tuple[httpx.Response, int]:
    """POST ``payload``; the response and every database command it caused."""
    await client.post("/graphql", json={"query": "{ __typename }"})  # key lookup cached
    with counting() as outside:
        if isinstance(payload, bytes):
            response = await client.post("/graphql", content=payload,
                                         headers={"content-type": "application/json"})
        else:
            response = await client.post("/graphql", json=payload)
    inside = response.json().get("extensions", {}).get("db", {}).get("commands", 0)
    return response, outside.commands + inside


async def refused(client: httpx.AsyncClient, payload: Any, code: str, words: str,
                  status: int = 200) -> dict[str, Any]:
    response, commands = await post(client, payload)
    body: dict[str, Any] = response.json()
    assert response.status_code == status, body
    assert commands == 0
    assert body.get("data") is None
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]
    assert words in body["errors"][0]["message"], body["errors"][0]["message"]
    return body


async def test_depth_limit(client: httpx.AsyncClient) -> None:
    body = await refused(client, {"query": DEEP}, "QUERY_TOO_COMPLEX", "limit max_depth")
    assert body["errors"][0]["message"] == (
        "The query is 11 levels deep; at most 10 are allowed (limit max_depth).")


async def test_aliases_are_counted_through_fragments(client: httpx.AsyncClient) -> None:
    body = await refused(client, {"query": FRAGMENT_ALIASES}, "QUERY_TOO_COMPLEX",
                         "limit max_aliases")
    assert body["errors"][0]["message"].startswith("The query uses 16 aliases")
    response, _ = await post(client, {"query": FIFTEEN_ALIASES})
    assert "errors" not in response.json() and len(response.json()["data"]) == 15


async def test_token_limit(client: httpx.AsyncClient) -> None:
    query = "{ channels { " + "id " * 2000 + "} }"
    await refused(client, {"query": query}, "QUERY_TOO_COMPLEX",
                  "more than 2000 tokens (limit max_tokens)")


async def test_body_size_limit(client: httpx.AsyncClient) -> None:
    padding = " " * 1_000_001
    body = await refused(client, ('{"query": "{ channels { id } }' + padding + '"}').encode(),
                         "QUERY_TOO_COMPLEX", "limit max_body_bytes", status=413)
    assert body == {"errors": [{"message": "The request body is larger than 1000000 bytes "
                                "(limit max_body_bytes).",
                                "extensions": {"code": "QUERY_TOO_COMPLEX"}}]}


async def test_batched_requests_are_refused(client: httpx.AsyncClient) -> None:
    await refused(client, [{"query": "{ channels { id } }"}, {"query": "{ channels { id } }"}],
                  "QUERY_TOO_COMPLEX", "limit batch_requests", status=400)


@pytest.mark.parametrize(
    ("query", "variables", "path", "value"),
    [
        ("{ orders(first: 0) { edges { cursor } } }", {}, ["orders"], 0),
        ("query($n: Int!) { orders(first: $n) { edges { cursor } } }", {"n": 101}, ["orders"],
         101),
        ("query($n: Int = 500) { products(first: $n) { edges { cursor } } }", {}, ["products"],
         500),
        ("{ members(first: 1) { edges { node { history(first: -1) { edges { cursor } } } } } }",
         {}, ["members", "edges", "node", "history"], -1),
    ],
)
async def test_first_outside_1_to_100_is_bad_user_input_before_any_command(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], path: list[str], value: int
) -> None:
    body = await refused(client, {"query": query, "variables": variables}, "BAD_USER_INPUT",
                         f"`first` must be between 1 and 100, got {value}.")
    assert body["errors"][0]["path"] == path


async def test_cost_limit(client: httpx.AsyncClient) -> None:
    query = """{ members(first: 100) { edges { node { id
      history(first: 20) { edges { node { id } } } } } } }"""
    body = await refused(client, {"query": query}, "QUERY_TOO_COMPLEX", "limit max_cost")
    assert body["errors"][0]["message"] == (
        "The query costs 2201 points; at most 1000 are allowed (limit max_cost).")
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2201
    assert body["extensions"]["cost"]["actualQueryCost"] == 0


async def test_string_length_limit(client: httpx.AsyncClient) -> None:
    query = """query($ext: String!) { memberByIdentity(channel: "ch_flagship", externalId: $ext)
      { id } }"""
    await refused(client, {"query": query, "variables": {"ext": "x" * 257}}, "BAD_USER_INPUT",
                  "limit max_string_length")


OPERATOR = {"$ne": None}
GREATER = {"$gt": ""}
INJECTIONS = [
    # (kind of argument, query, variables)
    ("id", "query($v: ID!) { member(id: $v) { id } }", {"v": OPERATOR}),
    ("id in node", "query($v: ID!) { node(id: $v) { id } }", {"v": GREATER}),
    ("string", """query($v: String!) { memberByIdentity(channel: "ch_flagship",
      externalId: $v) { id } }""", {"v": OPERATOR}),
    ("filter", "query($v: OrderFilter) { orders(filter: $v) { edges { cursor } } }",
     {"v": OPERATOR}),
    ("filter field", "query($v: OrderFilter) { orders(filter: $v) { edges { cursor } } }",
     {"v": {"member": GREATER}}),
    ("filter list item", "query($v: VisitFilter) { visits(filter: $v) { edges { cursor } } }",
     {"v": {"channels": [OPERATOR]}}),
    ("cursor", "query($v: String) { products(after: $v) { edges { cursor } } }",
     {"v": GREATER}),
    ("enum", "query($v: MemberTier) { members(filter: {tier: $v}) { edges { cursor } } }",
     {"v": OPERATOR}),
    ("enum list", "query($v: [VisitKind!]) { visits(filter: {kinds: $v}) { edges { cursor } } }",
     {"v": [GREATER]}),
    ("int", "query($v: Int!) { orders(first: $v) { edges { cursor } } }", {"v": GREATER}),
    ("time", "query($v: DateTime) { orders(filter: {since: $v}) { edges { cursor } } }",
     {"v": GREATER}),
    ("list of ids", "query($v: [ID!]) { orders(filter: {channels: $v}) { edges { cursor } } }",
     {"v": OPERATOR}),
    ("literal", "{ member(id: {ne: null}) { id } }", {}),
    ("entity key", """query($v: [_Any!]!) { _entities(representations: $v) {
      ... on Order { id } } }""", {"v": [{"__typename": "Order", "id": OPERATOR}]}),
    ("entity key string", """query($v: [_Any!]!) { _entities(representations: $v) {
      ... on Product { sku } } }""", {"v": [{"__typename": "Product", "sku": GREATER}]}),
]


@pytest.mark.parametrize(("kind", "query", "variables"), INJECTIONS,
                         ids=[i[0] for i in INJECTIONS])
async def test_operator_objects_give_errors_never_data(
    client: httpx.AsyncClient, kind: str, query: str, variables: dict[str, Any]
) -> None:
    response, _ = await post(client, {"query": query, "variables": variables})
    body = response.json()
    assert body["errors"], kind
    assert {e["extensions"]["code"] for e in body["errors"]} <= {
        "BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"}, body["errors"]
    assert body.get("data") is None or all(
        value is None or value == [None] for value in body["data"].values()), body["data"]


async def test_a_well_formed_id_of_another_type_is_bad_input_not_a_lookup(
    client: httpx.AsyncClient,
) -> None:
    order = SEEDS["orders"][0]["_id"]
    response, commands = await post(client, {"query": f'{{ member(id: "{order}") {{ id }} }}'})
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert commands == 0


async def test_comments_count_toward_the_document_length(client: httpx.AsyncClient) -> None:
    padded = "# " + "x" * 32_000 + "\n{ channels { id } }"
    body = await refused(client, {"query": padded}, "QUERY_TOO_COMPLEX",
                         "limit max_document_length")
    assert body["errors"][0]["message"] == (
        "The document has 32022 characters; at most 32000 are allowed (limit "
        "max_document_length).")


async def test_directives_are_capped_known_or_not(client: httpx.AsyncClient) -> None:
    query = "{ channels { id " + "@nope " * 51 + "} }"
    await refused(client, {"query": query}, "QUERY_TOO_COMPLEX", "limit max_directives")


async def test_refused_documents_pay_until_the_key_is_throttled_before_any_work() -> None:
    async for gateway in running_gateway(embedded_settings(throttle_bucket_size=100,
                                                    throttle_restore_rate=1)):
        now = [0.0]
        gateway.app.state.throttle.clock = lambda now=now: now[0]
        invalid = ("{ " + " ".join(f"f{i}" for i in range(300)) + " }").ljust(1700)
        async with gateway.client(await gateway.key("invalid", "partner",
                                                    ("ch_us_market",))) as client:
            answers = []
            for _ in range(7):
                response = await client.post("/graphql", json={"query": invalid})
                error = response.json()["errors"][0]
                answers.append((response.status_code, error["extensions"]["code"]))
            # 17 points each: five validations, then refused before the body is even read
            assert answers == [(200, "GRAPHQL_VALIDATION_FAILED")] * 5 + [(429, "THROTTLED")] * 2
            # the gate asks for a document as long as the body (1,712 bytes): 18 points
            assert error["extensions"]["retryAfterSeconds"] == 3.0
            assert "a body of 1712 bytes needs 18 points and 15 are available" in error["message"]


def test_a_cached_document_keeps_its_token_count_and_is_not_lexed_again() -> None:
    settings = embedded_settings()
    documents = Documents()
    counted: list[str] = []

    def count(text: str) -> int:
        counted.append(text)
        return check_tokens(text, settings)

    query = "{ channels { id name } }"  # 7 tokens
    first = documents.get(query, count)
    assert (first.tokens, counted) == (7, [query])
    assert documents.get(query, count) is first
    assert counted == [query]  # the hit is not lexed


async def test_a_document_cached_under_a_higher_token_limit_is_refused_under_a_lower_one(
) -> None:
    """One schema serving two settings (as an operator's reload could): the token count kept
    with the cached document is checked against the limit of the request."""
    schema = build_schema()
    query = "{ channels { " + "id " * 30 + "} }"
    answers = []
    for max_tokens in (100, 20):
        settings = embedded_settings(max_tokens=max_tokens)
        async for gateway in running_gateway(settings):
            context = make_context(gateway.app.state.db, settings, ADMIN)
            answers.append(await schema.execute(query, context_value=context))
    assert answers[0].errors is None
    assert answers[1].errors is not None
    assert [e.extensions["code"] for e in answers[1].errors] == ["QUERY_TOO_COMPLEX"]
    assert "more than 20 tokens (limit max_tokens)" in answers[1].errors[0].message
