"""``_entities`` and ``_service``: how a federation router reaches our entities.

The router sends representations (``__typename`` plus the ``@key`` fields); each resolves
through the request's DataLoaders, unknown ids are ``null``, a malformed key fails only its
own position, and a request over the representation cap is refused before any database command.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from gateway import ids
from gateway.cli.main import schema_sdl
from gateway.errors import QueryTooComplex
from gateway.settings import Settings
from resolvers.schema import build_schema
from resolvers.schema.build import NODE_LOADERS
from resolvers.schema.federation import ENTITY_KEYS
from tests.support import ROOT, SEEDS, admin_client, data, gql, wire_settings

ENTITIES = """query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Member { id name tier }
    ... on Order { id status total { amount currencyCode } }
    ... on Product { sku name }
    ... on Channel { id channelKind: kind currency }
    ... on Location { id locationKind: kind city }
    ... on Payment { id method }
    ... on Visit { id visitKind: kind }
    ... on Identity { channelId externalId member { id name } }
  }
}"""


def seed(collection: str, _id: str) -> dict[str, Any]:
    return next(d for d in SEEDS[collection] if d["_id"] == _id)


async def test_every_entity_type_resolves_by_its_key(client: httpx.AsyncClient) -> None:
    # Given one representation of each entity type, with the key fields a router would send
    identity = seed("identities", "ch_my_market:mym_3195666324")
    representations = [
        {"__typename": "Member", "id": "mem_00001"},
        {"__typename": "Order", "id": "ord_0000001"},
        {"__typename": "Product", "sku": "sku_aloe_body_wash_1l"},
        {"__typename": "Channel", "id": "ch_my_market"},
        {"__typename": "Location", "id": "loc_fm_beijing_chaoyang"},
        {"__typename": "Payment", "id": "pay_0000001"},
        {"__typename": "Visit", "id": "vis_0000001"},
        {"__typename": "Identity", "channelId": "ch_my_market", "externalId": "mym_3195666324"},
    ]
    # When the router asks for them
    result = await data(client, ENTITIES, {"representations": representations})
    # Then each comes back, in order, from the seed data
    member = seed("members", identity["member_id"])
    assert result["_entities"] == [
        {"__typename": "Member", "id": "mem_00001", "name": "Zhang Min", "tier": "GOLD"},
        {"__typename": "Order", "id": "ord_0000001", "status": "COMPLETED",
         "total": {"amount": "67.50", "currencyCode": "CNY"}},
        {"__typename": "Product", "sku": "sku_aloe_body_wash_1l", "name": "Aloe body wash 1 L"},
        {"__typename": "Channel", "id": "ch_my_market", "channelKind": "OVERSEAS",
         "currency": "MYR"},
        {"__typename": "Location", "id": "loc_fm_beijing_chaoyang",
         "locationKind": "STORE", "city": "Beijing"},
        {"__typename": "Payment", "id": "pay_0000001", "method": "ALIPAY"},
        {"__typename": "Visit", "id": "vis_0000001", "visitKind": "APP_SESSION"},
        {"__typename": "Identity", "channelId": "ch_my_market", "externalId": "mym_3195666324",
         "member": {"id": "mem_00042", "name": member["name"]}},
    ]


async def test_unknown_entities_are_null_and_do_not_fail_the_others(
    client: httpx.AsyncClient,
) -> None:
    # Given well-formed keys that name nothing, between two that exist
    representations = [
        {"__typename": "Member", "id": "mem_00002"},
        {"__typename": "Member", "id": "mem_99999"},
        {"__typename": "Order", "id": "ord_9999999"},
        {"__typename": "Identity", "channelId": "ch_my_market", "externalId": "nobody"},
        {"__typename": "Order", "id": "ord_0000002"},
    ]
    # When they are resolved
    body = await gql(client, ENTITIES, {"representations": representations})
    # Then the unknown ones are null, without an error
    assert "errors" not in body
    assert [e and e.get("id") for e in body["data"]["_entities"]] == [
        "mem_00002", None, None, None, "ord_0000002"
    ]


MEMBERS = """query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Member { id homeChannel { id } } }
}"""


def member_representations(count: int) -> list[dict[str, str]]:
    return [{"__typename": "Member", "id": f"mem_{n:05d}"} for n in range(1, count + 1)]


async def test_one_and_a_hundred_representations_cost_the_same_commands(
    client: httpx.AsyncClient,
) -> None:
    # Given 1 and 100 member representations (60 members exist: 40 resolve to null)
    one = member_representations(1)
    hundred = member_representations(100)
    # When each is resolved
    first = await gql(client, MEMBERS, {"representations": one})
    second = await gql(client, MEMBERS, {"representations": hundred})
    # Then both cost 2 commands: find members {_id: {$in}}, find channels (all, cached)
    assert first["extensions"]["db"]["commands"] == 2
    assert second["extensions"]["db"]["commands"] == 2
    assert second["extensions"]["db"]["byCollection"] == {"channels": 1, "members": 1}
    resolved = second["data"]["_entities"]
    assert len(resolved) == 100
    asked = {r["id"] for r in hundred}
    assert [m["id"] for m in resolved if m] == [d["_id"] for d in SEEDS["members"]
                                               if d["_id"] in asked]
    assert resolved[60:] == [None] * 40
    assert "errors" not in second


TYPENAMES = """query($representations: [_Any!]!) {
  _entities(representations: $representations) { __typename }
}"""
KEYED = {
    "Channel": ("channels", "id"), "Location": ("locations", "id"), "Product": ("products", "sku"),
    "Member": ("members", "id"), "Order": ("orders", "id"), "Payment": ("payments", "id"),
    "Visit": ("visits", "id"),
}


@pytest.mark.parametrize("type_name", sorted(KEYED))
async def test_a_hundred_representations_of_any_type_cost_one_command(
    client: httpx.AsyncClient, type_name: str
) -> None:
    # Given 100 representations of one type: seed ids first, then unknown well-formed ids
    collection, key = KEYED[type_name]
    known = [d["_id"] for d in SEEDS[collection][:100]]
    prefix = known[0].split("_", 1)[0]
    wanted = known + [f"{prefix}_unknown{n}" for n in range(100 - len(known))]
    representations = [{"__typename": type_name, key: value} for value in wanted]
    # When they are resolved
    body = await gql(client, TYPENAMES, {"representations": representations})
    # Then one command fetched them all (find {_id: {$in: [...]}}, or all channels), and the
    # unknown ones are null
    assert body["extensions"]["db"]["byCollection"] == {collection: 1}
    assert body["data"]["_entities"] == (
        [{"__typename": type_name}] * len(known) + [None] * (100 - len(known))
    )


IDENTITIES = """query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Identity { externalId member { id } }
  }
}"""


async def test_identities_resolve_to_their_members_in_two_commands(
    client: httpx.AsyncClient,
) -> None:
    # Given every identity the demo data holds in the three overseas channels
    overseas = {c["_id"] for c in SEEDS["channels"] if c["kind"] == "OVERSEAS"}
    identities = [i for i in SEEDS["identities"] if i["channel_id"] in overseas]
    representations = [
        {"__typename": "Identity", "channelId": i["channel_id"], "externalId": i["external_id"]}
        for i in identities
    ]
    # When a partner that knows only its own customer ids resolves them
    body = await gql(client, IDENTITIES, {"representations": representations})
    # Then each reaches its member, in 2 commands: find identities by _id, find members by _id
    assert body["data"]["_entities"] == [
        {"externalId": i["external_id"], "member": {"id": i["member_id"]}} for i in identities
    ]
    assert len(identities) >= 10
    assert body["extensions"]["db"]["byCollection"] == {"identities": 1, "members": 1}


async def test_a_malformed_key_fails_only_its_own_position(client: httpx.AsyncClient) -> None:
    # Given a malformed id at index 1 and a missing key field at index 3
    representations = [
        {"__typename": "Member", "id": "mem_00001"},
        {"__typename": "Member", "id": "ord_0000001"},
        {"__typename": "Order", "id": "ord_0000001"},
        {"__typename": "Identity", "channelId": "ch_my_market"},
        {"__typename": "Cart", "id": "cart_1"},
    ]
    # When they are resolved
    body = await gql(client, ENTITIES, {"representations": representations})
    # Then the good ones resolve and each bad one has an error at its index
    assert [e and e["__typename"] for e in body["data"]["_entities"]] == [
        "Member", None, "Order", None, None
    ]
    assert [(e["path"], e["extensions"]["code"], e["message"]) for e in body["errors"]] == [
        (["_entities", 1], "BAD_USER_INPUT",
         "Malformed id 'ord_0000001': expected an id starting with 'mem_'."),
        (["_entities", 3], "BAD_USER_INPUT",
         "This Identity representation lacks its key field 'externalId'."),
        (["_entities", 4], "BAD_USER_INPUT",
         "Unknown entity type 'Cart'; entities: Channel, Location, Product, Member, Order, "
         "Payment, Visit, Identity."),
    ]


async def test_more_representations_than_the_cap_are_refused_before_any_command(
    client: httpx.AsyncClient,
) -> None:
    # Given 101 representations, one over the default cap of 100
    representations = member_representations(101)
    # When they are sent
    body = await gql(client, MEMBERS, {"representations": representations})
    # Then the request is refused as too complex, and nothing reached the database
    assert body["data"] is None
    assert [(e["extensions"]["code"], e["message"]) for e in body["errors"]] == [
        ("QUERY_TOO_COMPLEX",
         "A request may resolve at most 100 entity representations; this one asks for 101. "
         "Split it into several requests."),
    ]
    assert body["extensions"]["db"]["commands"] == 0


SPLIT = """query($a: [_Any!]!) {
  first: _entities(representations: $a) { ... on Member { id } }
  ...more
}
fragment more on Query {
  second: _entities(representations: [{__typename: "Member", id: "mem_00001"}]) {
    ... on Member { id }
  }
}"""


@pytest.fixture
async def capped_client(seeded: str) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway with a cap of 3 representations per request."""
    async for c in admin_client(wire_settings(seeded, max_representations=3)):
        yield c


