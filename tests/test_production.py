"""Production mode: introspection and field suggestions only for admins, ``_service`` for
federation and admin keys, internal errors masked, coded errors kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support import Callers, data, embedded_settings, gql, running_gateway


@dataclass
class Keys:
    admin: httpx.AsyncClient
    partner: httpx.AsyncClient
    federation: httpx.AsyncClient


@pytest.fixture(scope="module")
async def production() -> AsyncIterator[Keys]:
    async for gateway in running_gateway(embedded_settings(production=True)):
        async with gateway.client(await gateway.key("p-admin", "admin")) as admin, \
                gateway.client(await gateway.key("p-partner", "partner",
                                                 ("ch_us_market",))) as partner, \
                gateway.client(await gateway.key("p-router", "federation")) as federation:
            yield Keys(admin, partner, federation)


def errors(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["extensions"]["code"], e["message"]) for e in body["errors"]]


INTROSPECTION = ["{ __schema { queryType { name } } }", '{ __type(name: "Member") { name } }',
                 "{ channels { id ...T } } fragment T on Channel { __type(name: \"X\") { name } }"]


@pytest.mark.parametrize("query", INTROSPECTION)
async def test_introspection_is_off_for_partners_only(production: Keys, query: str) -> None:
    body = await gql(production.partner, query)
    assert body["data"] is None
    assert [code for code, _ in errors(body)] == ["GRAPHQL_VALIDATION_FAILED"]
    assert "Introspection" in body["errors"][0]["message"]
    assert body["extensions"]["db"]["commands"] == 0
    if "fragment" not in query:
        assert "errors" not in await gql(production.admin, query)


async def test_partners_keep_introspection_outside_production(callers: Callers) -> None:
    assert await data(callers.partner_a, INTROSPECTION[0]) == {
        "__schema": {"queryType": {"name": "Query"}}}


HIDDEN = ("The document does not validate against the schema; the details are shown to admin "
          "keys only.")
# Documents whose errors would name a field, a type or a suggestion (M4's cases among them)
NAMING = [
    ("{ channels { nme } }", {}),
    ('{ orders(filter: {statuss: [PLACED]}) { edges { cursor } } }', {}),
    ('{ orders(filter: {status: [PLACED]}) { edges { cursor } } }', {}),
    ("{ channels { id @skip } }", {}),
    ("{ channels { id @nope } }", {}),
    ("query($f: OrderFilter) { orders(filter: $f) { edges { cursor } } }",
     {"f": {"statuss": ["PLACED"]}}),
    ("query($f: OrderFilter) { orders(filter: $f) { edges { cursor } } }",
     {"f": {"channels": "ch_x", "nope": 1}}),
    ("query($i: PlaceOrderInput!) { placeOrder(input: $i) { __typename } }", {"i": {}}),
    ("mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { __typename } }", {"i": {}}),
    ("query($t: MemberTier) { members(filter: {tier: $t}) { edges { cursor } } }",
     {"t": "GOLDD"}),
]


@pytest.mark.parametrize(("query", "variables"), NAMING)
async def test_no_error_names_a_field_or_suggests_one_to_a_partner(
    production: Keys, query: str, variables: dict[str, Any]
) -> None:
    schema_words = {"statuses", "PlaceOrderInput", "channel", "lines", "Did you mean",
                    "OrderFilter", "Channel", "PLACED", "GOLD'", "skip", "nope", "statuss", "nme",
                    "idempotencyKey"}
    body = await gql(production.partner, query, variables)
    assert body["errors"], body
    for error in body["errors"]:
        assert error["extensions"]["code"] in ("GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT")
        assert not [w for w in schema_words if w in error["message"]], error["message"]
    # admins keep the details
    admin = await gql(production.admin, query, variables)
    assert admin["errors"][0]["message"] != body["errors"][0]["message"]


async def test_field_suggestions_are_off_for_partners(production: Keys) -> None:
    query = "{ channels { nme } }"
    hidden = await gql(production.partner, query)
    assert errors(hidden) == [("GRAPHQL_VALIDATION_FAILED", HIDDEN)]
    assert hidden["errors"][0]["locations"] == [{"line": 1, "column": 14}]
    assert errors(await gql(production.admin, query)) == [
        ("GRAPHQL_VALIDATION_FAILED",
         "Cannot query field 'nme' on type 'Channel'. Did you mean 'name'?")]
    enum = "query($t: MemberTier) { members(filter: {tier: $t}) { edges { cursor } } }"
    partner = await gql(production.partner, enum, {"t": "GOLDD"})
    assert partner["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Did you mean" not in partner["errors"][0]["message"]
    admin = await gql(production.admin, enum, {"t": "GOLDD"})
    assert "Did you mean" in admin["errors"][0]["message"]


async def test_service_needs_a_federation_or_admin_key(production: Keys) -> None:
    query = "{ _service { sdl } }"
    assert errors(await gql(production.partner, query)) == [
        ("FORBIDDEN", "`_service` needs a key with the federation or admin role.")]
    for client in (production.federation, production.admin):
        assert "type Member" in (await data(client, query))["_service"]["sdl"]


async def test_coded_errors_keep_message_and_internal_ones_are_masked(
    production: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert errors(await gql(production.partner, '{ member(id: "ord_1") { id } }')) == [
        ("BAD_USER_INPUT", "Malformed id 'ord_1': expected an id starting with 'mem_'.")]
    from gateway.database import channels

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(channels, "list_channels", broken)
    body = await gql(production.partner, "{ channels { id } }")
    assert errors(body) == [("INTERNAL", "Internal server error.")]
    assert "secret" not in str(body)
