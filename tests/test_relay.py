"""Relay connections, by the cursor connections specification, on every connection field.

The schema is walked: every field whose type is a connection must have ``first``, ``after``,
``last`` and ``before``, a ``pageInfo`` with the four fields, and a route in ``ROUTES`` (how
to reach it on the demo data); a connection added later fails here until it has one. Each
route is then paged forward and backward, on both stores: first, middle and last pages,
``after`` and ``before`` together, an empty page, and the same items either way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support import SEEDS, WritingGateway, data, fresh_gateway, gql

LEDGER_MEMBER = "mem_00007"
LONG_LIFE = "ord_9000004"  # the demo order shipped in parts and returned twice: 9 events

# How to reach each connection field, with a filter that keeps its list a few pages long:
# PAGE stands for the paging arguments, the closing parenthesis and the connection's selection.
ROUTES: dict[str, str] = {
    "Query.products": 'products(filter: {category: "tea"}, PAGE',
    "Query.members": "members(filter: {tier: GOLD}, PAGE",
    "Query.orders": 'orders(filter: {member: "mem_00002"}, PAGE',
    "Query.visits": 'visits(filter: {member: "mem_00002"}, PAGE',
    "Member.history": 'member(id: "mem_00003") { history(kinds: [ORDER, PAYMENT], PAGE }',
    "Member.pointsLedger": f'member(id: "{LEDGER_MEMBER}") {{ pointsLedger(PAGE }}',
    "Query.payments": 'payments(filter: {member: "mem_00002"}, PAGE',
    "Order.events": f'order(id: "{LONG_LIFE}") {{ events(PAGE }}',
    "Query.searchMembers": 'searchMembers(name: "li", PAGE',
    "Query.segments": "segments(PAGE",
    "Segment.members": 'segment(id: "seg_25db8ca4beba6aefce684650") { members('
                       'asOf: "2026-11-01T00:00:00Z", PAGE }',
    "Location.inventory": 'location(id: "loc_fm_beijing_chaoyang") { inventory('
                          'filter: {category: "grain & oil"}, PAGE }',
    "Location.movements": 'location(id: "loc_fm_chengdu_jinjiang") { movements(PAGE }',
    "Product.movements": 'product(sku: "sku_jasmine_rice_5kg") { movements(PAGE }',
    "Query.transfers": 'transfers(filter: {location: "loc_wh_hangzhou"}, PAGE',
    "Query.campaigns": "campaigns(PAGE",
    "Campaign.coupons": 'campaign(id: "cmp_welcome_back") { coupons(PAGE }',
}
# Connections without totalCount, and why (resolvers/relay.py says it to clients).
UNCOUNTED = {
    "Query.orders": "a count reads every index key of its range; totals are Channel.sales",
    "Query.visits": "a count reads every index key of its range; totals are footfall",
    "Member.history": "three collections; per channel totals are channelSummaries",
    "Member.pointsLedger": "the balance is Member.points",
    "Query.payments": "a count reads every index key of its range; totals are Channel.sales",
    "Order.events": "an activity list; an order's state is Order.status",
    "Location.inventory": "a count reads every level of the location; what runs low is the "
                          "lowStock filter",
    "Location.movements": "an audit trail; a level's state is StockLevel.onHand",
    "Product.movements": "an audit trail; a level's state is StockLevel.onHand",
    "Query.transfers": "a list of work under way; its statuses filter says what is left",
    "Query.campaigns": "not counted yet: a brand runs a page or two of campaigns",
    "Campaign.coupons": "not counted yet: each coupon shows its uses; results count orders",
}
ARGUMENTS = "first: $first, after: $after, last: $last, before: $before"
SELECTION = """{ edges { cursor node { id } }
  pageInfo { hasPreviousPage hasNextPage startCursor endCursor } }"""

INTROSPECTION = """{ __schema { types { name kind
  fields { name args { name type { name kind ofType { name } } }
           type { name kind ofType { name kind ofType { name } } } } } } }"""


def _named(type_: dict[str, Any]) -> str:
    while type_.get("ofType"):
        type_ = type_["ofType"]
    return str(type_["name"])


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    """A gateway on its own copy of the demo data, plus a points ledger of 11 entries for
    LEDGER_MEMBER, three of them at the same moment (ties go by id), and eight campaigns more
    (copies of a demo campaign)."""
    async for gateway in fresh_gateway(request.param, seeded, "relay"):
        start = datetime(2026, 3, 1, tzinfo=UTC)
        times = [start + timedelta(days=i) for i in range(8)] + [start + timedelta(days=9)] * 3
        await gateway.db["points_ledger"].insert_many([
            {"_id": f"EARN:ord_relay_{i:02d}", "member_id": LEDGER_MEMBER, "delta": 10,
             "reason": "EARN", "balance": 10 * (i + 1), "at": at, "order_id": None}
            for i, at in enumerate(times)
        ])
        campaign = await gateway.db["campaigns"].find_one({"_id": "cmp_welcome_back"})
        await gateway.db["campaigns"].insert_many([
            {**campaign, "_id": f"cmp_relay_{i}", "name": f"Relay {i}"} for i in range(8)])
        yield gateway


async def page(client: httpx.AsyncClient, route: str, **arguments: Any) -> dict[str, Any]:
    """One page of the connection ``route`` names: ``{"edges": ..., "pageInfo": ...}``."""
    query = ("query($first: Int, $after: String, $last: Int, $before: String) { "
             + ROUTES[route].replace("PAGE", f"{ARGUMENTS}) {SELECTION}") + " }")
    result: dict[str, Any] = await data(client, query, arguments)
    while "edges" not in result:
        (result,) = result.values()
    return result


def ids_of(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


async def test_every_connection_has_the_four_arguments_page_info_and_a_route(
    client: httpx.AsyncClient,
) -> None:
    types = {t["name"]: t for t in (await data(client, INTROSPECTION))["__schema"]["types"]}
    page_info = {f["name"]: _named(f["type"]) for f in types["PageInfo"]["fields"]}
    assert page_info == {"hasPreviousPage": "Boolean", "hasNextPage": "Boolean",
                         "startCursor": "String", "endCursor": "String"}
    found = set()
    for type_ in types.values():
        if type_["kind"] != "OBJECT" or type_["name"].startswith("__"):
            continue
        for field in type_["fields"]:
            if not _named(field["type"]).endswith("Connection"):
                continue
            found.add(f"{type_['name']}.{field['name']}")
            arguments = {a["name"]: _named(a["type"]) for a in field["args"]}
            assert {k: arguments.get(k) for k in ("first", "after", "last", "before")} == {
                "first": "Int", "after": "String", "last": "Int", "before": "String"
            }, field["name"]
    assert found == set(ROUTES)


async def connection_types(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """Each connection field (``Type.field``) and the fields of its connection type."""
    types = {t["name"]: t for t in (await data(client, INTROSPECTION))["__schema"]["types"]}
    found = {}
    for type_ in types.values():
        if type_["kind"] == "OBJECT" and not type_["name"].startswith("__"):
            for field in type_["fields"]:
                named = _named(field["type"])
                if named.endswith("Connection"):
                    found[f"{type_['name']}.{field['name']}"] = {
                        f["name"]: _named(f["type"]) for f in types[named]["fields"]}
    return found


async def test_every_connection_counts_its_items_or_says_why_not(
    client: httpx.AsyncClient,
) -> None:
    fields = await connection_types(client)
    counted = {route for route, f in fields.items() if f.get("totalCount") == "Long"}
    assert sorted(set(fields) - counted) == sorted(UNCOUNTED)


@pytest.mark.parametrize("route", sorted(set(ROUTES) - set(UNCOUNTED)))
async def test_total_count_is_the_size_of_the_whole_list_on_every_page(
    gw: WritingGateway, route: str
) -> None:
    query = ("query($first: Int, $after: String) { " + ROUTES[route].replace(
        "PAGE", "first: $first, after: $after) { totalCount edges { cursor node { id } } }")
        + " }")
    whole: dict[str, Any] = await data(gw.client, query, {"first": 100})
    while "edges" not in whole:
        (whole,) = whole.values()
    size = len(whole["edges"])
    assert whole["totalCount"] == str(size)
    # a later page of two counts the whole list too
    second: dict[str, Any] = await data(gw.client, query, {
        "first": 2, "after": whole["edges"][2]["cursor"]})
    while "edges" not in second:
        (second,) = second.values()
    assert (second["totalCount"], len(second["edges"])) == (str(size), 2)


@pytest.mark.parametrize("route", sorted(ROUTES))
async def test_forward_and_backward_pages_follow_the_specification(
    gw: WritingGateway, route: str
) -> None:
    # given the whole list in one page
    whole = await page(gw.client, route, first=100)
    items = ids_of(whole)
    assert 7 <= len(items) < 100, (route, len(items))
    assert whole["pageInfo"] == {"hasPreviousPage": False, "hasNextPage": False,
                                 "startCursor": whole["edges"][0]["cursor"],
                                 "endCursor": whole["edges"][-1]["cursor"]}
    # when it is read forward three at a time
    forward, after = [], None
    while True:
        current = await page(gw.client, route, first=3, after=after)
        forward.append(current)
        if not current["pageInfo"]["hasNextPage"]:
            break
        after = current["pageInfo"]["endCursor"]
    # then the pages hold the same items, and only the first has nothing before it
    assert [i for p in forward for i in ids_of(p)] == items
    assert [p["pageInfo"]["hasPreviousPage"] for p in forward] == [False] + [True] * (
        len(forward) - 1)
    assert [p["pageInfo"]["hasNextPage"] for p in forward] == [True] * (len(forward) - 1) + [
        False]
    for p in forward:
        assert p["pageInfo"]["startCursor"] == p["edges"][0]["cursor"]
        assert p["pageInfo"]["endCursor"] == p["edges"][-1]["cursor"]
    # when it is read backward three at a time, from the end
    backward, before = [], None
    while True:
        current = await page(gw.client, route, last=3, before=before)
        backward.append(current)
        if not current["pageInfo"]["hasPreviousPage"]:
            break
        before = current["pageInfo"]["startCursor"]
    # then the same items come back, in list order within each page
    assert [i for p in reversed(backward) for i in ids_of(p)] == items
    assert [len(p["edges"]) for p in backward[:-1]] == [3] * (len(backward) - 1)
    assert [p["pageInfo"]["hasNextPage"] for p in backward] == [False] + [True] * (
        len(backward) - 1)
    assert [p["pageInfo"]["hasPreviousPage"] for p in backward] == [True] * (
        len(backward) - 1) + [False]


@pytest.mark.parametrize("route", sorted(ROUTES))
async def test_after_and_before_bound_one_page_together(gw: WritingGateway, route: str) -> None:
    whole = await page(gw.client, route, first=100)
    items, cursors = ids_of(whole), [e["cursor"] for e in whole["edges"]]
    n = len(items)
    # first from the start of the window, last from its end
    inside = await page(gw.client, route, first=100, after=cursors[1], before=cursors[n - 2])
    assert ids_of(inside) == items[2:n - 2]
    assert (inside["pageInfo"]["hasPreviousPage"], inside["pageInfo"]["hasNextPage"]) == (
        True, False)
    head = await page(gw.client, route, first=2, after=cursors[1], before=cursors[n - 2])
    assert ids_of(head) == items[2:4]
    assert head["pageInfo"]["hasNextPage"] is True
    tail = await page(gw.client, route, last=2, after=cursors[1], before=cursors[n - 2])
    assert ids_of(tail) == items[n - 4:n - 2]
    assert (tail["pageInfo"]["hasPreviousPage"], tail["pageInfo"]["hasNextPage"]) == (True, True)
    # past the end: an empty page with no cursors
    empty = await page(gw.client, route, first=5, after=cursors[-1])
    assert empty == {"edges": [], "pageInfo": {"hasPreviousPage": True, "hasNextPage": False,
                                               "startCursor": None, "endCursor": None}}


def _error(body: dict[str, Any]) -> tuple[str, str | None]:
    (error,) = body["errors"]
    return error["extensions"]["code"], error["extensions"].get("field")


ORDERS = """query($filter: OrderFilter, $first: Int, $after: String, $last: Int, $before: String) {
  orders(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor } } }"""
VISITS = """query($after: String) { visits(first: 2, after: $after) { edges { cursor } } }"""
HISTORY = """query($id: ID!, $after: String) { member(id: $id) {
  history(first: 2, after: $after) { edges { cursor } } } }"""
MEMBERS = """query($before: String) { members(last: 2, before: $before) { edges { cursor } } }"""


async def test_a_cursor_works_only_in_its_own_list(client: httpx.AsyncClient) -> None:
    mine = {"member": "mem_00002"}
    order_cursor = (await data(client, ORDERS, {"filter": mine, "first": 2}))["orders"][
        "edges"][0]["cursor"]
    history_cursor = (await data(client, HISTORY, {"id": "mem_00002"}))["member"]["history"][
        "edges"][0]["cursor"]
    # its own list takes it
    assert "errors" not in await gql(client, ORDERS, {"filter": mine, "after": order_cursor})
    # another type's list, the same field under another parent or filter, another argument
    refused = [
        await gql(client, VISITS, {"after": order_cursor}),
        await gql(client, HISTORY, {"id": "mem_00002", "after": order_cursor}),
        await gql(client, HISTORY, {"id": "mem_00003", "after": history_cursor}),
        await gql(client, ORDERS, {"filter": {"member": "mem_00003"}, "after": order_cursor}),
        await gql(client, ORDERS, {"after": order_cursor}),
        await gql(client, MEMBERS, {"before": order_cursor}),
        await gql(client, ORDERS, {"after": "bm90IGEgY3Vyc29y"}),
    ]
    assert [_error(body) for body in refused] == [("BAD_USER_INPUT", "after")] * 5 + [
        ("BAD_USER_INPUT", "before"), ("BAD_USER_INPUT", "after")]
    assert all(body["data"] in (None, {"member": None}) for body in refused)


async def test_first_with_last_and_sizes_out_of_range_are_refused(
    client: httpx.AsyncClient,
) -> None:
    both = await gql(client, ORDERS, {"first": 2, "last": 2})
    assert _error(both) == ("BAD_USER_INPUT", "last")
    for size in (0, 101):
        body = await gql(client, ORDERS, {"last": size})
        assert _error(body) == ("BAD_USER_INPUT", "last")
        assert body["errors"][0]["message"] == f"`last` must be between 1 and 100, got {size}."
        assert body["extensions"]["db"]["commands"] == 0


async def test_backward_pages_cost_and_read_like_forward_ones(client: httpx.AsyncClient) -> None:
    query = """query($first: Int, $last: Int) { members(first: 5) { edges { node {
      history(first: $first, last: $last) { edges { node { id } } } } } } }"""
    forward = await gql(client, query, {"first": 10})
    backward = await gql(client, query, {"last": 10})
    default = await gql(client, query, {})
    assert "errors" not in backward and "errors" not in default
    assert backward["extensions"]["db"] == forward["extensions"]["db"]
    cost = {name: body["extensions"]["cost"]["requestedQueryCost"]
            for name, body in (("first", forward), ("last", backward), ("none", default))}
    # 1 + 5 members x (1 + history: 1 + n x 1)
    assert cost == {"first": 1 + 5 * (1 + 1 + 10), "last": 1 + 5 * (1 + 1 + 10),
                    "none": 1 + 5 * (1 + 1 + 20)}


async def test_the_seeded_lists_are_what_the_routes_page(client: httpx.AsyncClient) -> None:
    # the orders route pages exactly the member's orders, newest first
    expected = [o["_id"] for o in sorted(
        (o for o in SEEDS["orders"] if o["member_id"] == "mem_00002"),
        key=lambda o: (o["placed_at"], o["_id"]), reverse=True)]
    assert ids_of(await page(client, "Query.orders", first=100)) == expected
