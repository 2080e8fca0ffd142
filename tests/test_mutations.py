"""placeOrder, cancelOrder and adjustStock on both stores: prices, FX snapshots, stock,
replays and validation. Each module writes to its own freshly seeded database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest

from gateway.commerce.idempotency import fingerprint
from gateway.commerce.orders import check_place_order
from tests.support import SEEDS, WritingGateway, data, fresh_gateway, gql

PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id status channel { id } location { id } member { id }
          lines { sku quantity unitPrice { minorUnits currencyCode } lineTotal { minorUnits } }
          total { amount currencyCode minorUnits } }
  userErrors { field code message } } }"""
CANCEL = """mutation($id: ID!) { cancelOrder(order: $id) { order { id status }
  userErrors { field code message } } }"""
ADJUST = """mutation($sku: ID!, $loc: ID!, $delta: Int!, $reason: String!, $expected: Int!) {
  adjustStock(sku: $sku, location: $loc, delta: $delta, reason: $reason,
              expectedOnHand: $expected) {
    stock { onHand reserved available }
    movement { sku locationId delta reason before after by }
    userErrors { field code message } } }"""

STORE = "loc_fm_shanghai_xuhui"


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "mutations"):
        yield gateway


async def set_stock(
    gw: WritingGateway, sku: str, location: str, on_hand: int, reserved: int
) -> None:
    await gw.db["inventory"].update_one(
        {"_id": f"{sku}@{location}"},
        {"$set": {"on_hand": on_hand, "reserved": reserved, "sku": sku,
                  "location_id": location}}, upsert=True)


async def stock(gw: WritingGateway, sku: str, location: str) -> tuple[int, int]:
    doc = await gw.db["inventory"].find_one({"_id": f"{sku}@{location}"})
    assert doc is not None
    return doc["on_hand"], doc["reserved"]


async def count(gw: WritingGateway, collection: str, query: dict[str, Any] | None = None) -> int:
    n: int = await gw.db[collection].count_documents(query or {})
    return n


def order_input(key: str, lines: list[tuple[str, int]], **extra: Any) -> dict[str, Any]:
    return {"input": {"channel": "ch_freshmart", "location": STORE, "member": "mem_00002",
                      "lines": [{"sku": s, "quantity": q} for s, q in lines],
                      "idempotencyKey": key, **extra}}


def price(sku: str, channel: str) -> int:
    product = next(p for p in SEEDS["products"] if p["_id"] == sku)
    offer: int = next(o["price"] for o in product["offers"] if o["channel_id"] == channel)
    return offer


async def test_place_order_prices_lines_and_reserves_stock(gw: WritingGateway) -> None:
    # given two SKUs with stock at the store
    await set_stock(gw, "sku_bok_choy_500g", STORE, 47, 9)
    await set_stock(gw, "sku_dish_soap_1_5kg", STORE, 29, 3)
    # when an order for 2 + 3 units is placed
    result = await data(gw.client, PLACE, order_input(
        "a-1", [("sku_bok_choy_500g", 2), ("sku_dish_soap_1_5kg", 3)]))
    # then prices come from the channel's offers, the total is exact and stock is reserved
    payload = result["placeOrder"]
    assert payload["userErrors"] == []
    order = payload["order"]
    p1, p2 = price("sku_bok_choy_500g", "ch_freshmart"), price("sku_dish_soap_1_5kg",
                                                                 "ch_freshmart")
    assert order["id"].startswith("ord_")
    assert {k: v for k, v in order.items() if k != "id"} == {
        "status": "PLACED", "channel": {"id": "ch_freshmart"}, "location": {"id": STORE},
        "member": {"id": "mem_00002"},
        "lines": [
            {"sku": "sku_bok_choy_500g", "quantity": 2,
             "unitPrice": {"minorUnits": str(p1), "currencyCode": "CNY"},
             "lineTotal": {"minorUnits": str(2 * p1)}},
            {"sku": "sku_dish_soap_1_5kg", "quantity": 3,
             "unitPrice": {"minorUnits": str(p2), "currencyCode": "CNY"},
             "lineTotal": {"minorUnits": str(3 * p2)}},
        ],
        "total": {"amount": str(Decimal(2 * p1 + 3 * p2).scaleb(-2)), "currencyCode": "CNY",
                  "minorUnits": str(2 * p1 + 3 * p2)},
    }
    assert await stock(gw, "sku_bok_choy_500g", STORE) == (47, 11)
    assert await stock(gw, "sku_dish_soap_1_5kg", STORE) == (29, 6)
    doc = await gw.db["orders"].find_one({"_id": order["id"]})
    assert (doc["fx_rate"], doc["total_base"], doc["paid"]) == ("1", 2 * p1 + 3 * p2, 0)


