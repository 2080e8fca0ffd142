"""A location's stock and its movements (resolvers.stock): Location.inventory filtered and
paged, read for many locations in one command; every change of on-hand units a movement that
resolves by id and is listed at its location and for its product, within the caller's scope.
On the wire server and the embedded store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support import PARTNER_A, PARTNER_B, WritingGateway, data, fresh_gateway, gql
from tests.support.orders import COLLECT, PREPARE, RETURN, SHIP, pay, place

STORE = "loc_fm_shanghai_xuhui"
INVENTORY = """query($loc: ID!, $filter: InventoryFilter, $first: Int, $after: String) {
  location(id: $loc) { inventory(filter: $filter, first: $first, after: $after) {
    edges { node { sku onHand reserved available lowStock } }
    pageInfo { hasNextPage endCursor } } } }"""


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "inventory"):
        yield gateway


async def expected_levels(gw: WritingGateway, location: str, *,
                          category: str | None = None) -> list[dict[str, Any]]:
    """The location's levels as the database has them, by SKU."""
    query: dict[str, Any] = {"location_id": location}
    if category is not None:
        products = await gw.db["products"].find({"category": category}).to_list(None)
        query["sku"] = {"$in": [p["_id"] for p in products]}
    low = gw.gateway.settings.low_stock_units
    docs = sorted(await gw.db["inventory"].find(query).to_list(None), key=lambda d: d["_id"])
    return [{"sku": d["sku"], "onHand": d["on_hand"], "reserved": d["reserved"],
             "available": d["on_hand"] - d["reserved"],
             "lowStock": d["on_hand"] - d["reserved"] <= low} for d in docs]


async def inventory(client: Any, location: str, filter: dict[str, Any] | None = None,
                    first: int = 7) -> list[dict[str, Any]]:
    """Every level of the list, page after page."""
    levels: list[dict[str, Any]] = []
    after = None
    while True:
        body = await data(client, INVENTORY, {"loc": location, "filter": filter,
                                              "first": first, "after": after})
        page = body["location"]["inventory"]
        levels += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return levels
        after = page["pageInfo"]["endCursor"]


async def test_a_locations_inventory_pages_through_every_level_and_filters(
    gw: WritingGateway,
) -> None:
    # given one level at exactly the low-stock threshold and one just above it
    low = gw.gateway.settings.low_stock_units
    edge, above = "sku_hand_cream_50ml", "sku_hawthorn_rolls_250g"
    for sku, on_hand in ((edge, low + 3), (above, low + 4)):
        await gw.db["inventory"].update_one({"_id": f"{sku}@{STORE}"}, {"$set": {
            "sku": sku, "location_id": STORE, "on_hand": on_hand, "reserved": 3, "holds": []}},
            upsert=True)
    everything = await expected_levels(gw, STORE)
    assert len(everything) > 7  # more than one page
    # when the whole list is paged through 7 at a time, it is every level, by SKU
    assert await inventory(gw.client, STORE) == everything
    # and the filters narrow it, alone and together
    lows = await inventory(gw.client, STORE, {"lowStock": True})
    assert lows == [level for level in everything if level["lowStock"]]
    assert edge in [level["sku"] for level in lows]
    highs = await inventory(gw.client, STORE, {"lowStock": False})
    assert highs == [level for level in everything if not level["lowStock"]]
    assert above in [level["sku"] for level in highs]
    assert await inventory(gw.client, STORE, {"sku": edge}) == [
        level for level in everything if level["sku"] == edge]
    category = (await gw.db["products"].find_one({"_id": edge}))["category"]
    in_category = await expected_levels(gw, STORE, category=category)
    assert 0 < len(in_category) < len(everything)
    assert await inventory(gw.client, STORE, {"category": category}) == in_category
    assert await inventory(gw.client, STORE, {"category": category, "lowStock": True}) == [
        level for level in in_category if level["lowStock"]]
    assert await inventory(gw.client, STORE, {"category": "no such category"}) == []


