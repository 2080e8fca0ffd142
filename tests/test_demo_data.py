"""The demo-data generator: deterministic, consistent, and in step with the committed seeds."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.database import seeding
from gateway.demo import generator, promotions

ROOT = Path(__file__).resolve().parent.parent
Data = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def data() -> Data:
    return generator.generate(1)


def by_id(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {doc["_id"]: doc for doc in docs}


def to_base(amount: int, rate: str) -> int:
    return int((amount * Decimal(rate)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def test_generate_is_deterministic(data: Data) -> None:
    assert generator.generate(1) == data
    assert generator.generate(1, seed=7) != data


def test_committed_seed_files_equal_generate(data: Data) -> None:
    assert seeding.read_seed_files(ROOT / "seeds") == data


def test_seed_files_round_trip(tmp_path: Path, data: Data) -> None:
    seeding.write_seed_files(tmp_path, data)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{name}.json" for name in seeding.COLLECTIONS)
    text = (tmp_path / "orders.json").read_text(encoding="utf-8")
    assert text.count("\n") == len(data["orders"]) + 2  # "[", one line per document, "]"
    assert '{"$date": "2026-' in text
    assert seeding.read_seed_files(tmp_path) == data


def test_collections_in_load_order(data: Data) -> None:
    assert seeding.COLLECTIONS == (
        "channels", "locations", "fx_rates", "products", "inventory",
        "members", "identities", "orders", "payments", "visits", "order_events", "refunds",
        "returns", "transfers", "stock_movements",
        "member_keys", "consents", "segments", "fx_history", "campaigns", "coupons",
        "coupon_redemptions",
    )
    assert tuple(data) == seeding.COLLECTIONS


def test_minimum_counts(data: Data) -> None:
    counts = {name: len(docs) for name, docs in data.items()}
    assert counts["channels"] == 7
    assert counts["products"] >= 40
    assert counts["members"] == 60 + promotions.NEW_MEMBERS
    assert counts["orders"] >= 1200
    assert counts["visits"] >= 1800
    assert counts["payments"] > 0 and counts["identities"] > 0 and counts["inventory"] > 0
    kinds = Counter(c["kind"] for c in data["channels"])
    assert kinds == {"ONLINE_SHOP": 2, "SUPERMARKET": 1, "RURAL_OUTLET": 1, "OVERSEAS": 3}
    locations = Counter(loc["kind"] for loc in data["locations"])
    assert locations == {"STORE": 4, "OUTLET": 6, "WAREHOUSE": 3}


def test_ids_sorted_unique_and_prefixed(data: Data) -> None:
    prefixes = {"channels": "ch_", "locations": "loc_", "products": "sku_", "members": "mem_",
                "orders": "ord_", "payments": "pay_", "visits": "vis_", "consents": "cns_",
                "segments": "seg_", "member_keys": "phone:", "transfers": "trf_",
                "stock_movements": "mov_"}
    for name, docs in data.items():
        ids = [doc["_id"] for doc in docs]
        assert ids == sorted(ids), name
        assert len(set(ids)) == len(ids), name
        if name in prefixes:
            assert all(i.startswith(prefixes[name]) for i in ids), name


def test_times_are_utc_whole_seconds_within_the_period(data: Data) -> None:
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
    fields = {"members": "joined_at", "identities": "linked_at", "orders": "placed_at",
              "payments": "paid_at", "visits": "at", "transfers": "created_at",
              "stock_movements": "at"}
    for name, field in fields.items():
        for doc in data[name]:
            at = doc[field]
            assert at.utcoffset() is not None and at.utcoffset().total_seconds() == 0
            assert at.microsecond == 0 and start <= at < end, (name, doc["_id"])


def test_referential_integrity(data: Data) -> None:
    channels = by_id(data["channels"])
    locations = by_id(data["locations"])
    products = by_id(data["products"])
    members = by_id(data["members"])
    orders = by_id(data["orders"])
    for loc in data["locations"]:
        assert loc["channel_id"] in channels
    for product in data["products"]:
        assert product["offers"]
        for offer in product["offers"]:
            assert offer["channel_id"] in channels
    for item in data["inventory"]:
        assert item["sku"] in products and item["location_id"] in locations
        assert item["_id"] == f"{item['sku']}@{item['location_id']}"
        assert 0 <= item["reserved"] <= item["on_hand"]
        served = {locations[item["location_id"]]["channel_id"]} | {
            c["_id"] for c in data["channels"]
            if item["location_id"] in c.get("fulfilment_location_ids", [])}
        assert any(o["channel_id"] in served for o in products[item["sku"]]["offers"])
    for member in data["members"]:
        assert member["home_channel_id"] in channels
    for identity in data["identities"]:
        assert identity["member_id"] in members and identity["channel_id"] in channels
    for order in data["orders"]:
        assert order["member_id"] in members and order["channel_id"] in channels
        assert order["placed_at"] >= members[order["member_id"]]["joined_at"]
        kind = channels[order["channel_id"]]["kind"]
        if kind in ("SUPERMARKET", "RURAL_OUTLET"):
            location = locations[order["location_id"]]
            assert location["kind"] in ("STORE", "OUTLET")
        elif order["location_id"] is not None:
            location = locations[order["location_id"]]
            assert location["kind"] == "WAREHOUSE"
        if order["location_id"] is not None:
            assert location["channel_id"] == order["channel_id"]
        for line in order["lines"]:
            assert line["sku"] in products
    for payment in data["payments"]:
        order = orders[payment["order_id"]]
        assert payment["member_id"] == order["member_id"] in members
        assert payment["channel_id"] == order["channel_id"]
        assert payment["paid_at"] > order["placed_at"]
    for doc in data["order_events"] + data["refunds"] + data["returns"]:
        order = orders[doc["order_id"]]
        assert (doc["member_id"], doc["channel_id"]) == (order["member_id"], order["channel_id"])
        assert doc["at"] >= order["placed_at"]
    for visit in data["visits"]:
        assert visit["member_id"] is None or visit["member_id"] in members
        assert visit["channel_id"] in channels
        physical = channels[visit["channel_id"]]["kind"] in ("SUPERMARKET", "RURAL_OUTLET")
        assert (visit["kind"] == "STORE_VISIT") == physical
        if physical:
            assert locations[visit["location_id"]]["channel_id"] == visit["channel_id"]
        else:
            assert visit["location_id"] is None


def test_money_invariants(data: Data) -> None:
    currency = {c["_id"]: c["currency"] for c in data["channels"]}
    rates = {fx["currency"]: fx["rate"] for fx in data["fx_rates"]}
    assert rates["CNY"] == "1" and set(rates) == set(currency.values())
    offers = {(p["_id"], o["channel_id"]): o for p in data["products"] for o in p["offers"]}
    for (_, channel_id), offer in offers.items():
        assert isinstance(offer["price"], int) and offer["price"] > 0
        assert offer["currency"] == currency[channel_id]
    paid: Counter[str] = Counter()
    for payment in data["payments"]:
        assert isinstance(payment["amount"], int) and payment["amount"] > 0
        paid[payment["order_id"]] += payment["amount"]
    for order in data["orders"]:
        assert order["currency"] == currency[order["channel_id"]]
        assert 1 <= len(order["lines"]) <= 5
        assert len({line["sku"] for line in order["lines"]}) == len(order["lines"])
        for line in order["lines"]:
            offer = offers[(line["sku"], order["channel_id"])]
            assert offer["available"] and line["unit_price"] == offer["price"]
            assert isinstance(line["quantity"], int) and line["quantity"] >= 1
        subtotal = sum(ln["quantity"] * ln["unit_price"] for ln in order["lines"])
        assert order.get("subtotal", subtotal) == subtotal
        assert order["total"] == subtotal - sum(ln.get("discount", 0) for ln in order["lines"])
        assert order.get("discount", 0) == subtotal - order["total"]
        assert order["fx_rate"] == rates[order["currency"]]
        assert order["total_base"] == to_base(order["total"], order["fx_rate"])
        assert paid[order["_id"]] <= order["total"]
        if order["status"] == "PLACED":
            assert paid[order["_id"]] == 0
        elif order["status"] == "CANCELLED":  # never paid, or paid and refunded in full
            assert paid[order["_id"]] in (0, order.get("refunded"))
        else:
            assert paid[order["_id"]] == order["total"]
    for payment in data["payments"]:
        assert payment["currency"] == currency[payment["channel_id"]]
        assert payment["fx_rate"] == rates[payment["currency"]]
        assert payment["amount_base"] == to_base(payment["amount"], payment["fx_rate"])


def test_identities(data: Data) -> None:
    ids = [identity["_id"] for identity in data["identities"]]
    assert len(set(ids)) == len(ids)
    per_member_channel = Counter((i["member_id"], i["channel_id"]) for i in data["identities"])
    assert max(per_member_channel.values()) == 1
    for identity in data["identities"]:
        assert identity["_id"] == f"{identity['channel_id']}:{identity['external_id']}"
    channels_per_member = Counter(i["member_id"] for i in data["identities"])
    members = data["members"]
    assert len(channels_per_member) == len(members)
    assert sum(n >= 2 for n in channels_per_member.values()) >= 0.75 * len(members)
    assert any(n >= 4 for n in channels_per_member.values())
    homes = {(i["member_id"], i["channel_id"]) for i in data["identities"]}
    assert all((m["_id"], m["home_channel_id"]) in homes for m in members)


def test_orders_and_visits_are_varied_and_connected(data: Data) -> None:
    per_member = Counter(order["member_id"] for order in data["orders"])
    assert min(per_member.values()) <= 3 and max(per_member.values()) >= 40
    linked = {(i["member_id"], i["channel_id"]) for i in data["identities"]}
    in_linked = sum((o["member_id"], o["channel_id"]) in linked for o in data["orders"])
    assert in_linked >= 0.9 * len(data["orders"])
    anonymous = sum(visit["member_id"] is None for visit in data["visits"])
    assert 0.2 <= anonymous / len(data["visits"]) <= 0.3
    first_order: dict[tuple[str, str], datetime] = {}
    for order in data["orders"]:  # sorted by _id, which is chronological
        first_order.setdefault((order["member_id"], order["channel_id"]), order["placed_at"])
    converted = {(v["member_id"], v["channel_id"]) for v in data["visits"]
                 if v["at"] <= first_order.get((v["member_id"], v["channel_id"]), v["at"])
                 and (v["member_id"], v["channel_id"]) in first_order}
    assert len(converted) >= len(first_order) / 2  # most first orders follow a visit


def test_catalogue_is_the_same_at_every_scale(data: Data) -> None:
    bigger = generator.generate(2)
    for name in ("channels", "locations", "fx_rates", "products", "inventory"):
        assert bigger[name] == data[name], name
    # the sampled members and orders double; the promotions' (gateway/demo/promotions.py:
    # mem_9..., ord_p...) and the demo orders of an order's life (gateway/demo/lifecycle.py,
    # written as by the API) are added to them at any scale
    def sampled(docs: list[dict[str, Any]], promotions: str) -> int:
        return sum(1 for doc in docs
                   if doc.get("source") != "api" and not doc["_id"].startswith(promotions))

    assert sampled(bigger["members"], "mem_9") == 2 * sampled(data["members"], "mem_9")
    assert sampled(bigger["orders"], "ord_p") == 2 * sampled(data["orders"], "ord_p")
    assert sum(o.get("source") == "api" for o in data["orders"]) == 13


def test_supply_chain(data: Data) -> None:
    channels, locations = by_id(data["channels"]), by_id(data["locations"])
    inventory, transfers = by_id(data["inventory"]), by_id(data["transfers"])
    # every online and overseas channel names fulfilment locations that exist
    for channel in data["channels"]:
        places = channel.get("fulfilment_location_ids", [])
        assert bool(places) == (channel["kind"] in ("ONLINE_SHOP", "OVERSEAS")), channel["_id"]
        assert all(loc in locations for loc in places)
    assert {t["status"] for t in data["transfers"]} == {
        "CREATED", "IN_TRANSIT", "RECEIVED", "CANCELLED"}
    # each (SKU, location)'s movements chain, newest last, to today's level
    chains: dict[str, list[dict[str, Any]]] = {}
    for movement in sorted(data["stock_movements"], key=lambda m: (m["at"], m["_id"])):
        assert movement["after"] - movement["before"] == movement["delta"] != 0
        assert movement["before"] >= 0
        chains.setdefault(f"{movement['sku']}@{movement['location_id']}", []).append(movement)
    for key, chain in chains.items():
        assert chain[-1]["after"] == inventory[key]["on_hand"], key
        assert [m["before"] for m in chain[1:]] == [m["after"] for m in chain[:-1]], key
    # a transfer's movements and holds say where it is in its life
    kinds = Counter((m["transfer_id"], m["kind"]) for m in data["stock_movements"]
                    if m["transfer_id"])
    holds = Counter((h["order"], "in" if h["quantity"] == 0 else "out")
                    for doc in data["inventory"] for h in doc.get("holds", []))
    for transfer in data["transfers"]:
        n, status = len(transfer["lines"]), transfer["status"]
        assert (kinds[(transfer["_id"], "TRANSFER_OUT")], kinds[(transfer["_id"], "TRANSFER_IN")],
                holds[(transfer["_id"], "out")], holds[(transfer["_id"], "in")]) == {
            "CREATED": (0, 0, n, n), "IN_TRANSIT": (n, 0, 0, n), "RECEIVED": (n, n, 0, 0),
            "CANCELLED": (0, 0, 0, 0)}[status], transfer["_id"]
        assert transfer["from_channel_id"] == locations[transfer["from_location_id"]]["channel_id"]
        assert transfer["to_channel_id"] == locations[transfer["to_location_id"]]["channel_id"]
    assert set(kinds) <= {(t, k) for t in transfers for k in ("TRANSFER_OUT", "TRANSFER_IN")}
    assert channels["ch_my_market"]["fulfilment_location_ids"] == ["loc_wh_hangzhou"]