async def test_the_cap_is_a_setting_and_counts_the_whole_request(
    capped_client: httpx.AsyncClient,
) -> None:
    # Given a cap of 3, and a request of 3 that asks for them in two _entities fields
    three = {"a": member_representations(2)}
    four = {"a": member_representations(3)}
    # When each is sent
    allowed = await data(capped_client, SPLIT, three)
    refused = await gql(capped_client, SPLIT, four)
    # Then 3 resolve, 4 (3 + 1 in a fragment) are refused
    assert allowed == {"first": [{"id": "mem_00001"}, {"id": "mem_00002"}],
                       "second": [{"id": "mem_00001"}]}
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert "asks for 4" in refused["errors"][0]["message"]


DEFAULTED = """query($r: [_Any!]! = [
  {__typename: "Member", id: "mem_00001"}, {__typename: "Member", id: "mem_00002"},
  {__typename: "Member", id: "mem_00003"}, {__typename: "Member", id: "mem_00004"}
]) { _entities(representations: $r) { ... on Member { id } } }"""


async def test_the_cap_counts_a_variable_default(capped_client: httpx.AsyncClient) -> None:
    # Given 4 representations in a variable's default value, over the cap of 3
    # When the request leaves the variable out
    body = await gql(capped_client, DEFAULTED)
    # Then the default is counted, and the request refused
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert body["extensions"]["db"]["commands"] == 0