async def test_bad_filters_are_refused_with_their_field(gw: WritingGateway) -> None:
    for filter, field in (({"sku": "ord_1"}, "sku"), ({"category": ""}, "category"),
                          ({"category": "x" * 101}, "category")):
        body = await gql(gw.client, INVENTORY, {"loc": STORE, "filter": filter, "first": 5})
        assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
            ("BAD_USER_INPUT", field)], body


CHAIN = """{ channel(id: "ch_freshmart") { locations { id
  inventory(first: 3, filter: {lowStock: false}) { edges { node { sku } } } } } }"""


async def test_every_locations_inventory_is_read_in_one_command(gw: WritingGateway) -> None:
    body = await gql(gw.client, CHAIN)
    locations = body["data"]["channel"]["locations"]
    assert len(locations) > 1 and all(len(loc["inventory"]["edges"]) == 3 for loc in locations)
    # the channel, its locations, and one aggregate for every location's page
    assert body["extensions"]["db"] == {"commands": 3, "byCollection": {
        "channels": 1, "locations": 1, "inventory": 1}}


ADJUST = """mutation($sku: ID!, $loc: ID!, $delta: Int!, $expected: Int!) {
  adjustStock(sku: $sku, location: $loc, delta: $delta, reason: "count 17",
              expectedOnHand: $expected) { movement { id } userErrors { code } } }"""
MOVEMENTS = """query($loc: ID!, $sku: ID!, $id: ID!) {
  location(id: $loc) { movements(first: 3) { edges { node { id kind delta } } } }
  product(sku: $sku) {
    here: movements(location: $loc, first: 3) { edges { node { id } } }
    everywhere: movements(first: 100) { edges { node { id location { id } } } } }
  node(id: $id) { id ... on StockMovement { kind sku delta before after reason
    location { id } transfer { id } } } }"""


async def test_an_adjustment_is_a_movement_that_resolves_and_is_listed(
    gw: WritingGateway,
) -> None:
    sku = "sku_peanut_oil_5l"
    doc = await gw.db["inventory"].find_one({"_id": f"{sku}@{STORE}"})
    # when a count corrects the level by -2
    adjusted = await data(gw.client, ADJUST, {"sku": sku, "loc": STORE, "delta": -2,
                                              "expected": doc["on_hand"]})
    movement = adjusted["adjustStock"]["movement"]["id"]
    assert movement.startswith("mov_")
    # then it is the newest at the location and for the product there, and resolves by id
    found = await data(gw.client, MOVEMENTS, {"loc": STORE, "sku": sku, "id": movement})
    assert found["location"]["movements"]["edges"][0]["node"] == {
        "id": movement, "kind": "ADJUSTMENT", "delta": -2}
    assert found["product"]["here"]["edges"][0]["node"] == {"id": movement}
    assert found["node"] == {"id": movement, "kind": "ADJUSTMENT", "sku": sku, "delta": -2,
                             "before": doc["on_hand"], "after": doc["on_hand"] - 2,
                             "reason": "count 17", "location": {"id": STORE},
                             "transfer": None}
    # and the product's list across locations is every one of its movements, newest first
    everywhere = [e["node"] for e in found["product"]["everywhere"]["edges"]]
    assert everywhere[0] == {"id": movement, "location": {"id": STORE}}
    stored = await gw.db["stock_movements"].count_documents({"sku": sku})
    assert len(everywhere) == min(stored, 100)


