"""Query cost (extensions.cost, Shopify's shape) and the leaky bucket per key."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import GraphQLObjectType, OperationDefinitionNode, parse

from gateway.admission.cost import FIELD_COSTS, PER_ITEM, CostWalker
from gateway.admission.throttle import MemoryStore, MongoStore, Store, Throttle
from gateway.database import monitoring
from resolvers.schema import build_schema
from tests.support import ROOT, SEEDS, Gateway, data, embedded_settings, gql, running_gateway

# channels: an object (1) + database (1); locations: the same  -> 4
CHANNELS = "{ channels { id name locations { id } } }"
# orders: database (1) + 10 x node (1 + total 1 + member 1 + database 1)  -> 41
ORDERS = """{ orders(first: 10) { edges { cursor node { id total { amount } member { id } } }
  pageInfo { hasNextPage } } }"""
# members: 1 + 3 x (node 1 + lifetimeValue 2 + history (1 + 5 x (1 + channel 2)))  -> 58
MEMBERS = """query($n: Int!) { members(first: $n) { edges { node { id lifetimeValue { amount }
  history(first: 5) { edges { node { id channel { id } } } } } } } }"""


async def cost_of(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    body = await gql(client, query, variables)
    assert "errors" not in body, body["errors"]
    cost: dict[str, Any] = body["extensions"]["cost"]
    return cost


async def test_requested_cost_of_three_fixed_queries(client: httpx.AsyncClient) -> None:
    assert (await cost_of(client, CHANNELS))["requestedQueryCost"] == 4
    assert (await cost_of(client, ORDERS))["requestedQueryCost"] == 41
    assert (await cost_of(client, MEMBERS, {"n": 3}))["requestedQueryCost"] == 58


async def test_actual_cost_counts_what_came_back(client: httpx.AsyncClient) -> None:
    # Given a page of 10 orders, each with its member
    assert (await cost_of(client, ORDERS))["actualQueryCost"] == 41
    # When the last page holds 1 order of the 100 asked for
    oldest = min(SEEDS["orders"], key=lambda o: (o["placed_at"], o["_id"]))
    query = """query($id: ID!) { member(id: $id) { history(first: 100, kinds: [ORDER],
      until: "2026-01-01T00:00:00Z") { edges { node { id } } } } order(id: "ord_0") { id } }"""
    cost = await cost_of(client, query, {"id": oldest["member_id"]})
    before = sum(1 for o in SEEDS["orders"] if o["member_id"] == oldest["member_id"]
                 and o["placed_at"].isoformat() < "2026-01-01")
    # Then: member 2 + history 1 + 100 nodes requested; the nodes returned, and a null order 1
    assert cost["requestedQueryCost"] == 2 + 1 + 100 + 2
    assert cost["actualQueryCost"] == 2 + 1 + before + 1


async def test_fragments_entities_and_introspection(client: httpx.AsyncClient) -> None:
    query = """query($reps: [_Any!]!) { _entities(representations: $reps) { ...O } __typename
      __schema { queryType { name } } }
      fragment O on Order { id channel { id } }"""
    reps = [{"__typename": "Order", "id": o["_id"]} for o in SEEDS["orders"][:3]]
    # _entities 1 + 3 x (1 + channel 2); __schema 1
    assert (await cost_of(client, query, {"reps": reps}))["requestedQueryCost"] == 1 + 9 + 1


async def test_every_response_carries_the_cost_in_shopifys_shape(
    client: httpx.AsyncClient,
) -> None:
    for query in ["{ channels { id } }", "{ nope }", "{ orders(first: 0) { edges { cursor } } }"]:
        cost = (await gql(client, query))["extensions"]["cost"]
        assert set(cost) == {"requestedQueryCost", "actualQueryCost", "throttleStatus"}
        assert set(cost["throttleStatus"]) == {"maximumAvailable", "currentlyAvailable",
                                               "restoreRate"}


@pytest.fixture(params=["memory", "mongodb"])
def store(request: pytest.FixtureRequest, wire_gateway: Gateway) -> Store:
    """Each store of the buckets: this process's memory, and MongoDB (the wire server)."""
    if request.param == "memory":
        return MemoryStore()
    return MongoStore(wire_gateway.app.state.db)


