"""Allocation (gateway.commerce.allocation): an order placed online without a location is
reserved whole at the first of its channel's fulfilment locations that has every line, never
oversold; offers say what is available to promise. On the wire server and the embedded store.

ch_flagship's fulfilment locations are the Hangzhou centre, then a FreshMart store that ships.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support import PARTNER_A, WritingGateway, data, fresh_gateway, gql

PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id location { id } } userErrors { field code message } } }"""
OFFER = """query($sku: ID!, $ch: ID!) { product(sku: $sku) { offer(channel: $ch) {
  listed available availableToPromise } } }"""
WH, STORE = "loc_wh_hangzhou", "loc_fm_shanghai_xuhui"
CREAM, ROLLS, RICE = "sku_hand_cream_50ml", "sku_hawthorn_rolls_250g", "sku_northeast_rice_10kg"


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "allocation"):
        yield gateway


async def set_stock(gw: WritingGateway, sku: str, location: str, on_hand: int,
                    reserved: int = 0) -> None:
    await gw.db["inventory"].update_one(
        {"_id": f"{sku}@{location}"},
        {"$set": {"sku": sku, "location_id": location, "on_hand": on_hand,
                  "reserved": reserved, "holds": []}}, upsert=True)


async def levels(gw: WritingGateway, sku: str) -> dict[str, tuple[int, int]]:
    """(on hand, reserved) of ``sku`` at the two fulfilment locations."""
    found = {}
    for location in (WH, STORE):
        doc = await gw.db["inventory"].find_one({"_id": f"{sku}@{location}"})
        found[location] = (doc["on_hand"], doc["reserved"])
    return found


def online(key: str, lines: dict[str, int], channel: str = "ch_flagship",
           member: str = "mem_00009") -> dict[str, Any]:
    return {"input": {"channel": channel, "member": member, "idempotencyKey": key,
                      "lines": [{"sku": s, "quantity": q} for s, q in lines.items()]}}


async def test_an_order_goes_whole_to_the_first_location_that_has_every_line(
    gw: WritingGateway,
) -> None:
    # given the warehouse has hand cream but no hawthorn rolls, the store both
    await set_stock(gw, CREAM, WH, 50)
    await set_stock(gw, ROLLS, WH, 0)
    await set_stock(gw, CREAM, STORE, 5, 1)
    await set_stock(gw, ROLLS, STORE, 8)
    # when an order for both is placed online
    placed = await data(gw.client, PLACE, online("alloc-1", {CREAM: 2, ROLLS: 3}))
    # then it is reserved whole at the store, which becomes its location
    assert placed["placeOrder"]["userErrors"] == []
    assert placed["placeOrder"]["order"]["location"] == {"id": STORE}
    assert await levels(gw, CREAM) == {WH: (50, 0), STORE: (5, 3)}
    assert await levels(gw, ROLLS) == {WH: (0, 0), STORE: (8, 3)}
    # and once the warehouse has both, the next order goes there, first in the channel's order
    await set_stock(gw, ROLLS, WH, 10)
    placed = await data(gw.client, PLACE, online("alloc-2", {CREAM: 2, ROLLS: 3}))
    assert placed["placeOrder"]["order"]["location"] == {"id": WH}
    assert await levels(gw, ROLLS) == {WH: (10, 3), STORE: (8, 3)}


async def test_an_order_no_location_can_serve_is_refused_and_nothing_changes(
    gw: WritingGateway,
) -> None:
    orders = await gw.db["orders"].count_documents({})
    # given 3 hand creams at each location, rolls only at the warehouse, rice only at the store
    await set_stock(gw, CREAM, WH, 3)
    await set_stock(gw, CREAM, STORE, 3)
    await set_stock(gw, ROLLS, WH, 9)
    await set_stock(gw, ROLLS, STORE, 0)
    await set_stock(gw, RICE, WH, 0)
    await set_stock(gw, RICE, STORE, 9)
    # when 5 hand creams are ordered (6 in all, but no single location has 5)
    short = await data(gw.client, PLACE, online("alloc-short", {ROLLS: 1, CREAM: 5}))
    # then the line is named, and nothing is reserved or written
    assert short["placeOrder"] == {"order": None, "userErrors": [{
        "field": "lines.1.quantity", "code": "INSUFFICIENT_STOCK",
        "message": f"Not enough {CREAM} for 5 at any fulfilment location of ch_flagship."}]}
    # when each line is somewhere but no location holds both
    split = await data(gw.client, PLACE, online("alloc-split", {ROLLS: 1, RICE: 1}))
    assert split["placeOrder"] == {"order": None, "userErrors": [{
        "field": "lines", "code": "INSUFFICIENT_STOCK",
        "message": "No single fulfilment location of ch_flagship holds every line; place "
                   "them as separate orders."}]}
    # when the shop is asked for 999 units of a tea its warehouse does not hold
    tea = await data(gw.client, PLACE, online("alloc-tea", {"sku_dianhong_black_tea_200g": 999}))
    assert [e["code"] for e in tea["placeOrder"]["userErrors"]] == ["INSUFFICIENT_STOCK"]
    assert await levels(gw, CREAM) == {WH: (3, 0), STORE: (3, 0)}
    assert await levels(gw, ROLLS) == {WH: (9, 0), STORE: (0, 0)}
    assert await gw.db["orders"].count_documents({}) == orders
    # and the keys were not spent: the same key succeeds once there is stock
    await set_stock(gw, CREAM, STORE, 5)
    again = await data(gw.client, PLACE, online("alloc-short", {ROLLS: 1, CREAM: 5}))
    assert again["placeOrder"]["userErrors"] == [{
        "field": "lines", "code": "INSUFFICIENT_STOCK",
        "message": "No single fulfilment location of ch_flagship holds every line; place "
                   "them as separate orders."}]


