"""Deterministic demo data for the brand's four kinds of sales channel.

``generate(scale, seed)`` builds every collection in memory
(:data:`gateway.database.seeding.COLLECTIONS`); ``gateway.database.seeding`` writes and reads
them as seed files. Money is integer minor units plus an ISO 4217 code; times are
timezone-aware UTC datetimes at whole seconds.

Regenerate the committed seeds with ``python -m gateway.demo.generator seeds/``.
"""

from __future__ import annotations

import gc
import random
import sys
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any, TypeVar

from gateway.database.seeding import COLLECTIONS, write_seed_files
from gateway.demo import crm, promotions
from gateway.demo.lifecycle import add_lifecycle
from gateway.demo.refunds import add_refunds
from gateway.demo.supply import supply_chain
from gateway.demo.tables import (
    _ABROAD,
    _ANONYMOUS_CHANNELS,
    _BRANDS,
    _CHANNELS,
    _DOMESTIC,
    _FX,
    _HOME_WEIGHTS,
    _IDENTITY_SOURCE,
    _LINE_COUNTS,
    _LISTING,
    _LOCATION_CHANNEL,
    _LOCATIONS,
    _NAMES,
    _ONLINE_VISITS,
    _OVERSEAS,
    _OVERSEAS_MARKUP,
    _PAY_METHODS,
    _PRICE_FACTOR,
    _PRODUCTS,
    _QUANTITIES,
    _TIERS,
    _VISIT_SOURCES,
    _bag,
)

Doc = dict[str, Any]
_T = TypeVar("_T")

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)  # exclusive: data ends 2026-10-31
SPAN = int((END - START).total_seconds())
DAY = 86_400



def _at(seconds: int) -> datetime:
    return START + timedelta(seconds=seconds)