async def test_overseas_order_stores_an_fx_snapshot(gw: WritingGateway) -> None:
    # given the US marketplace (USD) and its bonded warehouse
    sku, loc = "sku_baby_wipes_6x80", "loc_wh_los_angeles_bonded"
    variables = {"input": {"channel": "ch_us_market", "location": loc, "member": "mem_00003",
                           "lines": [{"sku": sku, "quantity": 3}], "idempotencyKey": "fx-1"}}
    # when an order is placed
    result = await data(gw.client, PLACE, variables)
    # then the total is in USD and the base total uses today's rate, half-even
    order = result["placeOrder"]["order"]
    unit = price(sku, "ch_us_market")
    assert order["total"] == {"amount": str(Decimal(3 * unit).scaleb(-2)), "currencyCode": "USD",
                              "minorUnits": str(3 * unit)}
    doc = await gw.db["orders"].find_one({"_id": order["id"]})
    expected_base = int((Decimal(3 * unit) * Decimal("7.1240")).quantize(
        Decimal(1), rounding=ROUND_HALF_EVEN))
    assert (doc["currency"], doc["fx_rate"], doc["total_base"]) == ("USD", "7.1240",
                                                                     expected_base)


async def test_a_short_later_line_releases_earlier_reservations(gw: WritingGateway) -> None:
    # given enough of the first SKU but only 1 unit of the second
    await set_stock(gw, "sku_aloe_body_wash_1l", STORE, 40, 8)
    await set_stock(gw, "sku_baby_wipes_6x80", STORE, 9, 8)
    orders_before = await count(gw, "orders")
    # when an order wants 2 of the second
    result = await data(gw.client, PLACE, order_input(
        "short-1", [("sku_aloe_body_wash_1l", 5), ("sku_baby_wipes_6x80", 2)]))
    # then nothing is reserved or written and the error names the SKU
    assert result["placeOrder"] == {"order": None, "userErrors": [{
        "field": "lines.1.quantity", "code": "INSUFFICIENT_STOCK",
        "message": f"Not enough sku_baby_wipes_6x80 at {STORE} for 2."}]}
    assert await stock(gw, "sku_aloe_body_wash_1l", STORE) == (40, 8)
    assert await stock(gw, "sku_baby_wipes_6x80", STORE) == (9, 8)
    assert await count(gw, "orders") == orders_before
    assert await count(gw, "idempotency", {"_id": "admin:placeOrder:short-1"}) == 0


async def test_cancel_returns_the_stock(gw: WritingGateway) -> None:
    # given a placed order of 4 units
    await set_stock(gw, "sku_cherry_tomatoes_1kg", STORE, 71, 0)
    placed = await data(gw.client, PLACE, order_input(
        "cancel-1", [("sku_cherry_tomatoes_1kg", 4)]))
    order_id = placed["placeOrder"]["order"]["id"]
    assert await stock(gw, "sku_cherry_tomatoes_1kg", STORE) == (71, 4)
    # when it is cancelled, twice
    first = await data(gw.client, CANCEL, {"id": order_id})
    second = await data(gw.client, CANCEL, {"id": order_id})
    # then the reservation is released once and both answers agree
    expected = {"order": {"id": order_id, "status": "CANCELLED"}, "userErrors": []}
    assert first["cancelOrder"] == expected
    assert second["cancelOrder"] == expected
    assert await stock(gw, "sku_cherry_tomatoes_1kg", STORE) == (71, 0)