async def test_bucket_drains_and_refills(store: Store) -> None:
    now = [100.0]
    bucket = Throttle(size=1000, rate=100, store=store, clock=lambda: now[0])
    key = f"k-{uuid.uuid4().hex}"
    # Given a full bucket, when a key spends 600 then 400 points, then it is empty
    assert await bucket.charge(key, 600) is None
    assert await bucket.charge(key, 400) is None
    assert bucket.status(key) == {"maximumAvailable": 1000.0, "currentlyAvailable": 0,
                                  "restoreRate": 100.0}
    # A query of 250 points must wait 2.5 s; other keys are not affected
    assert await bucket.charge(key, 250) == 2.5
    assert await bucket.charge(f"{key}-other", 1000) is None
    now[0] += 1.0
    assert bucket.available(key) == 100.0
    assert await bucket.charge(key, 250) == 1.5
    now[0] += 1.5
    assert await bucket.charge(key, 250) is None
    # Refunds and time never fill a bucket beyond its size
    await bucket.refund(key, 5000)
    now[0] += 60
    assert bucket.available(key) == 1000.0
    assert await bucket.charge(key, 1000) is None
    assert await bucket.charge(key, 1) == 0.01


async def test_the_shared_bucket_is_one_conditional_update_per_charge(
    wire_gateway: Gateway,
) -> None:
    now = [1000.0]
    bucket = Throttle(size=100, rate=10, store=MongoStore(wire_gateway.app.state.db),
                      clock=lambda: now[0])
    key = f"k-{uuid.uuid4().hex}"
    commands: list[str] = []

    class Seen:
        def started(self, command: str, collection: str | None, key: object) -> None:
            if collection == "rate_limits":
                commands.append(command)

        def finished(self, key: object, failure: str | None) -> None:
            pass

    monitoring.observers.append(Seen())
    try:
        # a new key: one upsert; a busy key: one $inc; refunds wait for the next charge
        assert await bucket.charge(key, 30) is None
        assert await bucket.charge(key, 30) is None
        await bucket.refund(key, 5)
        await bucket.owe(key, 1)
        assert commands == ["findAndModify", "findAndModify"]
        assert await bucket.charge(key, 30) is None
        assert commands == ["findAndModify"] * 3
        # refused with the accurate wait: two conditional updates and one find
        assert await bucket.charge(key, 30) == 1.6
        assert commands[3:] == ["findAndModify", "findAndModify", "find"]
        doc = await wire_gateway.app.state.db["rate_limits"].find_one({"_id": key})
        assert doc["tat"] == pytest.approx(1000 + (30 + 30 + 30 - 5 + 1) / 10)
    finally:
        monitoring.observers.pop()


@pytest.fixture(scope="module")
async def small_bucket() -> AsyncIterator[Gateway]:
    """A gateway whose keys hold 100 points and regain 10 per second."""
    async for gateway in running_gateway(embedded_settings(throttle_bucket_size=100,
                                                    throttle_restore_rate=10)):
        yield gateway