def _daytime(t: int, utc_offset: int) -> int:
    """Move a moment that falls between 00:00 and 07:00 local time to the afternoon."""
    if ((t + utc_offset * 3600) // 3600) % 24 < 7:
        t += 12 * 3600 if t + 12 * 3600 < SPAN else -12 * 3600
    return t


def _to_base(amount: int, rate: Decimal) -> int:
    return int((amount * rate).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _nice_price(minor: float, currency: str) -> int:
    """Shelf-friendly price in minor units: 12.99 USD, 59.00 THB, 39.90 CNY/MYR."""
    if currency == "USD":
        return max(99, round(minor / 100) * 100 - 1)
    if currency == "THB":
        return max(900, round(minor / 1000) * 1000 - 100)
    return max(90, round(minor / 100) * 100 - 10)


def _catalogue(rng: random.Random) -> dict[str, list[Doc]]:
    channels = [{"_id": c[0], "name": c[1], "kind": c[2], "currency": c[3], "country": c[4],
                 "time_zone": c[5]} for c in _CHANNELS]
    locations: list[Doc] = []
    for slug, name, kind, city in _LOCATIONS:
        channel_id = next(ch for key, ch in _LOCATION_CHANNEL.items() if slug.startswith(key))
        country, time_zone = _ABROAD.get(city, ("CN", "Asia/Shanghai"))
        locations.append({"_id": f"loc_{slug}", "name": name, "kind": kind,
                          "channel_id": channel_id, "city": city, "country": country,
                          "time_zone": time_zone})
    as_of = START  # one rate for the whole period
    fx_rates = [{"_id": cur, "currency": cur, "rate": rate, "as_of": as_of}
                for cur, rate in _FX.items()]
    products: list[Doc] = []
    for slug, name, category, base in _PRODUCTS:
        offers: list[Doc] = []
        for ch, _, _, cur, _, _, _ in _CHANNELS:
            odds = _LISTING.get(ch, _LISTING["overseas"])
            if rng.random() >= odds.get(category, odds["*"]):
                continue
            if cur == "CNY":
                price = _nice_price(base * _PRICE_FACTOR[ch], cur)
            else:
                price = _nice_price(base / float(_FX[cur]) * _OVERSEAS_MARKUP, cur)
            offers.append({"channel_id": ch, "price": price, "currency": cur,
                           "available": rng.random() >= 0.05})
        if not offers:  # every product is sold somewhere
            offers.append({"channel_id": "ch_flagship", "price": base, "currency": "CNY",
                           "available": True})
        products.append({"_id": f"sku_{slug}", "name": name, "brand": _BRANDS[category],
                         "category": category, "offers": offers})
    inventory: list[Doc] = []
    for loc in locations:
        for product in products:
            listed = [o for o in product["offers"] if o["channel_id"] == loc["channel_id"]]
            if not listed:
                continue
            offer = listed[0]
            stocked = offer["available"] and rng.random() >= 0.08
            on_hand = rng.randint(1, 400 if loc["kind"] == "WAREHOUSE" else 80) if stocked else 0
            inventory.append({"_id": f"{product['_id']}@{loc['_id']}", "sku": product["_id"],
                              "location_id": loc["_id"], "on_hand": on_hand,
                              "reserved": rng.randint(0, on_hand // 4)})
    return {"channels": channels, "locations": locations, "fx_rates": fx_rates,
            "products": products, "inventory": inventory}


def _allocate(rng: random.Random, n: int, per_member: int) -> list[int]:
    """Varied order counts per member (some 1-3, some 40+) summing exactly to n * per_member."""
    buckets = ((1, 3), (8, 22), (25, 39), (40, 70))
    counts = [rng.randint(*rng.choices(buckets, (20, 45, 25, 10))[0]) for _ in range(n)]
    diff = sum(counts) - n * per_member
    # adjust the mid-range members first, so the light and heavy ones keep their shape
    adjustable = [i for i, c in enumerate(counts) if 4 <= c < 40]
    rng.shuffle(adjustable)
    adjustable += [i for i, c in enumerate(counts) if not 4 <= c < 40]
    i = 0
    while diff:
        j = adjustable[i % len(adjustable)]
        i += 1
        if diff > 0 and counts[j] > 1:
            counts[j] -= 1
            diff -= 1
        elif diff < 0:
            counts[j] += 1
            diff += 1
    return counts


def _external_id(rng: random.Random, channel_id: str, phone: str, serial: int) -> str:
    if channel_id == "ch_flagship":
        return f"tb_{rng.getrandbits(48):012x}"
    if channel_id == "ch_miniapp":
        return f"wxo_{rng.getrandbits(64):016x}"
    if channel_id == "ch_freshmart":
        return f"FM-{100_000 + serial}"
    if channel_id == "ch_villagelink":
        if phone.startswith("+86"):
            return phone
        return f"+86 138 {rng.randint(0, 9999):04d} {serial % 10_000:04d}"
    prefix = {"ch_us_market": "usm", "ch_my_market": "mym", "ch_th_market": "thm"}[channel_id]
    return f"{prefix}_{rng.randint(10**9, 10**10 - 1)}"


def _phone(rng: random.Random, country: str) -> str:
    r = rng.randint
    if country == "US":
        return f"+1 {rng.choice((213, 310, 415, 646))} 555 01{r(0, 99):02d}"
    if country == "MY":
        return f"+60 1{r(2, 9)}-{r(100, 999)} {r(0, 9999):04d}"
    if country == "TH":
        return f"+66 8{r(1, 9)} {r(100, 999)} {r(0, 9999):04d}"
    return f"+86 13{r(0, 9)} {r(0, 9999):04d} {r(0, 9999):04d}"


def generate(scale: int = 1, seed: int = 20261125) -> dict[str, list[Doc]]:
    """All collections, each sorted by ``_id``; identical output for identical arguments."""
    if scale < 1:
        raise ValueError("scale must be >= 1")
    # Millions of small dicts and no reference cycles: the cyclic GC would only slow this down.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _generate(scale, seed)
    finally:
        if paused:
            gc.enable()


def _generate(scale: int, seed: int) -> dict[str, list[Doc]]:
    data = _catalogue(random.Random(seed))
    rng = random.Random(f"{seed}:{scale}")
    channel = {c[0]: c for c in _CHANNELS}
    stores: dict[str, list[str]] = {}
    for place in data["locations"]:
        if place["kind"] != "WAREHOUSE":
            stores.setdefault(place["channel_id"], []).append(place["_id"])
    warehouse = {"ch_flagship": "loc_wh_hangzhou", "ch_miniapp": "loc_wh_wuhan",
                 "ch_us_market": "loc_wh_los_angeles_bonded"}
    shelf: dict[str, list[tuple[str, int]]] = {c: [] for c in channel}
    for product in data["products"]:
        for offer in product["offers"]:
            if offer["available"]:
                shelf[offer["channel_id"]].append((product["_id"], offer["price"]))
    rates = {cur: Decimal(rate) for cur, rate in _FX.items()}

    n = 60 * scale
    members: list[Doc] = []
    identities: list[Doc] = []
    raw_orders: list[tuple[int, Doc]] = []
    raw_visits: list[tuple[int, Doc]] = []
    homes = list(_HOME_WEIGHTS)
    taken: set[str] = set()  # identity ids, for uniqueness only (never iterated)
    kind_of = {c[0]: c[2] for c in _CHANNELS}
    for m, n_orders in enumerate(_allocate(rng, n, 20), start=1):
        member_id = f"mem_{m:05d}"
        home = rng.choices(homes, list(_HOME_WEIGHTS.values()))[0]
        country = channel[home][4]
        given, family = _NAMES[country]
        first, last = rng.choice(given), rng.choice(family)
        name = f"{last} {first}" if country == "CN" else f"{first} {last}"
        phone = _phone(rng, country)
        joined = DAY + rng.randrange(240 * DAY)
        email = f"{name.lower().replace(' ', '.')}.{m}@example.{rng.choice(('com', 'net', 'org'))}"
        members.append({"_id": member_id, "name": name, "phone": phone, "email": email,
                        "tier": "BRONZE", "points": 0, "joined_at": _at(joined),
                        "home_channel_id": home})
        # identity channels: home first, then weighted picks without replacement
        region = _DOMESTIC if home in _DOMESTIC else _OVERSEAS
        # domestic members rarely shop abroad; overseas ones use the online shops, not stores
        pool = {c: 4.0 if c in region else 0.3 if region is _DOMESTIC else 2.0
                for c in channel if c != home and (region is _DOMESTIC or c not in stores)}
        k = rng.choices((1, 2, 3, 4, 5), (12, 45, 28, 10, 5))[0]
        linked = {home: joined}
        while len(linked) < k and pool:
            pick = rng.choices(list(pool), list(pool.values()))[0]
            del pool[pick]
            linked[pick] = min(joined + rng.randrange(60 * DAY), SPAN - 30 * DAY)
        for ch, t in linked.items():
            ext = _external_id(rng, ch, phone, m)
            while f"{ch}:{ext}" in taken:  # e.g. two members sharing a phone number
                ext = _external_id(rng, ch, "", m)
            taken.add(f"{ch}:{ext}")
            source = _IDENTITY_SOURCE.get(ch, "marketplace-oauth")
            if ch == home and kind_of[ch] == "ONLINE_SHOP":
                source = "signup"
            identities.append({"_id": f"{ch}:{ext}", "member_id": member_id, "channel_id": ch,
                               "external_id": ext, "linked_at": _at(t), "source": source})
        favourite = {ch: rng.choice(locs) for ch, locs in stores.items()}
        guest_pool = [c for c in region if c not in linked]
        affinity = [c for c in linked for _ in range(5 if c == home else 2)]
        converted = 0
        for _ in range(n_orders):
            if guest_pool and rng.random() < 0.04:
                ch, since = rng.choice(guest_pool), joined
            else:
                ch = rng.choice(affinity)
                since = linked[ch]
            _, _, kind, cur, _, _, offset = channel[ch]
            placed = _daytime(since + rng.randrange(SPAN - 2 * 3600 - since), offset)
            placed = max(placed, since)
            location = warehouse.get(ch)
            if ch in stores:
                location = favourite[ch] if rng.random() < 0.8 else rng.choice(stores[ch])
            n_lines = min(len(shelf[ch]), rng.choice(_LINE_COUNTS))
            lines: list[Doc] = []
            total = 0
            for sku, price in rng.sample(shelf[ch], n_lines):
                quantity = rng.choice(_QUANTITIES)
                lines.append({"sku": sku, "quantity": quantity, "unit_price": price})
                total += quantity * price
            age = (SPAN - placed) / DAY
            if rng.random() < (0.01 if kind == "SUPERMARKET" else 0.05):
                status = "CANCELLED"
            elif kind == "SUPERMARKET" or age >= 10:
                status = "COMPLETED"
            elif age < 1:
                status = rng.choice(("PLACED", "PAID"))
            elif age < 4:
                status = rng.choices(("PAID", "SHIPPED"), (3, 7))[0]
            else:
                status = rng.choices(("SHIPPED", "COMPLETED"), (4, 6))[0]
            raw_orders.append((placed, {
                "_id": "", "member_id": member_id, "channel_id": ch, "location_id": location,
                "lines": lines,
                "total": total, "currency": cur, "status": status, "placed_at": _at(placed),
                "fx_rate": _FX[cur], "total_base": _to_base(total, rates[cur])}))
            if rng.random() < 0.6:  # a visit shortly before the order: browsing that converted
                converted += 1
                before = placed - rng.randint(60, 90 * 60)
                where = location if ch in stores else None
                raw_visits.append(_visit(rng, before, member_id, ch, where))
        for _ in range(n_orders * 3 // 2 + 1 - converted):
            ch = rng.choice(affinity)
            t = _daytime(linked[ch] + rng.randrange(SPAN - linked[ch]), channel[ch][6])
            loc = None
            if ch in stores:
                loc = favourite[ch] if rng.random() < 0.8 else rng.choice(stores[ch])
            raw_visits.append(_visit(rng, max(t, linked[ch]), member_id, ch, loc))
    for _ in range(10 * n):  # anonymous traffic, about a quarter of all visits
        ch = rng.choice(_ANONYMOUS_CHANNELS)
        t = _daytime(rng.randrange(SPAN), channel[ch][6])
        loc = rng.choice(stores[ch]) if ch in stores else None
        raw_visits.append(_visit(rng, t, None, ch, loc))

    raw_orders.sort(key=lambda pair: pair[0])
    orders: list[Doc] = []
    payments: list[Doc] = []
    points = {doc["_id"]: 100 for doc in members}  # signup bonus
    pay_methods = {kind: _bag(*options) for kind, options in _PAY_METHODS.items()}
    for i, (placed, order) in enumerate(raw_orders, start=1):
        order["_id"] = f"ord_{i:07d}"
        orders.append(order)
        if order["status"] in ("PLACED", "CANCELLED"):
            continue
        if order["status"] == "COMPLETED":
            points[order["member_id"]] += order["total_base"] // 100
        methods = pay_methods[channel[order["channel_id"]][2]]
        total, cur = order["total"], order["currency"]
        parts = [total]
        if total >= 2 and rng.random() < 0.1:  # split payment, e.g. wallet balance + card
            cut = rng.randint(1, total - 1)
            parts = [cut, total - cut]
        paid = placed + rng.randint(1, 30) * 60
        for amount in parts:
            paid += rng.randint(0, 5) * 60
            payments.append({
                "_id": f"pay_{len(payments) + 1:07d}", "order_id": order["_id"],
                "member_id": order["member_id"], "channel_id": order["channel_id"],
                "method": rng.choice(methods), "amount": amount, "currency": cur,
                "status": "REFUNDED" if rng.random() < 0.02 else "CAPTURED",
                "paid_at": _at(paid), "fx_rate": order["fx_rate"],
                "amount_base": _to_base(amount, rates[cur])})
    for member in members:
        member["points"] = points[member["_id"]]
        member["tier"] = next(tier for floor, tier in _TIERS if member["points"] >= floor)

    raw_visits.sort(key=lambda pair: pair[0])
    visits = [visit for _, visit in raw_visits]
    for i, visit in enumerate(visits, start=1):
        visit["_id"] = f"vis_{i:07d}"
    data.update(members=members, identities=identities, orders=orders, payments=payments,
                visits=visits)
    add_lifecycle(data, seed)
    crm.add(data, seed)
    supply_chain(data, seed=seed, end=END)
    promotions.add(data, seed)
    add_refunds(data, end=END)  # last: it draws nothing, and changes no earlier step's input
    for docs in data.values():
        docs.sort(key=lambda doc: doc["_id"])
    return {name: data[name] for name in COLLECTIONS}


def _visit(rng: random.Random, t: int, member_id: str | None, channel_id: str,
           location_id: str | None) -> tuple[int, Doc]:
    kind = "STORE_VISIT" if location_id is not None else rng.choice(_ONLINE_VISITS)
    source = rng.choice(_VISIT_SOURCES[kind])
    if channel_id == "ch_villagelink" and rng.random() < 0.3:
        source = "agent"
    return t, {"_id": "", "member_id": member_id, "channel_id": channel_id,
               "location_id": location_id, "kind": kind, "source": source, "at": _at(t)}


def main() -> None:
    """``python -m gateway.demo.generator [DIRECTORY] [SCALE]`` (defaults: seeds 1)."""
    args = sys.argv[1:]
    scale = int(args[1]) if len(args) > 1 else 1
    write_seed_files(Path(args[0] if args else "seeds"), generate(scale))


if __name__ == "__main__":
    main()