async def test_cancel_unknown_or_completed_order(gw: WritingGateway) -> None:
    completed = next(o for o in SEEDS["orders"] if o["status"] == "COMPLETED")
    unknown = await data(gw.client, CANCEL, {"id": "ord_nope"})
    done = await data(gw.client, CANCEL, {"id": completed["_id"]})
    assert unknown["cancelOrder"] == {"order": None, "userErrors": [
        {"field": "order", "code": "NOT_FOUND", "message": "Unknown order ord_nope."}]}
    assert done["cancelOrder"] == {"order": None, "userErrors": [
        {"field": "order", "code": "CONFLICT",
         "message": f"Order {completed['_id']} is COMPLETED and can no longer be cancelled."}]}


async def test_replay_returns_the_same_payload_and_writes_nothing(gw: WritingGateway) -> None:
    # given a placed order
    await set_stock(gw, "sku_buckwheat_noodles_1kg", STORE, 68, 17)
    variables = order_input("replay-1", [("sku_buckwheat_noodles_1kg", 1)])
    first = await data(gw.client, PLACE, variables)
    orders, keys = await count(gw, "orders"), await count(gw, "idempotency")
    # when the same request is sent again
    again = await data(gw.client, PLACE, variables)
    # then the payload is identical and nothing was written
    assert again == first
    assert (await count(gw, "orders"), await count(gw, "idempotency")) == (orders, keys)
    assert await stock(gw, "sku_buckwheat_noodles_1kg", STORE) == (68, 18)


async def test_same_key_with_another_input_is_refused(gw: WritingGateway) -> None:
    await data(gw.client, PLACE, order_input("reuse-1", [("sku_bok_choy_500g", 1)]))
    orders = await count(gw, "orders")
    result = await data(gw.client, PLACE, order_input("reuse-1", [("sku_bok_choy_500g", 2)]))
    assert result["placeOrder"] == {"order": None, "userErrors": [{
        "field": "idempotencyKey", "code": "IDEMPOTENCY_KEY_REUSED",
        "message": "This idempotency key was used with a different input."}]}
    assert await count(gw, "orders") == orders


@pytest.mark.parametrize(("change", "error"), [
    ({"channel": "ch_nowhere"},
     {"field": "channel", "code": "NOT_FOUND", "message": "Unknown channel ch_nowhere."}),
    ({"location": "loc_nowhere"},
     {"field": "location", "code": "NOT_FOUND", "message": "Unknown location loc_nowhere."}),
    ({"location": "loc_vl_anji"},
     {"field": "location", "code": "INVALID",
      "message": "loc_vl_anji is not a location of ch_freshmart."}),
    ({"location": None},
     {"field": "location", "code": "INVALID",
      "message": "Orders in ch_freshmart name the store or outlet."}),
    ({"member": "mem_nobody"},
     {"field": "member", "code": "NOT_FOUND", "message": "Unknown member mem_nobody."}),
    ({"member": None, "identity": {"channel": "ch_flagship", "externalId": "nobody"}},
     {"field": "identity", "code": "NOT_FOUND", "message": "No member holds this identity."}),
    ({"identity": {"channel": "ch_flagship", "externalId": "x"}},
     {"field": "member", "code": "INVALID", "message": "Give member or identity, not both."}),
    ({"lines": [{"sku": "sku_nothing", "quantity": 1}]},
     {"field": "lines.0.sku", "code": "NOT_FOUND", "message": "Unknown SKU sku_nothing."}),
    ({"lines": [{"sku": "sku_baby_rice_cereal_250g", "quantity": 1}]},
     {"field": "lines.0.sku", "code": "INVALID",
      "message": "sku_baby_rice_cereal_250g is not for sale in ch_freshmart."}),
    ({"lines": [{"sku": "sku_bok_choy_500g", "quantity": 0}]},
     {"field": "lines.0.quantity", "code": "INVALID",
      "message": "quantity must be at least 1, got 0."}),
    ({"lines": [{"sku": "sku_bok_choy_500g", "quantity": 1000}]},
     {"field": "lines.0.quantity", "code": "LIMIT_EXCEEDED",
      "message": "quantity may be at most 999 per line (OMNIGW_MAX_LINE_QUANTITY), got 1000."}),
    ({"lines": []},
     {"field": "lines", "code": "INVALID", "message": "An order has 1 to 50 lines."}),
    ({"idempotencyKey": ""},
     {"field": "idempotencyKey", "code": "INVALID",
      "message": "idempotencyKey must be 1 to 255 printable characters."}),
    ({"idempotencyKey": "k" * 256},
     {"field": "idempotencyKey", "code": "INVALID",
      "message": "idempotencyKey must be 1 to 255 printable characters."}),
])
async def test_invalid_orders_are_user_errors(
    gw: WritingGateway, change: dict[str, Any], error: dict[str, str]
) -> None:
    # given an otherwise valid order
    variables = order_input("invalid-1", [("sku_bok_choy_500g", 1)])
    variables["input"].update(change)
    orders = await count(gw, "orders")
    # when it is placed
    result = await data(gw.client, PLACE, variables)
    # then it is refused with one typed error and nothing is written
    assert result["placeOrder"] == {"order": None, "userErrors": [error]}
    assert await count(gw, "orders") == orders