def test_the_resolver_enforces_the_cap_too() -> None:
    # Given an _entities call that reached the resolver with more than the cap
    info = SimpleNamespace(context=SimpleNamespace(settings=Settings(max_representations=2)))
    # When it resolves, then it refuses
    with pytest.raises(QueryTooComplex, match="at most 2 entity representations"):
        build_schema().entities_resolver(info, member_representations(3))


def test_every_entity_key_is_checked() -> None:
    # Given the schema's entities and their @key directives
    schema = build_schema()
    entities = schema._schema.type_map["_Entity"].types
    keys = {
        t.name: schema.get_type_by_name(t.name).directives[0].fields
        for t in entities
    }
    # Then resolvers.schema.federation checks exactly those key fields, the entity table's
    assert keys == {name: " ".join(fields) for name, fields in ENTITY_KEYS.items()}
    assert keys == {entity.type: entity.key_fields for entity in ids.ENTITIES if entity.key}


def test_every_node_type_is_in_the_entity_table_and_node_loads_it() -> None:
    # Given the types that implement Node in the schema
    schema = build_schema()._schema
    nodes = {t.name for t in schema.get_implementations(schema.type_map["Node"]).objects}
    # Then each has a row of the entity table, and node(id:) a way to load it
    assert nodes == {entity.type for entity in ids.ENTITIES} == set(NODE_LOADERS)
    # and the id prefixes the Node interface documents are the table's
    described = schema.type_map["Node"].fields["id"].description
    assert described is not None
    assert described.endswith(": " + ", ".join(e.prefix for e in ids.ENTITIES) + ".")


async def test_the_federation_trace_header_is_accepted(client: httpx.AsyncClient) -> None:
    # Given a router that asks for inline traces (ftv1), as Apollo's do with usage reporting
    payload = {"query": MEMBERS, "variables": {"representations": member_representations(1)}}
    # When it sends the header
    response = await client.post(
        "/graphql", json=payload, headers={"apollo-federation-include-trace": "ftv1"}
    )
    # Then the request succeeds as without it (no trace is added: see docs/federation.md, "Limits")
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"_entities": [{"id": "mem_00001", "homeChannel": {"id": "ch_miniapp"}}]}
    assert "errors" not in body
    assert set(body["extensions"]) == {"db", "cost"}


async def test_service_sdl_is_schema_graphql(client: httpx.AsyncClient) -> None:
    # Given the committed schema.graphql
    committed = (ROOT / "schema.graphql").read_text()
    # When a router asks the running gateway for its SDL
    result = await data(client, "{ _service { sdl } }")
    # Then it is the same text (the file adds only the final newline every text file ends with)
    assert committed == result["_service"]["sdl"] + "\n"
    assert committed == schema_sdl()
