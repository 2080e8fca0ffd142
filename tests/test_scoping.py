"""Row-level scoping: two partners and an admin, on the wire server and on the embedded store.

Partner A holds ch_my_market and ch_us_market, partner B ch_freshmart and ch_th_market
(tests/support/gateways.py). For every root field, connection and entity type a partner gets
only its channels' rows; another channel's record by id is null, exactly like a missing one.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from tests.support import (
    PARTNER_A,
    PARTNER_B,
    SEEDS,
    Callers,
    data,
    gql,
    newest_first,
    page_through,
)

A, B = set(PARTNER_A), set(PARTNER_B)
MASK = "***"


def holders(channels: set[str]) -> set[str]:
    """Members holding an identity in one of ``channels``."""
    return {i["member_id"] for i in SEEDS["identities"] if i["channel_id"] in channels}


def first_doc(collection: str, channels: set[str]) -> dict[str, Any]:
    return next(d for d in SEEDS[collection] if d["channel_id"] in channels)


async def test_channels_and_channel_by_id(callers: Callers) -> None:
    query = "{ channels { id } }"
    assert await data(callers.partner_a, query) == {"channels": [{"id": c} for c in PARTNER_A]}
    assert await data(callers.partner_b, query) == {"channels": [{"id": c} for c in PARTNER_B]}
    assert len((await data(callers.admin, query))["channels"]) == len(SEEDS["channels"])
    by_id = """{ mine: channel(id: "ch_us_market") { id } theirs: channel(id: "ch_freshmart")
      { id } missing: channel(id: "ch_nowhere") { id } }"""
    assert await data(callers.partner_a, by_id) == {
        "mine": {"id": "ch_us_market"}, "theirs": None, "missing": None}


async def test_locations(callers: Callers) -> None:
    mine = first_doc("locations", A)
    theirs = first_doc("locations", B)
    query = """query($mine: ID!, $theirs: ID!) { mine: location(id: $mine) { id channel { id } }
      theirs: location(id: $theirs) { id } channel(id: "ch_us_market") { locations { id } } }"""
    result = await data(callers.partner_a, query, {"mine": mine["_id"], "theirs": theirs["_id"]})
    assert result == {
        "mine": {"id": mine["_id"], "channel": {"id": mine["channel_id"]}},
        "theirs": None,
        "channel": {"locations": [
            {"id": loc["_id"]} for loc in sorted(SEEDS["locations"], key=lambda loc: loc["_id"])
            if loc["channel_id"] == "ch_us_market"]},
    }
    assert (await data(callers.partner_b, query, {"mine": mine["_id"],
                                                   "theirs": theirs["_id"]})) == {
        "mine": None, "theirs": {"id": theirs["_id"]}, "channel": None}


PRODUCTS = """query($first: Int!, $after: String, $filter: ProductFilter) {
  products(first: $first, after: $after, filter: $filter) {
    edges { node { sku offers { channel { id } } } } pageInfo { hasNextPage endCursor } } }"""


def visible_products(channels: set[str]) -> list[dict[str, Any]]:
    return [
        {"sku": p["_id"], "offers": [{"channel": {"id": o["channel_id"]}}
                                     for o in p["offers"] if o["channel_id"] in channels]}
        for p in sorted(SEEDS["products"], key=lambda p: p["_id"])
        if any(o["channel_id"] in channels for o in p["offers"])
    ]


async def test_products_and_offers(callers: Callers) -> None:
    for client, channels in [(callers.partner_a, A), (callers.partner_b, B)]:
        query = PRODUCTS
        nodes: list[dict[str, Any]] = []
        after = None
        while True:
            page = (await data(client, query, {"first": 20, "after": after}))["products"]
            nodes += [e["node"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert nodes == visible_products(channels)
    other = await data(callers.partner_a, PRODUCTS,
                       {"first": 100, "filter": {"channel": "ch_freshmart"}})
    assert other["products"]["edges"] == []
    only_b = next(p for p in SEEDS["products"]
                  if not {o["channel_id"] for o in p["offers"]} & A)
    query = "query($sku: ID!) { product(sku: $sku) { sku } }"
    assert await data(callers.partner_a, query, {"sku": only_b["_id"]}) == {"product": None}
    assert await data(callers.partner_b, query, {"sku": only_b["_id"]}) == {
        "product": {"sku": only_b["_id"]}}


STOCK = """query($sku: ID!, $loc: ID!) {
  product(sku: $sku) { stock(location: $loc) { onHand } } }"""


async def test_stock_levels(callers: Callers) -> None:
    locations = {loc["_id"]: loc["channel_id"] for loc in SEEDS["locations"]}
    offered = {p["_id"]: {o["channel_id"] for o in p["offers"]} for p in SEEDS["products"]}
    mine = next(s for s in SEEDS["inventory"] if locations[s["location_id"]] in A)
    theirs = next(s for s in SEEDS["inventory"] if locations[s["location_id"]] in B
                  and offered[s["sku"]] & A)
    assert await data(callers.partner_a, STOCK, {"sku": mine["sku"],
                                                 "loc": mine["location_id"]}) == {
        "product": {"stock": {"onHand": mine["on_hand"]}}}
    assert await data(callers.partner_a, STOCK, {"sku": theirs["sku"],
                                                 "loc": theirs["location_id"]}) == {
        "product": {"stock": None}}
    assert await data(callers.admin, STOCK, {"sku": theirs["sku"],
                                             "loc": theirs["location_id"]}) == {
        "product": {"stock": {"onHand": theirs["on_hand"]}}}


async def test_stock_is_scoped_in_the_repository_in_one_more_command(callers: Callers) -> None:
    # given stock at one of partner A's locations
    locations = {loc["_id"]: loc["channel_id"] for loc in SEEDS["locations"]}
    mine = next(s for s in SEEDS["inventory"] if locations[s["location_id"]] in A)
    variables = {"sku": mine["sku"], "loc": mine["location_id"]}
    # when an admin and the partner read it
    admin = await gql(callers.admin, STOCK, variables)
    partner = await gql(callers.partner_a, STOCK, variables)
    # then both get it; the partner's read checks the location's channel first
    assert admin["data"] == partner["data"] == {"product": {"stock": {"onHand": mine["on_hand"]}}}
    assert admin["extensions"]["db"] == {"commands": 2, "byCollection": {
        "inventory": 1, "products": 1}}
    assert partner["extensions"]["db"] == {"commands": 3, "byCollection": {
        "inventory": 1, "locations": 1, "products": 1}}


ORDERS = """query($first: Int!, $after: String, $filter: OrderFilter) {
  orders(first: $first, after: $after, filter: $filter) {
    edges { node { id } } pageInfo { hasNextPage endCursor } } }"""
VISITS = ORDERS.replace("orders(", "visits(").replace("OrderFilter", "VisitFilter")


async def test_orders_and_visits_lists(callers: Callers) -> None:
    for client, channels in [(callers.partner_a, A), (callers.partner_b, B)]:
        for query, collection, time_field in [(ORDERS, "orders", "placed_at"),
                                              (VISITS, "visits", "at")]:
            field = collection
            ids = await page_through(client, query, field, "id", {}, first=100)
            expected = newest_first([d for d in SEEDS[collection] if d["channel_id"] in channels],
                                    time_field)
            assert ids == expected and expected, (collection, channels)
    other = await data(callers.partner_a, ORDERS,
                       {"first": 100, "filter": {"channels": sorted(B)}})
    assert other["orders"]["edges"] == []


BY_ID = """query($order: ID!, $payment: ID!, $visit: ID!) {
  order(id: $order) { id payments { id } }
  node(id: $order) { id } payment: node(id: $payment) { id } visit: node(id: $visit) { id } }"""


async def test_other_partners_records_by_id_are_null(callers: Callers) -> None:
    order = first_doc("orders", B)
    variables = {"order": order["_id"], "payment": first_doc("payments", B)["_id"],
                 "visit": first_doc("visits", B)["_id"]}
    nothing = {"order": None, "node": None, "payment": None, "visit": None}
    assert await data(callers.partner_a, BY_ID, variables) == nothing
    missing = {"order": "ord_9999999", "payment": "pay_9999999", "visit": "vis_9999999"}
    assert await data(callers.partner_a, BY_ID, missing) == nothing
    seen = await data(callers.partner_b, BY_ID, variables)
    assert seen["order"] == {"id": order["_id"], "payments": [
        {"id": p["_id"]} for p in sorted(SEEDS["payments"], key=lambda p: (p["paid_at"], p["_id"]))
        if p["order_id"] == order["_id"]]}
    assert seen["payment"] == {"id": variables["payment"]}


MEMBERS = """query($first: Int!, $after: String) { members(first: $first, after: $after) {
  edges { node { id name phone email } } pageInfo { hasNextPage endCursor } } }"""


async def test_members_are_those_with_an_identity_in_the_partners_channels(
    callers: Callers,
) -> None:
    for client, channels in [(callers.partner_a, A), (callers.partner_b, B)]:
        result = []
        after = None
        while True:
            page = (await data(client, MEMBERS, {"first": 50, "after": after}))["members"]
            result += [e["node"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert [m["id"] for m in result] == sorted(holders(channels))
        assert {(m["name"], m["phone"] or MASK, m["email"] or MASK) for m in result} == {
            (MASK, MASK, MASK)}
    admin = await page_through(callers.admin, MEMBERS, "members", "id", {}, first=100)
    assert len(admin) == len(SEEDS["members"])


MEMBER = """query($id: ID!) { member(id: $id) { id name identities { channelId }
  history(first: 100) { edges { node { __typename id channel { id } } } }
  channelSummaries { channel { id } orderCount visitCount spend { minorUnits } }
  lifetimeValue { minorUnits } } }"""


async def test_member_details_history_and_summaries(callers: Callers) -> None:
    member_id = sorted(holders(A) & holders(B))[0]
    result = (await data(callers.partner_a, MEMBER, {"id": member_id}))["member"]
    orders = [o for o in SEEDS["orders"] if o["member_id"] == member_id and o["channel_id"] in A]
    visits = [v for v in SEEDS["visits"] if v["member_id"] == member_id and v["channel_id"] in A]
    payments = [p for p in SEEDS["payments"]
                if p["member_id"] == member_id and p["channel_id"] in A]
    assert result["name"] == MASK
    assert result["identities"] == [
        {"channelId": i["channel_id"]} for i in sorted(
            SEEDS["identities"], key=lambda i: (i["channel_id"], i["_id"]))
        if i["member_id"] == member_id and i["channel_id"] in A]
    timeline = sorted(
        [(o["placed_at"], o["_id"], "Order") for o in orders]
        + [(p["paid_at"], p["_id"], "Payment") for p in payments]
        + [(v["at"], v["_id"], "Visit") for v in visits], reverse=True)[:100]
    assert timeline
    assert [e["node"] for e in result["history"]["edges"]] == [
        {"__typename": kind, "id": id_, "channel": {"id": channel}}
        for _, id_, kind in timeline
        for channel in [next(d["channel_id"] for d in orders + payments + visits
                             if d["_id"] == id_)]]
    counted = [o for o in orders if o["status"] != "CANCELLED"]
    expected: dict[str, dict[str, int]] = defaultdict(lambda: {"orders": 0, "visits": 0,
                                                               "spend": 0})
    for o in counted:
        expected[o["channel_id"]]["orders"] += 1
        expected[o["channel_id"]]["spend"] += o["total"]
    for v in visits:
        expected[v["channel_id"]]["visits"] += 1
    assert result["channelSummaries"] == [
        {"channel": {"id": ch}, "orderCount": str(e["orders"]), "visitCount": str(e["visits"]),
         "spend": {"minorUnits": str(e["spend"])}} for ch, e in sorted(expected.items())]
    assert result["lifetimeValue"] == {"minorUnits": str(sum(o["total_base"] for o in counted))}


async def test_members_of_other_partners_only_are_null(callers: Callers) -> None:
    only_b = sorted(holders(B) - holders(A))[0]
    query = "query($id: ID!) { member(id: $id) { id } node(id: $id) { id } }"
    assert await data(callers.partner_a, query, {"id": only_b}) == {"member": None,
                                                                   "node": None}
    identity = next(i for i in SEEDS["identities"] if i["member_id"] == only_b
                    and i["channel_id"] in B)
    by_identity = """query($ch: ID!, $ext: String!) {
      memberByIdentity(channel: $ch, externalId: $ext) { id name } }"""
    variables = {"ch": identity["channel_id"], "ext": identity["external_id"]}
    assert await data(callers.partner_a, by_identity, variables) == {"memberByIdentity": None}
    assert await data(callers.partner_b, by_identity, variables) == {
        "memberByIdentity": {"id": only_b, "name": MASK}}
    member = next(m for m in SEEDS["members"] if m["_id"] == only_b)
    assert await data(callers.admin, by_identity, variables) == {
        "memberByIdentity": {"id": only_b, "name": member["name"]}}
    home = await data(callers.partner_a, """{ members(first: 100,
      filter: {homeChannel: "ch_freshmart"}) { edges { node { id } } } }""")
    assert home == {"members": {"edges": []}}


ENTITIES = """query($reps: [_Any!]!) { _entities(representations: $reps) {
  ... on Order { id } ... on Member { id } ... on Channel { id } ... on Location { id }
  ... on Product { sku } ... on Payment { id } ... on Visit { id } } }"""


async def test_entities_resolve_only_the_partners_rows(callers: Callers) -> None:
    only_b_member = sorted(holders(B) - holders(A))[0]
    only_b_product = next(p for p in SEEDS["products"]
                          if not {o["channel_id"] for o in p["offers"]} & A)
    reps = [
        {"__typename": "Order", "id": first_doc("orders", A)["_id"]},
        {"__typename": "Order", "id": first_doc("orders", B)["_id"]},
        {"__typename": "Member", "id": only_b_member},
        {"__typename": "Channel", "id": "ch_freshmart"},
        {"__typename": "Location", "id": first_doc("locations", B)["_id"]},
        {"__typename": "Product", "sku": only_b_product["_id"]},
        {"__typename": "Payment", "id": first_doc("payments", B)["_id"]},
        {"__typename": "Visit", "id": first_doc("visits", B)["_id"]},
    ]
    result = await data(callers.partner_a, ENTITIES, {"reps": reps})
    assert result == {"_entities": [{"id": reps[0]["id"]}] + [None] * 7}
    admin = await data(callers.admin, ENTITIES, {"reps": reps})
    assert None not in admin["_entities"]