async def test_over_budget_query_is_throttled_until_the_bucket_refills(
    small_bucket: Gateway,
) -> None:
    now = [0.0]
    small_bucket.app.state.throttle.clock = lambda: now[0]
    query = "{ orders(first: 40) { edges { node { id } } } }"  # 1 + 40 = 41 points
    async with small_bucket.client(await small_bucket.key("bucket", "partner",
                                                          ("ch_us_market",))) as client:
        first = await gql(client, query)
        second = await gql(client, query)
        assert first["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 59
        assert "errors" not in second
        assert second["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 18
        # When the third arrives with 18 points left: THROTTLED, wait (41 - 18) / 10 s
        third = await gql(client, query)
        assert third["data"] is None
        assert third["errors"] == [{
            "message": "Throttled: the query costs 41 points and 18 are available; "
                       "retry in 2.3 seconds.",
            "extensions": {"code": "THROTTLED", "retryAfterSeconds": 2.3}}]
        assert third["extensions"]["db"]["commands"] == 0
        assert third["extensions"]["cost"]["actualQueryCost"] == 0
        assert third["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 18
        now[0] += 2.3
        assert "errors" not in await gql(client, query)
        # Another key has its own bucket
        other = small_bucket.client(await small_bucket.key("bucket-2", "admin"))
        async with other:
            assert (await data(other, "{ channels { id } }"))["channels"]


async def test_the_readme_example(client: httpx.AsyncClient) -> None:
    query = "{ orders(first: 10) { edges { node { id member { id } } } } }"
    cost = await cost_of(client, query)
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (31, 31)


async def test_fragment_fan_out_is_costed_as_executed(client: httpx.AsyncClient) -> None:
    # Ten fragments, each spreading the next ten times: 10^10 spreads if expanded naively;
    # execution merges them into one `channels` field, and so does the cost.
    fragments = "\n".join(
        f"fragment F{i} on Query {{ {' '.join(f'...F{i + 1}' for _ in range(10))} }}"
        for i in range(10)
    )
    query = "{ ...F0 }\n" + fragments + "\nfragment F10 on Query { channels { id } }"
    assert (await cost_of(client, query))["requestedQueryCost"] == 2


def test_every_mutation_and_subscription_is_in_the_cost_table_and_costs_what_it_says() -> None:
    schema = build_schema()._schema
    roots = [schema.mutation_type, schema.subscription_type]
    # a field added next month is covered: every mutation and subscription has a cost
    assert {f"{t.name}.{f}" for t in roots if t for f in t.fields} <= set(FIELD_COSTS)
    for key in [*FIELD_COSTS, *PER_ITEM]:
        type_name, field_name = key.split(".")
        parent = schema.get_type(type_name)
        assert isinstance(parent, GraphQLObjectType) and field_name in parent.fields, key
        # pinned: the field alone costs its table entry, plus so much per item
        items = f"({PER_ITEM[key][0]}: [{{}}, {{}}, {{}}])" if key in PER_ITEM else ""
        document = parse(f"{{ {field_name}{items} {{ __typename }} }}")
        operation = document.definitions[0]
        assert isinstance(operation, OperationDefinitionNode)
        walker = CostWalker(schema, {}, {})
        expected = FIELD_COSTS[key] + (3 * PER_ITEM[key][1] if key in PER_ITEM else 0)
        assert walker.selection_cost(operation.selection_set, parent) == expected, key


def test_the_documentation_prints_the_cost_table() -> None:
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\w+\.\w+)` \| (\d+)", text, re.MULTILINE))
    assert {k: int(v) for k, v in rows.items()} == dict(FIELD_COSTS)
    for key, (argument, points) in PER_ITEM.items():
        assert f"| `{key}` | {FIELD_COSTS[key]} | + {points} per item of `{argument}`" in text


async def test_analytics_and_imports_cost_their_table_entries(client: httpx.AsyncClient) -> None:
    reach = """{ omnichannelReach(since: "2026-01-01T00:00:00Z", until: "2026-02-01T00:00:00Z")
      { activeMembers } }"""
    assert (await cost_of(client, reach))["requestedQueryCost"] == 25
    sales = """{ channel(id: "ch_us_market") { sales(since: "2026-06-01T00:00:00Z",
      until: "2026-07-01T00:00:00Z", bucket: WEEK) { buckets { label } } } }"""
    # channel 2, sales 10, its plain list of buckets 1
    assert (await cost_of(client, sales))["requestedQueryCost"] == 2 + 10 + 1
    rows = ", ".join(['{externalId: "e", placedAt: "2026-01-01T00:00:00Z", currency: "USD", '
                      'lines: []}'] * 7)
    body = await gql(client, f'mutation {{ importOrders(channel: "ch_x", orders: [{rows}]) '
                             "{ __typename } }")
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10 + 7