LINK = """mutation($m: ID!, $c: ID!, $e: String!) { linkIdentity(member: $m, channel: $c,
  externalId: $e, source: "desk") { identity { externalId } userErrors { code } } }"""
IMPORT = """mutation($c: ID!, $l: ID, $orders: [ImportOrderInput!]!) {
  importOrders(channel: $c, location: $l, orders: $orders) { created userErrors { code } } }"""
ROW = {"externalId": "malformed-1", "currency": "CNY", "placedAt": "2026-05-01T10:00:00Z",
       "paymentMethod": "CASH", "lines": [{"sku": "sku_bok_choy_500g", "quantity": 1,
                                           "unitPrice": "100"}]}


@pytest.mark.parametrize(("query", "variables", "field", "message"), [
    (PLACE, {"input": {**order_input("m-1", [("sku_bok_choy_500g", 1)])["input"],
                       "channel": "bad id"}},
     "channel", "Malformed channel 'bad id': expected an id starting with 'ch_'."),
    (PLACE, order_input("m-2", [('{"$gt": ""}', 1)]),
     "lines.0.sku", "Malformed lines.0.sku '{\"$gt\": \"\"}': expected an id starting with "
     "'sku_'."),
    (CANCEL, {"id": "mem_00002"},
     "order", "Malformed order 'mem_00002': expected an id starting with 'ord_'."),
    (LINK, {"m": "mem_00002", "c": "ch_freshmart", "e": "card$1"},
     "externalId", "Malformed externalId: 1 to 128 printable characters, no '$'."),
    (IMPORT, {"c": "ch_freshmart", "l": STORE, "orders": [
        ROW, {**ROW, "externalId": "malformed-2", "lines": [{**ROW["lines"][0], "sku": "x"}]}]},
     "orders.1.lines.0.sku", "Malformed orders.1.lines.0.sku 'x': expected an id starting "
     "with 'sku_'."),
])
async def test_a_malformed_id_in_a_mutation_is_bad_user_input_as_in_a_query(
    gw: WritingGateway, query: str, variables: dict[str, Any], field: str, message: str
) -> None:
    # given a mutation with one malformed id (the rest well formed)
    before = {c: await count(gw, c) for c in ("orders", "identities", "idempotency")}
    # when it is sent
    body = await gql(gw.client, query, variables)
    # then it fails as a query's argument would, naming the field, and nothing is written
    root = query.split("{", 2)[1].split("(")[0].strip()  # the mutation field
    assert body["data"] is None
    assert body["errors"] == [{"message": message, "locations": body["errors"][0]["locations"],
                               "path": [root],
                               "extensions": {"code": "BAD_USER_INPUT", "field": field}}]
    assert {c: await count(gw, c) for c in before} == before


