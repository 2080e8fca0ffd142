"""Each root field against the wire server, checked against the seed files."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

from gateway.money import to_decimal
from tests.support import SEEDS, data, newest_first, page_through

CHANNELS = """{ channels { id kind currency } }"""


async def test_channels_cover_four_kinds_and_three_currencies(client: httpx.AsyncClient) -> None:
    result = await data(client, CHANNELS)
    expected = [
        {"id": c["_id"], "kind": c["kind"], "currency": c["currency"]}
        for c in sorted(SEEDS["channels"], key=lambda c: c["_id"])
    ]
    assert result["channels"] == expected
    assert len(expected) >= 6
    assert {c["kind"] for c in expected} == {"ONLINE_SHOP", "SUPERMARKET", "RURAL_OUTLET",
                                             "OVERSEAS"}
    assert len({c["currency"] for c in expected if c["kind"] == "OVERSEAS"}) >= 3


CHANNEL = """query($id: ID!) { channel(id: $id) { id name timeZone country
  locations { id kind city channel { id } } } }"""


async def test_channel_with_locations(client: httpx.AsyncClient) -> None:
    channel = next(c for c in SEEDS["channels"] if c["kind"] == "SUPERMARKET")
    result = await data(client, CHANNEL, {"id": channel["_id"]})
    locations = sorted(
        (loc for loc in SEEDS["locations"] if loc["channel_id"] == channel["_id"]),
        key=lambda loc: loc["_id"],
    )
    assert result["channel"] == {
        "id": channel["_id"],
        "name": channel["name"],
        "timeZone": channel["time_zone"],
        "country": channel["country"],
        "locations": [
            {"id": loc["_id"], "kind": loc["kind"], "city": loc["city"],
             "channel": {"id": channel["_id"]}}
            for loc in locations
        ],
    }
    assert len(locations) >= 3


LOCATION = """query($id: ID!) { location(id: $id) { id name kind timeZone channel { kind } } }"""


async def test_location_and_unknown_location(client: httpx.AsyncClient) -> None:
    loc = next(loc for loc in SEEDS["locations"] if loc["kind"] == "OUTLET")
    result = await data(client, LOCATION, {"id": loc["_id"]})
    assert result["location"] == {"id": loc["_id"], "name": loc["name"], "kind": "OUTLET",
                                  "timeZone": loc["time_zone"], "channel": {"kind": "RURAL_OUTLET"}}
    assert await data(client, LOCATION, {"id": "loc_nowhere"}) == {"location": None}


PRODUCT = """query($sku: ID!, $channel: ID!, $location: ID!) { product(sku: $sku) {
  sku name brand category
  offers { channel { id } price { amount currencyCode minorUnits } available }
  offer(channel: $channel) { price { minorUnits } }
  stock(location: $location) { onHand reserved available location { id } } } }"""


async def test_product_offers_and_stock(client: httpx.AsyncClient) -> None:
    stock = SEEDS["inventory"][0]
    product = next(p for p in SEEDS["products"] if p["_id"] == stock["sku"])
    offer = product["offers"][0]
    result = await data(client, PRODUCT, {"sku": product["_id"], "channel": offer["channel_id"],
                                          "location": stock["location_id"]})
    assert result["product"] == {
        "sku": product["_id"],
        "name": product["name"],
        "brand": product["brand"],
        "category": product["category"],
        "offers": [
            {
                "channel": {"id": o["channel_id"]},
                "price": {"amount": str(to_decimal(o["price"], o["currency"])),
                          "currencyCode": o["currency"], "minorUnits": str(o["price"])},
                "available": o["available"],
            }
            for o in product["offers"]
        ],
        "offer": {"price": {"minorUnits": str(offer["price"])}},
        "stock": {"onHand": stock["on_hand"], "reserved": stock["reserved"],
                  "available": stock["on_hand"] - stock["reserved"],
                  "location": {"id": stock["location_id"]}},
    }


async def test_product_offer_in_unlisted_channel_is_null(client: httpx.AsyncClient) -> None:
    all_channels = {c["_id"] for c in SEEDS["channels"]}
    product = next(p for p in SEEDS["products"]
                   if all_channels - {o["channel_id"] for o in p["offers"]})
    missing = sorted(all_channels - {o["channel_id"] for o in product["offers"]})[0]
    query = """query($sku: ID!, $ch: ID!) { product(sku: $sku) { offer(channel: $ch) {
      available } } }"""
    assert await data(client, query, {"sku": product["_id"], "ch": missing}) == {
        "product": {"offer": None}
    }


PRODUCTS = """query($first: Int!, $after: String, $filter: ProductFilter) {
  products(first: $first, after: $after, filter: $filter) {
    edges { cursor node { sku } } pageInfo { hasNextPage endCursor } } }"""


async def test_products_page_through_without_gaps_or_repeats(client: httpx.AsyncClient) -> None:
    skus = await page_through(client, PRODUCTS, "products", "sku", {}, first=7)
    assert skus == sorted(p["_id"] for p in SEEDS["products"])


async def test_products_filters(client: httpx.AsyncClient) -> None:
    category = SEEDS["products"][0]["category"]
    brand = SEEDS["products"][0]["brand"]
    channel = "ch_us_market"
    for flt, keep in [
        ({"category": category}, lambda p: p["category"] == category),
        ({"brand": brand}, lambda p: p["brand"] == brand),
        ({"channel": channel}, lambda p: channel in {o["channel_id"] for o in p["offers"]}),
    ]:
        skus = await page_through(client, PRODUCTS, "products", "sku", {"filter": flt}, first=100)
        assert skus == sorted(p["_id"] for p in SEEDS["products"] if keep(p)), flt
        assert skus


MEMBER = """query($id: ID!) { member(id: $id) { id name phone email tier points joinedAt
  homeChannel { id } identities { channel { id } externalId linkedAt source } } }"""


def seed_member(member_id: str) -> dict[str, Any]:
    return next(m for m in SEEDS["members"] if m["_id"] == member_id)


def iso(value: Any) -> str:
    return str(value.isoformat())


async def test_member_with_identities(client: httpx.AsyncClient) -> None:
    member = SEEDS["members"][0]
    identities = sorted(
        (i for i in SEEDS["identities"] if i["member_id"] == member["_id"]),
        key=lambda i: (i["channel_id"], i["_id"]),
    )
    result = await data(client, MEMBER, {"id": member["_id"]})
    assert result["member"] == {
        "id": member["_id"], "name": member["name"], "phone": member["phone"],
        "email": member["email"], "tier": member["tier"], "points": str(member["points"]),
        "joinedAt": iso(member["joined_at"]), "homeChannel": {"id": member["home_channel_id"]},
        "identities": [
            {"channel": {"id": i["channel_id"]}, "externalId": i["external_id"],
             "linkedAt": iso(i["linked_at"]), "source": i["source"]}
            for i in identities
        ],
    }


BY_IDENTITY = """query($ch: ID!, $ext: String!) { memberByIdentity(channel: $ch, externalId: $ext)
  { id } }"""


async def test_member_by_identity(client: httpx.AsyncClient) -> None:
    identity = SEEDS["identities"][5]
    result = await data(client, BY_IDENTITY, {"ch": identity["channel_id"],
                                              "ext": identity["external_id"]})
    assert result == {"memberByIdentity": {"id": identity["member_id"]}}
    other = next(c["_id"] for c in SEEDS["channels"] if c["_id"] != identity["channel_id"])
    assert await data(client, BY_IDENTITY, {"ch": other, "ext": identity["external_id"]}) == {
        "memberByIdentity": None
    }


MEMBERS = """query($first: Int!, $after: String, $filter: MemberFilter) {
  members(first: $first, after: $after, filter: $filter) {
    edges { node { id } } pageInfo { hasNextPage endCursor } } }"""


async def test_members_page_through_and_filters(client: httpx.AsyncClient) -> None:
    assert await page_through(client, MEMBERS, "members", "id", {}, first=9) == sorted(
        m["_id"] for m in SEEDS["members"]
    )
    tier = SEEDS["members"][0]["tier"]
    ids = await page_through(client, MEMBERS, "members", "id", {"filter": {"tier": tier}}, 100)
    assert ids == sorted(m["_id"] for m in SEEDS["members"] if m["tier"] == tier)
    home = await page_through(client, MEMBERS, "members", "id",
                              {"filter": {"homeChannel": "ch_freshmart"}}, 100)
    assert home == sorted(m["_id"] for m in SEEDS["members"]
                          if m["home_channel_id"] == "ch_freshmart")
    holders = await page_through(client, MEMBERS, "members", "id",
                                 {"filter": {"channel": "ch_us_market"}}, 100)
    assert holders == sorted({i["member_id"] for i in SEEDS["identities"]
                              if i["channel_id"] == "ch_us_market"})
    assert home and holders


ORDER = """query($id: ID!) { order(id: $id) { id status placedAt member { id } channel { id }
  location { id } total { amount currencyCode minorUnits }
  lines { sku quantity unitPrice { minorUnits } lineTotal { minorUnits } product { name } }
  payments { id method amount { minorUnits currencyCode } status paidAt order { id } } } }"""


async def test_order_with_lines_products_and_payments(client: httpx.AsyncClient) -> None:
    paid = Counter(p["order_id"] for p in SEEDS["payments"])
    order = next(o for o in SEEDS["orders"] if paid[o["_id"]] == 2)
    products = {p["_id"]: p for p in SEEDS["products"]}
    payments = sorted((p for p in SEEDS["payments"] if p["order_id"] == order["_id"]),
                      key=lambda p: (p["paid_at"], p["_id"]))
    result = await data(client, ORDER, {"id": order["_id"]})
    assert result["order"] == {
        "id": order["_id"], "status": order["status"], "placedAt": iso(order["placed_at"]),
        "member": {"id": order["member_id"]}, "channel": {"id": order["channel_id"]},
        "location": {"id": order["location_id"]} if order["location_id"] else None,
        "total": {"amount": str(to_decimal(order["total"], order["currency"])),
                  "currencyCode": order["currency"], "minorUnits": str(order["total"])},
        "lines": [
            {"sku": line["sku"], "quantity": line["quantity"],
             "unitPrice": {"minorUnits": str(line["unit_price"])},
             "lineTotal": {"minorUnits": str(line["unit_price"] * line["quantity"])},
             "product": {"name": products[line["sku"]]["name"]}}
            for line in order["lines"]
        ],
        "payments": [
            {"id": p["_id"], "method": p["method"],
             "amount": {"minorUnits": str(p["amount"]), "currencyCode": p["currency"]},
             "status": p["status"], "paidAt": iso(p["paid_at"]), "order": {"id": order["_id"]}}
            for p in payments
        ],
    }
    assert sum(p["amount"] for p in payments) == order["total"]


ORDERS = """query($first: Int!, $after: String, $filter: OrderFilter) {
  orders(first: $first, after: $after, filter: $filter) {
    edges { node { id } } pageInfo { hasNextPage endCursor } } }"""


async def test_orders_page_through_whole_list(client: httpx.AsyncClient) -> None:
    ids = await page_through(client, ORDERS, "orders", "id", {}, first=100)
    assert ids == newest_first(SEEDS["orders"], "placed_at")


async def test_orders_filters(client: httpx.AsyncClient) -> None:
    member = SEEDS["orders"][0]["member_id"]
    location = next(o["location_id"] for o in SEEDS["orders"] if o["location_id"])
    since, until = "2026-03-01T00:00:00+00:00", "2026-04-01T00:00:00+08:00"
    cases = [
        ({"channels": ["ch_villagelink", "ch_us_market"]},
         lambda o: o["channel_id"] in {"ch_villagelink", "ch_us_market"}),
        ({"member": member}, lambda o: o["member_id"] == member),
        ({"location": location}, lambda o: o["location_id"] == location),
        ({"statuses": ["CANCELLED", "PLACED"]}, lambda o: o["status"] in {"CANCELLED", "PLACED"}),
        ({"since": since, "until": until},
         lambda o: "2026-03-01" <= iso(o["placed_at"]) < "2026-03-31T16:00:00"),
    ]
    for flt, keep in cases:
        ids = await page_through(client, ORDERS, "orders", "id", {"filter": flt}, first=100)
        expected = newest_first([o for o in SEEDS["orders"] if keep(o)], "placed_at")
        assert ids == expected, flt
        assert expected


VISITS = """query($first: Int!, $after: String, $filter: VisitFilter) {
  visits(first: $first, after: $after, filter: $filter) {
    edges { node { id kind source at member { id } location { id } } }
    pageInfo { hasNextPage endCursor } } }"""


async def test_visits_filters_and_paging(client: httpx.AsyncClient) -> None:
    location = next(v["location_id"] for v in SEEDS["visits"] if v["location_id"])
    cases = [
        ({"kinds": ["LIVESTREAM_VIEW"]}, lambda v: v["kind"] == "LIVESTREAM_VIEW"),
        ({"location": location}, lambda v: v["location_id"] == location),
        ({"channels": ["ch_freshmart"], "since": "2026-06-01T00:00:00Z"},
         lambda v: v["channel_id"] == "ch_freshmart" and iso(v["at"]) >= "2026-06-01"),
    ]
    for flt, keep in cases:
        ids = await page_through(client, VISITS, "visits", "id", {"filter": flt}, first=100)
        expected = newest_first([v for v in SEEDS["visits"] if keep(v)], "at")
        assert ids == expected, flt
        assert expected


async def test_anonymous_visit_has_no_member(client: httpx.AsyncClient) -> None:
    visit = next(v for v in SEEDS["visits"] if v["member_id"] is None)
    query = """query($id: ID!) { node(id: $id) { id ... on Visit { member { id } kind } } }"""
    assert await data(client, query, {"id": visit["_id"]}) == {
        "node": {"id": visit["_id"], "member": None, "kind": visit["kind"]}
    }


NODE = """query($id: ID!) { node(id: $id) { __typename id } }"""


async def test_node_dispatches_on_the_id_prefix(client: httpx.AsyncClient) -> None:
    samples = {
        "Channel": SEEDS["channels"][0]["_id"], "Location": SEEDS["locations"][0]["_id"],
        "Product": SEEDS["products"][0]["_id"], "Member": SEEDS["members"][0]["_id"],
        "Order": SEEDS["orders"][0]["_id"], "Payment": SEEDS["payments"][0]["_id"],
        "Visit": SEEDS["visits"][0]["_id"],
    }
    for typename, id_ in samples.items():
        assert await data(client, NODE, {"id": id_}) == {"node": {"__typename": typename,
                                                                  "id": id_}}
    assert await data(client, NODE, {"id": "ord_9999999"}) == {"node": None}
