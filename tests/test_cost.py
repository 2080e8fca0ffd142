"""Query cost (extensions.cost, Shopify's shape) and the leaky bucket per key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.throttle import Throttle
from tests.conftest import SEEDS, Gateway, _gateway, data, embedded_settings, gql

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


def test_bucket_drains_and_refills() -> None:
    now = [100.0]
    bucket = Throttle(size=1000, rate=100, clock=lambda: now[0])
    # Given a full bucket, when a key spends 600 then 400 points, then it is empty
    assert bucket.charge("k", 600) is None
    assert bucket.charge("k", 400) is None
    assert bucket.status("k") == {"maximumAvailable": 1000.0, "currentlyAvailable": 0,
                                  "restoreRate": 100.0}
    # A query of 250 points must wait 2.5 s; other keys are not affected
    assert bucket.charge("k", 250) == 2.5
    assert bucket.charge("other", 1000) is None
    now[0] += 1.0
    assert bucket.available("k") == 100.0
    assert bucket.charge("k", 250) == 1.5
    now[0] += 1.5
    assert bucket.charge("k", 250) is None
    # Refunds and time never fill a bucket beyond its size
    bucket.refund("k", 5000)
    now[0] += 60
    assert bucket.available("k") == 1000.0


@pytest.fixture(scope="module")
async def small_bucket() -> AsyncIterator[Gateway]:
    """A gateway whose keys hold 100 points and regain 10 per second."""
    async for gateway in _gateway(embedded_settings(throttle_bucket_size=100,
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