async def test_a_partner_sees_stock_and_movements_only_at_its_locations(
    gw: WritingGateway,
) -> None:
    # given a movement at a FreshMart store (partner B's channel, not partner A's)
    sku = "sku_peanut_oil_5l"
    movement = (await gw.db["stock_movements"].find_one(
        {"sku": sku, "location_id": STORE}, sort=[("at", -1)]))["_id"]
    theirs = await gw.gateway.key("inventory-a", "partner", PARTNER_A)
    ours = await gw.gateway.key("inventory-b", "partner", PARTNER_B)
    async with gw.gateway.client(theirs) as outsider, gw.gateway.client(ours) as insider:
        # then partner A sees neither the store, its stock, nor the movement
        hidden = await data(outsider, MOVEMENTS, {"loc": STORE, "sku": sku, "id": movement})
        assert hidden["location"] is None and hidden["node"] is None
        assert hidden["product"]["here"]["edges"] == []
        assert STORE not in {e["node"]["location"]["id"]
                             for e in hidden["product"]["everywhere"]["edges"]}
        # and partner B sees all three
        shown = await data(insider, MOVEMENTS, {"loc": STORE, "sku": sku, "id": movement})
        assert shown["node"]["id"] == movement
        assert shown["location"]["movements"]["edges"]
        assert await inventory(insider, STORE) == await expected_levels(gw, STORE)


async def order_movements(gw: WritingGateway, order_id: str) -> list[tuple[Any, ...]]:
    docs = await gw.db["stock_movements"].find({"order_id": order_id}).to_list(None)
    return sorted((m["kind"], m["sku"], m["location_id"], m["delta"], m["before"], m["after"])
                  for m in docs)


NODE = """query($id: ID!) { node(id: $id) { ... on StockMovement { kind order { id } } } }"""


async def test_an_orders_units_shipped_collected_and_returned_are_movements(
    gw: WritingGateway,
) -> None:
    # given hand cream at the flagship's warehouse and at the store that ships, none elsewhere
    cream, warehouse = "sku_hand_cream_50ml", "loc_wh_hangzhou"
    for location, on_hand in ((warehouse, 20), (STORE, 6)):
        await gw.db["inventory"].update_one({"_id": f"{cream}@{location}"}, {"$set": {
            "sku": cream, "location_id": location, "on_hand": on_hand, "reserved": 0,
            "holds": []}}, upsert=True)
    # when an online order of 3 is allocated at the warehouse, paid, shipped from there and
    # one unit returned at the store
    shipped, total = await place(gw, "life-ship", channel="ch_flagship", member="mem_00009",
                                 lines=[(cream, 3)])
    await pay(gw, shipped, total, "life-ship-pay")
    ship = await data(gw.client, SHIP, {"input": {
        "order": shipped, "location": warehouse, "carrier": "SF", "trackingNumber": "SF1",
        "idempotencyKey": "life-ship"}})
    assert ship["shipOrder"]["userErrors"] == []
    returned = await data(gw.client, RETURN, {"input": {
        "order": shipped, "location": STORE, "reason": "too small", "idempotencyKey": "life-r",
        "lines": [{"sku": cream, "quantity": 1}]}})
    assert returned["returnOrder"]["userErrors"] == []
    # then the units left the warehouse once and one came back at the store, each a movement
    assert await order_movements(gw, shipped) == [
        ("RETURN", cream, STORE, 1, 6, 7), ("SHIPMENT", cream, warehouse, -3, 20, 17)]
    # when an order the warehouse cannot serve (2 of its 17 left) goes to the store, collected
    await gw.db["inventory"].update_one({"_id": f"{cream}@{warehouse}"},
                                        {"$set": {"reserved": 15}})
    collected, total = await place(gw, "life-pickup", channel="ch_flagship",
                                   member="mem_00009", lines=[(cream, 7)])
    await pay(gw, collected, total, "life-pickup-pay")
    ready = await data(gw.client, PREPARE, {"o": collected, "k": "life-ready"})
    assert ready["preparePickup"]["userErrors"] == []
    code = ready["preparePickup"]["order"]["pickup"]["code"]
    done = await data(gw.client, COLLECT, {"o": collected, "c": code, "k": "life-collect"})
    assert done["collectOrder"]["userErrors"] == []
    # then the 7 units left the store as a pick-up, and the movement names its order
    assert await order_movements(gw, collected) == [("PICKUP", cream, STORE, -7, 7, 0)]
    pickup = await gw.db["stock_movements"].find_one({"order_id": collected})
    assert await data(gw.client, NODE, {"id": pickup["_id"]}) == {
        "node": {"kind": "PICKUP", "order": {"id": collected}}}
