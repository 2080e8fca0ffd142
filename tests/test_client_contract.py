"""What client caches and code generators rely on, checked by walking the schema.

- Every object a normalized cache keeps (Apollo Client, Relay, urql's Graphcache) has an
  ``id``, or docs/clients.md names it among the values that belong to their parent.
- ``node(id:)`` finds an object of every type that implements ``Node``.
- A timeline asks ``status`` of orders and payments without aliases.
- Every custom scalar has ``@specifiedBy``, and the values follow the specification.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.support import ROOT, SEEDS, data, gql

INTROSPECTION = """{ __schema {
  queryType { name } mutationType { name } subscriptionType { name }
  types { name kind specifiedByURL interfaces { name } possibleTypes { name }
          fields { name type { kind name ofType { kind name ofType { kind name } } } } } } }"""
# Not kept by a cache as objects of their own: the roots, paging wrappers and payloads.
NOT_CACHED = re.compile(r"^(__.*|_Service|PageInfo|.*Connection|.*Edge|.*Payload)$")


async def schema_types(client: httpx.AsyncClient) -> tuple[dict[str, Any], set[str]]:
    schema = (await data(client, INTROSPECTION))["__schema"]
    roots = {schema[k]["name"] for k in ("queryType", "mutationType", "subscriptionType")}
    return {t["name"]: t for t in schema["types"]}, roots


def documented_values() -> set[str]:
    """The type names in the value-object table of docs/clients.md."""
    text = (ROOT / "docs" / "clients.md").read_text(encoding="utf-8")
    section = text.split("## Objects without an id", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE))


def _id_type(type_: dict[str, Any]) -> dict[str, Any] | None:
    field = next((f for f in type_["fields"] or [] if f["name"] == "id"), None)
    return None if field is None else field["type"]


async def test_every_cached_object_has_an_id_or_a_documented_reason(
    client: httpx.AsyncClient,
) -> None:
    types, roots = await schema_types(client)
    objects = {name: t for name, t in types.items()
               if t["kind"] == "OBJECT" and name not in roots and not NOT_CACHED.match(name)}
    without_id = {name for name, t in objects.items() if _id_type(t) is None}
    # every id is ID!, so a cache can key on it without a keyFields policy
    for name, type_ in objects.items():
        if name not in without_id:
            assert _id_type(type_) == {"kind": "NON_NULL", "name": None,
                                       "ofType": {"kind": "SCALAR", "name": "ID", "ofType": None}}
    # and the rest are exactly the values docs/clients.md lists with their reason
    assert without_id == documented_values()


# The demo order shipped in parts and returned twice (gateway/demo/lifecycle.py).
LIFE = """{ order(id: "ord_9000004") { events(first: 10) { edges { node { id
  return { id } refund { id } } } } } }"""
# A query that yields one id of each Node type, on the demo data.
NODE_SAMPLES: dict[str, tuple[str, Any]] = {
    "Channel": ("{ channels { id } }", lambda d: d["channels"][0]["id"]),
    "Location": ('{ channel(id: "ch_freshmart") { locations { id } } }',
                 lambda d: d["channel"]["locations"][0]["id"]),
    "Product": ("{ products(first: 1) { edges { node { id } } } }",
                lambda d: d["products"]["edges"][0]["node"]["id"]),
    "StockLevel": ('{ product(sku: "sku_aloe_body_wash_1l") { '
                   'stock(location: "loc_fm_beijing_chaoyang") { id } } }',
                   lambda d: d["product"]["stock"]["id"]),
    "Member": ("{ members(first: 1) { edges { node { id } } } }",
               lambda d: d["members"]["edges"][0]["node"]["id"]),
    "Identity": ('{ member(id: "mem_00003") { identities { id } } }',
                 lambda d: d["member"]["identities"][-1]["id"]),
    "Order": ("{ orders(first: 1) { edges { node { id } } } }",
              lambda d: d["orders"]["edges"][0]["node"]["id"]),
    "Payment": ('{ member(id: "mem_00003") { history(first: 1, kinds: [PAYMENT]) { '
                "edges { node { id } } } } }",
                lambda d: d["member"]["history"]["edges"][0]["node"]["id"]),
    "Visit": ("{ visits(first: 1) { edges { node { id } } } }",
              lambda d: d["visits"]["edges"][0]["node"]["id"]),
    "OrderEvent": (LIFE, lambda d: d["order"]["events"]["edges"][0]["node"]["id"]),
    "Return": (LIFE, lambda d: next(e["node"]["return"]["id"] for e in d["order"]["events"][
        "edges"] if e["node"]["return"])),
    "Refund": (LIFE, lambda d: next(e["node"]["refund"]["id"] for e in d["order"]["events"][
        "edges"] if e["node"]["refund"])),
    "StockMovement": ('{ location(id: "loc_wh_hangzhou") { movements(first: 1) { '
                      "edges { node { id } } } } }",
                      lambda d: d["location"]["movements"]["edges"][0]["node"]["id"]),
    "Transfer": ("{ transfers(first: 1) { edges { node { id } } } }",
                 lambda d: d["transfers"]["edges"][0]["node"]["id"]),
    "Campaign": ("{ campaigns(first: 1) { edges { node { id } } } }",
                 lambda d: d["campaigns"]["edges"][0]["node"]["id"]),
}
NODE = "query($id: ID!) { node(id: $id) { __typename id } }"


async def test_node_finds_an_object_of_every_node_type(client: httpx.AsyncClient) -> None:
    types, _ = await schema_types(client)
    implementations = {t["name"] for t in types["Node"]["possibleTypes"]}
    assert implementations == set(NODE_SAMPLES)
    for name, (query, pick) in NODE_SAMPLES.items():
        node_id = pick(await data(client, query))
        assert await data(client, NODE, {"id": node_id}) == {
            "node": {"__typename": name, "id": node_id}}


async def test_identity_and_stock_ids_name_their_parts(client: httpx.AsyncClient) -> None:
    identity = next(i for i in SEEDS["identities"] if i["external_id"].startswith("+86"))
    found = await data(client, """query($id: ID!) { node(id: $id) { id
      ... on Identity { channelId externalId member { id } } } }""",
                       {"id": f"idn_{identity['_id']}"})
    assert found == {"node": {"id": f"idn_{identity['_id']}",
                              "channelId": identity["channel_id"],
                              "externalId": identity["external_id"],
                              "member": {"id": identity["member_id"]}}}
    unknown = await data(client, NODE, {"id": "stk_sku_none@loc_none"})
    assert unknown == {"node": None}
    for malformed in ("idn_ch_flagship", "idn_nope:1", "stk_sku_a", "stk_sku_a@ch_b"):
        body = await gql(client, NODE, {"id": malformed})
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], malformed


TIMELINE = """query($id: ID!) { member(id: $id) { history(first: 100, kinds: [ORDER, PAYMENT]) {
  edges { node { __typename id ... on Order { status } ... on Payment { status } } } } } }"""


async def test_a_timeline_asks_status_of_orders_and_payments_without_aliases(
    client: httpx.AsyncClient,
) -> None:
    result = await data(client, TIMELINE, {"id": "mem_00003"})
    nodes = [e["node"] for e in result["member"]["history"]["edges"]]
    seeded = {d["_id"]: d["status"] for c in ("orders", "payments") for d in SEEDS[c]
              if d["member_id"] == "mem_00003"}
    assert {n["id"]: n["status"] for n in nodes} == seeded
    assert {n["__typename"] for n in nodes} == {"Order", "Payment"}


PAYMENT_STATUS_FILTER = "{ orders(filter: {statuses: [PAID, CAPTURED]}) { edges { cursor } } }"


async def test_an_order_filter_refuses_payment_statuses(client: httpx.AsyncClient) -> None:
    body = await gql(client, PAYMENT_STATUS_FILTER)
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
        ("BAD_USER_INPUT", "statuses")]
    assert body["errors"][0]["message"].startswith("CAPTURED is a payment status")


BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}
FEDERATION = re.compile(r"^_|__")  # _Any, link__Import: federation's own, for routers
SPECIFIED_BY = {
    "DateTime": "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6",
    "Decimal": "https://www.w3.org/TR/xmlschema11-2/#decimal",
}
RFC_3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
DECIMAL = re.compile(r"^[+-]?\d+(\.\d+)?$")


async def test_custom_scalars_carry_their_specification(client: httpx.AsyncClient) -> None:
    types, _ = await schema_types(client)
    custom = {name: t["specifiedByURL"] for name, t in types.items()
              if t["kind"] == "SCALAR" and name not in BUILT_IN and not FEDERATION.search(name)}
    assert all(url and url.startswith("https://") for url in custom.values()), custom
    assert {name: custom[name] for name in SPECIFIED_BY} == SPECIFIED_BY


@pytest.mark.parametrize("member", ["mem_00003", "mem_00060"])
async def test_datetime_and_decimal_values_follow_their_specification(
    client: httpx.AsyncClient, member: str
) -> None:
    found = await data(client, """query($id: ID!) { member(id: $id) { joinedAt
      identities { linkedAt } lifetimeValue { amount } lifetimeUsd: lifetimeValue(currency: "USD")
      { amount } channelSummaries { spend { amount } spendBase { amount } firstActivityAt }
      history(first: 50) { edges { node { at ... on Order { total { amount } } } } } } }""",
                       {"id": member})
    result = found["member"]
    times = [result["joinedAt"], *(i["linkedAt"] for i in result["identities"]),
             *(s["firstActivityAt"] for s in result["channelSummaries"]),
             *(e["node"]["at"] for e in result["history"]["edges"])]
    summaries = result["channelSummaries"]
    amounts = [result["lifetimeValue"]["amount"], result["lifetimeUsd"]["amount"],
               *(s[k]["amount"] for s in summaries for k in ("spend", "spendBase")),
               *(e["node"]["total"]["amount"] for e in result["history"]["edges"]
                 if "total" in e["node"])]
    assert times and all(RFC_3339.match(t) and datetime.fromisoformat(t).utcoffset() is not None
                         for t in times), times
    assert amounts and all(DECIMAL.match(a) for a in amounts), amounts