async def test_100_concurrent_online_orders_for_the_last_10_units(gw: WritingGateway) -> None:
    # given 10 units left across the two locations: 6 at the warehouse, 4 at the store
    await set_stock(gw, CREAM, WH, 8, 2)
    await set_stock(gw, CREAM, STORE, 5, 1)
    orders = await gw.db["orders"].count_documents({})
    # when 100 orders of one unit arrive at once
    results = await asyncio.gather(*(data(gw.client, PLACE, online(f"last-{i}", {CREAM: 1}))
                                     for i in range(100)))
    # then exactly 10 are placed, 6 at the warehouse and 4 at the store, and none oversold
    outcomes = Counter(r["placeOrder"]["userErrors"][0]["code"] if r["placeOrder"]["userErrors"]
                       else r["placeOrder"]["order"]["location"]["id"] for r in results)
    assert outcomes == {WH: 6, STORE: 4, "INSUFFICIENT_STOCK": 90}
    assert await levels(gw, CREAM) == {WH: (8, 8), STORE: (5, 5)}
    assert await gw.db["orders"].count_documents({}) == orders + 10


async def test_offers_promise_what_the_channels_locations_have(gw: WritingGateway) -> None:
    # given 7 + 3 hand creams available at the shop's two locations
    await set_stock(gw, CREAM, WH, 9, 2)
    await set_stock(gw, CREAM, STORE, 4, 1)
    offer = await data(gw.client, OFFER, {"sku": CREAM, "ch": "ch_flagship"})
    assert offer["product"]["offer"] == {"listed": True, "available": True,
                                         "availableToPromise": "10"}
    # when none is left, the offer is still listed but no longer available
    await set_stock(gw, CREAM, WH, 2, 2)
    await set_stock(gw, CREAM, STORE, 0)
    offer = await data(gw.client, OFFER, {"sku": CREAM, "ch": "ch_flagship"})
    assert offer["product"]["offer"] == {"listed": True, "available": False,
                                         "availableToPromise": "0"}
    # and a supermarket chain promises what its stores have
    stores = [loc["_id"] for loc in await gw.db["locations"].find(
        {"channel_id": "ch_freshmart"}).to_list(None)]
    expected = sum(max(0, d["on_hand"] - d["reserved"]) for d in await gw.db["inventory"].find(
        {"sku": CREAM, "location_id": {"$in": stores}}).to_list(None))
    assert expected > 0
    offer = await data(gw.client, OFFER, {"sku": CREAM, "ch": "ch_freshmart"})
    assert offer["product"]["offer"]["availableToPromise"] == str(expected)


PAGE = """query($first: Int!) { products(first: $first) { edges { node {
  offers { available availableToPromise } } } } }"""


@pytest.mark.parametrize("first", [2, 60])
async def test_a_page_of_offers_reads_availability_in_one_command(
    gw: WritingGateway, first: int,
) -> None:
    body = await gql(gw.client, PAGE, {"first": first})
    assert "errors" not in body
    # products; channels (the request's list); the stores' and outlets' own locations; and
    # the levels of every offer of the page at every channel's locations: one find each
    assert body["extensions"]["db"] == {"commands": 4, "byCollection": {
        "products": 1, "channels": 1, "locations": 1, "inventory": 1}}


async def test_a_partner_orders_from_locations_it_does_not_see(gw: WritingGateway) -> None:
    # given partner A (Malaysia and US marketplaces); Malaysia ships from the Hangzhou centre
    key = await gw.gateway.key("alloc-partner", "partner", PARTNER_A)
    await set_stock(gw, "sku_jasmine_rice_5kg", WH, 40)
    async with gw.gateway.client(key) as partner:
        # when it places an order there
        placed = await data(partner, PLACE, online("alloc-p", {"sku_jasmine_rice_5kg": 2},
                                                   channel="ch_my_market", member="mem_00003"))
    # then the units are reserved at Hangzhou, which the partner's answer does not show
    order = placed["placeOrder"]["order"]
    assert placed["placeOrder"]["userErrors"] == [] and order["location"] is None
    doc = await gw.db["orders"].find_one({"_id": order["id"]})
    assert (doc["location_id"], doc["stock"]) == (WH, "RESERVED")
    level = await gw.db["inventory"].find_one({"_id": f"sku_jasmine_rice_5kg@{WH}"})
    assert level["reserved"] == 2