async def test_adjust_stock_is_a_compare_and_set_with_an_audit_entry(gw: WritingGateway) -> None:
    # given 29 on hand, 3 reserved
    sku = "sku_dianhong_black_tea_200g"
    await set_stock(gw, sku, STORE, 29, 3)
    variables = {"sku": sku, "loc": STORE, "delta": 12, "reason": "delivery 4411",
                 "expected": 29}
    # when a delivery of 12 is booked, then booked again with the same expectation
    first = await data(gw.client, ADJUST, variables)
    again = await data(gw.client, ADJUST, variables)
    # then the first applies and writes an audit entry; the retry sees the moved level
    assert first["adjustStock"] == {
        "stock": {"onHand": 41, "reserved": 3, "available": 38},
        "movement": {"sku": sku, "locationId": STORE, "delta": 12, "reason": "delivery 4411",
                     "before": 29, "after": 41, "by": "admin"},
        "userErrors": []}
    assert again["adjustStock"] == {"stock": None, "movement": None, "userErrors": [{
        "field": "expectedOnHand", "code": "STOCK_CHANGED",
        "message": f"On-hand stock of {sku} at {STORE} is 41, not 29."}]}
    assert await count(gw, "stock_movements", {"sku": sku}) == 1
    # and on hand never drops below what is reserved
    below = await data(gw.client, ADJUST, {**variables, "delta": -40, "expected": 41})
    assert below["adjustStock"]["userErrors"] == [{
        "field": "delta", "code": "INVALID",
        "message": "On-hand cannot go below the 3 units reserved."}]
    assert await stock(gw, sku, STORE) == (41, 3)


async def test_idempotency_keys_are_kept_at_least_24_hours(gw: WritingGateway) -> None:
    indexes = await gw.db["idempotency"].index_information()
    ttl = [spec["expireAfterSeconds"] for spec in indexes.values()
           if "expireAfterSeconds" in spec]
    assert ttl == [48 * 3600]


async def stale_claim(
    gw: WritingGateway, key: str, variables: dict[str, Any], result_id: str
) -> None:
    """A PENDING claim left two minutes ago by a request that died."""
    i = variables["input"]
    order = check_place_order(
        channel=i["channel"], location=i["location"], member=i["member"], identity=None,
        lines=[(x["sku"], x["quantity"]) for x in i["lines"]], idempotency_key=key,
        max_quantity=999)
    old = datetime.now(UTC) - timedelta(minutes=2)
    await gw.db["idempotency"].insert_one({
        "_id": f"admin:placeOrder:{key}", "fingerprint": fingerprint(order.fingerprint_input()),
        "status": "PENDING", "result_id": result_id, "token": "dead", "created_at": old,
        "claimed_at": old})


async def test_a_stale_claim_is_taken_over(gw: WritingGateway) -> None:
    # given a claim whose holder died before writing anything
    await set_stock(gw, "sku_bok_choy_500g", STORE, 47, 9)
    variables = order_input("stale-1", [("sku_bok_choy_500g", 1)])
    await stale_claim(gw, "stale-1", variables, "ord_stale1")
    # when the client retries
    result = await data(gw.client, PLACE, variables)
    # then the order is written under the claim's id, once
    assert result["placeOrder"]["order"]["id"] == "ord_stale1"
    assert await stock(gw, "sku_bok_choy_500g", STORE) == (47, 10)
    claim = await gw.db["idempotency"].find_one({"_id": "admin:placeOrder:stale-1"})
    assert (claim["status"], claim["result_id"]) == ("DONE", "ord_stale1")


async def test_a_stale_claim_whose_order_was_written_is_completed(gw: WritingGateway) -> None:
    # given a claim whose holder wrote the order, then died before storing the result
    await set_stock(gw, "sku_bok_choy_500g", STORE, 47, 9)
    variables = order_input("stale-2", [("sku_bok_choy_500g", 1)])
    first = await data(gw.client, PLACE, order_input("stale-2-source",
                                                     [("sku_bok_choy_500g", 1)]))
    written = first["placeOrder"]["order"]["id"]
    await stale_claim(gw, "stale-2", variables, written)
    orders = await count(gw, "orders")
    # when the client retries
    result = await data(gw.client, PLACE, variables)
    # then that order is returned and nothing more is written or reserved
    assert result["placeOrder"]["order"]["id"] == written
    assert await count(gw, "orders") == orders
    assert await stock(gw, "sku_bok_choy_500g", STORE) == (47, 10)
