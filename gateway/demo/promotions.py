"""The demo's promotions, added to the generated data with a random stream of their own (so
every other record stays as it was):

- FX snapshots: the one rate of each currency gets a snapshot id, kept in ``fx_history``;
- ``cmp_golden_week_2026``, "Golden Week 2026", in all four channel kinds, 1 to 8 October
  2026 in each channel's zone: 10 % off orders from 199 CNY (29 USD, 129 MYR, 999 THB), and a
  member price for GOLD and PLATINUM members on two teas;
- ``cmp_welcome_back``, a coupon campaign in every kind (1 September 2026 to 1 September 2027):
  20 CNY (3 USD, 12 MYR, 100 THB) off orders from 100 CNY (15, 60, 500), with the public code
  ``WELCOME20`` (1,000 uses) and 12 single-use codes;
- orders in both (``ord_p...``): Golden Week orders in every channel, three of them the first
  orders of new members (``mem_9....``: searchable and holding their phones like every
  member, with no consent recorded yet), and coupon orders, one of them cancelled (its use
  given back); some paid partly with points (``POINTS`` payments), the members' balances
  and tiers following.

The discounts are computed here with the rules of gateway/commerce/promotions.py (the demo
may not import the rules' room); tests/test_promotions.py checks that placeOrder's engine
gives every seeded order the same discounts.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from gateway.database.contacts import e164, phone_key_id, search_fields
from gateway.demo.tables import _CHANNELS, _NAMES, _PAY_METHODS, _TIERS
from gateway.money import exponent, to_decimal

Doc = dict[str, Any]

GOLDEN_WEEK: Final = "cmp_golden_week_2026"
WELCOME: Final = "cmp_welcome_back"
PUBLIC_CODE: Final = "WELCOME20"
KINDS: Final = ("ONLINE_SHOP", "SUPERMARKET", "RURAL_OUTLET", "OVERSEAS")
MEMBER_PRICE_SKUS: Final = ("sku_oolong_tea_250g", "sku_dianhong_black_tea_200g")
# members that tests and docs name: the demo's promotions leave them alone
NAMED: Final = frozenset(f"mem_{n:05d}" for n in (
    1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 20, 21, 22, 25, 26, 27, 30, 31, 32,
    40, 41, 42, 44, 50, 51, 52, 60))
NEW_MEMBERS: Final = 3
WAREHOUSE: Final = {"ch_flagship": "loc_wh_hangzhou", "ch_miniapp": "loc_wh_wuhan",
                    "ch_us_market": "loc_wh_los_angeles_bonded"}
CREATED: Final = datetime(2026, 8, 20, 2, 0, tzinfo=UTC)
_CODE_ALPHABET: Final = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def _member_prices(product: Doc, rates: dict[str, str]) -> dict[str, int]:
    """80 % of the product's lowest offer in each currency; in a currency it is not offered
    in, 80 % of the lowest CNY offer at the rate (rounded down)."""
    lowest: dict[str, int] = {}
    for offer in product["offers"]:
        lowest[offer["currency"]] = min(offer["price"], lowest.get(offer["currency"],
                                                                   offer["price"]))
    prices = {currency: price * 8 // 10 for currency, price in lowest.items()}
    for currency, rate in rates.items():
        if currency not in prices:
            exact = to_decimal(prices["CNY"], "CNY") / Decimal(rate)
            prices[currency] = int(exact.scaleb(exponent(currency))
                                   .to_integral_value(ROUND_FLOOR))
    return dict(sorted(prices.items()))


def _campaigns(products: list[Doc], rates: dict[str, str]) -> list[Doc]:
    """The two campaigns (a member price per tea: one rule each)."""
    teas = [p for p in products if p["_id"] in MEMBER_PRICE_SKUS]

    def campaign(_id: str, name: str, starts: datetime, ends: datetime, coupon: bool,
                 rules: list[Doc]) -> Doc:
        return {"_id": _id, "name": name, "channel_ids": [], "channel_kinds": list(KINDS),
                "starts_local": starts, "ends_local": ends,
                "window_from": starts - timedelta(hours=14),
                "window_to": ends + timedelta(hours=12), "coupon_required": coupon,
                "rules": rules, "created_at": CREATED, "created_by": "demo"}

    def rule(kind: str, target: str, **values: Any) -> Doc:
        return {"kind": kind, "target": target, "skus": [], "percent_bp": None,
                "amounts": {}, "min_spend": {}, "tiers": [], **values}

    return [
        campaign(GOLDEN_WEEK, "Golden Week 2026", datetime(2026, 10, 1, tzinfo=UTC),
                 datetime(2026, 10, 8, tzinfo=UTC), False, [
                     rule("PERCENT_OFF", "ORDER", percent_bp=1000, min_spend={
                         "CNY": 19900, "USD": 2900, "MYR": 12900, "THB": 99900}),
                     *(rule("FIXED_PRICE", "SKUS", skus=[tea["_id"]],
                            amounts=_member_prices(tea, rates), tiers=["GOLD", "PLATINUM"])
                       for tea in teas),
                 ]),
        campaign(WELCOME, "Welcome back", datetime(2026, 9, 1, tzinfo=UTC),
                 datetime(2027, 9, 1, tzinfo=UTC), True, [
                     rule("AMOUNT_OFF", "ORDER",
                          amounts={"CNY": 2000, "USD": 300, "MYR": 1200, "THB": 10000},
                          min_spend={"CNY": 10000, "USD": 1500, "MYR": 6000, "THB": 50000}),
                 ]),
    ]


def _half_even(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _spread(amount: int, weights: list[int]) -> list[int]:
    whole = sum(weights)
    if whole == 0 or amount == 0:
        return [0] * len(weights)
    shares = [amount * w // whole for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % whole), i))
    for i in order[:amount - sum(shares)]:
        shares[i] += 1
    return shares


def _price(lines: list[Doc], campaign: Doc, currency: str, tier: str) -> list[Doc]:
    """The lines with the campaign's discounts (one campaign runs at a time in the demo, and
    no two of its SKU rules name one SKU)."""
    for line in lines:
        line["discounts"] = []
        for r in campaign["rules"]:
            if r["target"] == "SKUS" and line["sku"] in r["skus"] and tier in r["tiers"]:
                cut = max(0, line["quantity"] * (line["unit_price"] - r["amounts"][currency]))
                if cut:
                    line["discounts"].append({"campaign_id": campaign["_id"], "amount": cut,
                                              "level": "LINE"})
    remaining = [x["quantity"] * x["unit_price"] - sum(d["amount"] for d in x["discounts"])
                 for x in lines]
    order_rule = next(r for r in campaign["rules"] if r["target"] == "ORDER")
    after = sum(remaining)
    if after >= order_rule["min_spend"][currency]:
        cut = (_half_even(Decimal(after) * order_rule["percent_bp"] / 10_000)
               if order_rule["kind"] == "PERCENT_OFF"
               else min(after, order_rule["amounts"][currency]))
        for line, share in zip(lines, _spread(cut, remaining), strict=True):
            if share:
                line["discounts"].append({"campaign_id": campaign["_id"], "amount": share,
                                          "level": "ORDER"})
    for line in lines:
        if line["discounts"]:
            line["discount"] = sum(d["amount"] for d in line["discounts"])
        else:
            del line["discounts"]
    return lines


def _to_base(amount: int, rate: str) -> int:
    return _half_even(amount * Decimal(rate))


def _code(rng: random.Random) -> str:
    return "WB-" + "".join(rng.choice(_CODE_ALPHABET) for _ in range(8))


class _Builder:
    """Adds the promotions' records to ``data`` (see the module docstring)."""

    def __init__(self, data: dict[str, list[Doc]], seed: int) -> None:
        self.data = data
        self.rng = random.Random(f"{seed}:promotions")
        self.channel = {c[0]: c for c in _CHANNELS}
        self.rates = {fx["currency"]: fx["rate"] for fx in data["fx_rates"]}
        self.snapshot = {fx["currency"]: fx["snapshot_id"] for fx in data["fx_rates"]
                         if fx["currency"] != "CNY"}
        self.members = {m["_id"]: m for m in data["members"]}
        self.tier_then = {m["_id"]: m["tier"] for m in data["members"]}
        self.holders: dict[str, list[str]] = {}
        for identity in data["identities"]:
            if identity["member_id"] not in NAMED:
                self.holders.setdefault(identity["channel_id"], []).append(
                    identity["member_id"])
        self.stores: dict[str, list[str]] = {}
        for loc in data["locations"]:
            if loc["kind"] != "WAREHOUSE":
                self.stores.setdefault(loc["channel_id"], []).append(loc["_id"])
        self.shelf: dict[str, list[tuple[str, int]]] = {c: [] for c in self.channel}
        for product in data["products"]:
            for offer in product["offers"]:
                if offer["available"]:
                    self.shelf[offer["channel_id"]].append((product["_id"], offer["price"]))
        self.orders: list[Doc] = []
        self.payments: list[Doc] = []
        self.redemptions: list[Doc] = []
        self.earned: dict[str, int] = {}

    def local(self, channel_id: str, day: datetime, hour: int, minute: int) -> datetime:
        zone = ZoneInfo(self.channel[channel_id][5])
        wall = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
        return wall.astimezone(UTC)

    def new_member(self, n: int, channel_id: str, joined: datetime) -> str:
        member_id = f"mem_9{n:04d}"
        country = self.channel[channel_id][4]
        given, family = _NAMES[country]
        first, last = self.rng.choice(given), self.rng.choice(family)
        name = f"{last} {first}" if country == "CN" else f"{first} {last}"
        self.members[member_id] = {
            "_id": member_id, "name": name,
            "phone": f"+86 139 {n:04d} {self.rng.randint(0, 9999):04d}",
            "email": f"{name.lower().replace(' ', '.')}.{member_id[4:]}@example.com",
            "tier": "BRONZE", "points": 100, "joined_at": joined,
            "home_channel_id": channel_id}
        member = self.members[member_id]
        # searchable, and holding its phone, like every member (gateway/demo/crm.py)
        member["search"] = search_fields(name=name, phone=member["phone"],
                                         email=member["email"], region=country)
        normal = e164(member["phone"], region=country)
        if normal is not None:
            self.data.setdefault("member_keys", []).append(
                {"_id": phone_key_id(normal), "member_id": member_id, "at": joined})
        self.data["members"].append(member)
        external = f"gw_{self.rng.getrandbits(40):010x}"
        self.data["identities"].append({
            "_id": f"{channel_id}:{external}", "member_id": member_id,
            "channel_id": channel_id, "external_id": external, "linked_at": joined,
            "source": "signup"})
        self.tier_then[member_id] = "BRONZE"
        return member_id

    def order(self, *, channel_id: str, member_id: str, placed: datetime, campaign: Doc,
              coupon: str | None = None, status: str = "COMPLETED", points: int = 0,
              discounted: bool = False, basket: dict[str, int] | None = None) -> Doc | None:
        _, _, kind, currency, _, _, _ = self.channel[channel_id]
        if basket is None:
            picks = self.rng.sample(self.shelf[channel_id], self.rng.choice((1, 2, 3)))
            basket = {sku: self.rng.choice((1, 1, 2, 3)) for sku, _ in picks}
        price_of = dict(self.shelf[channel_id])
        lines: list[Doc] = [{"sku": sku, "quantity": quantity, "unit_price": price_of[sku]}
                            for sku, quantity in sorted(basket.items())]
        lines = _price(lines, campaign, currency, self.tier_then[member_id])
        subtotal = sum(x["quantity"] * x["unit_price"] for x in lines)
        discount = sum(x.get("discount", 0) for x in lines)
        if (coupon is not None or discounted) and discount == 0:
            return None  # below the minimum spend: that basket is not the one
        total = subtotal - discount
        order_id = f"ord_p{len(self.orders) + 1:04d}"
        rate = self.rates[currency]
        location = WAREHOUSE.get(channel_id)
        if channel_id in self.stores:
            location = self.rng.choice(self.stores[channel_id])
        doc: Doc = {
            "_id": order_id, "member_id": member_id, "channel_id": channel_id,
            "location_id": location, "lines": lines, "total": total, "currency": currency,
            "status": status, "placed_at": placed, "fx_rate": rate,
            "total_base": _to_base(total, rate), "subtotal": subtotal, "discount": discount,
            "fx_snapshot_id": self.snapshot.get(currency)}
        if discount:
            doc["promotions"] = [{"campaign_id": campaign["_id"], "amount": discount,
                                  "amount_base": _to_base(discount, rate)}]
        if coupon is not None:
            doc["coupon"] = {"code": coupon, "campaign_id": campaign["_id"]}
            self.redemptions.append({
                "_id": f"{coupon}:{order_id}", "code": coupon, "campaign_id": campaign["_id"],
                "order_id": order_id, "channel_id": channel_id, "member_id": member_id,
                "status": "RELEASED" if status == "CANCELLED" else "REDEEMED",
                "at": placed})
        self.orders.append(doc)
        if status != "CANCELLED":
            balance = self.members[member_id]["points"] + self.earned.get(member_id, 0)
            self.pay(doc, kind, points if balance >= points else 0)
        return doc

    def pay(self, order: Doc, kind: str, points: int) -> None:
        currency, rate = order["currency"], order["fx_rate"]
        paid_at = order["placed_at"] + timedelta(minutes=self.rng.randint(2, 30))
        parts: list[tuple[str, int, int]] = []
        if points:
            exact = to_decimal(points, "CNY") / Decimal(rate)
            amount = int(exact.scaleb(exponent(currency)).to_integral_value(ROUND_FLOOR))
            parts.append(("POINTS", amount, points))
            self.earned[order["member_id"]] = self.earned.get(order["member_id"], 0) - points
        methods, weights = _PAY_METHODS[kind]
        rest = order["total"] - sum(amount for _, amount, _ in parts)
        parts.append((self.rng.choices(methods, weights)[0], rest, 0))
        for method, amount, spent in parts:
            payment: Doc = {
                "_id": f"pay_p{len(self.payments) + 1:04d}", "order_id": order["_id"],
                "member_id": order["member_id"], "channel_id": order["channel_id"],
                "method": method, "amount": amount, "currency": currency,
                "status": "CAPTURED", "paid_at": paid_at, "fx_rate": rate,
                "amount_base": _to_base(amount, rate),
                "fx_snapshot_id": order["fx_snapshot_id"]}
            if spent:
                payment.update(points=spent, points_member_id=order["member_id"])
            self.payments.append(payment)
            paid_at += timedelta(minutes=1)
        if order["status"] == "COMPLETED":
            self.earned[order["member_id"]] = (self.earned.get(order["member_id"], 0)
                                               + order["total_base"] // 100)

    def golden_week(self, campaign: Doc) -> None:
        """21 orders, three in each channel, 1 to 7 October local time; the first order of
        each online channel and of the rural outlets is a new member's."""
        new = 0
        for channel_id in sorted(self.channel):
            for i in range(3):
                day = datetime(2026, 10, 1 + self.rng.randrange(7))
                placed = self.local(channel_id, day, self.rng.randint(9, 21),
                                    self.rng.randrange(60))
                points = 0
                if i == 2 and channel_id in ("ch_flagship", "ch_freshmart", "ch_my_market"):
                    points = 500  # spent before the rest is paid by the channel's method
                if i == 0 and new < NEW_MEMBERS and channel_id in (
                        "ch_flagship", "ch_miniapp", "ch_villagelink"):
                    new += 1  # a new member's first order, brought by the campaign
                    buyer = self.new_member(new, channel_id, placed - timedelta(minutes=20))
                    while self.order(channel_id=channel_id, member_id=buyer, placed=placed,
                                     campaign=campaign, discounted=True) is None:
                        pass
                    continue
                self.order(channel_id=channel_id, member_id=self.rng.choice(
                    self.holders[channel_id]), placed=placed, campaign=campaign, points=points)
        # member prices: a GOLD or PLATINUM member buys the teas
        for channel_id, quantities in (("ch_miniapp", (2, 1)), ("ch_freshmart", (1, 3))):
            on_shelf = dict(self.shelf[channel_id])
            basket = {sku: n for sku, n in zip(MEMBER_PRICE_SKUS, quantities, strict=True)
                      if sku in on_shelf}
            gold = next((m for m in sorted(set(self.holders[channel_id]))
                         if self.tier_then[m] in ("GOLD", "PLATINUM")), None)
            if not basket or gold is None:
                continue
            placed = self.local(channel_id, datetime(2026, 10, 2 + self.rng.randrange(5)),
                                self.rng.randint(9, 21), self.rng.randrange(60))
            self.order(channel_id=channel_id, member_id=gold, placed=placed,
                       campaign=campaign, basket=basket)

    def welcome(self, campaign: Doc, codes: list[str]) -> dict[str, int]:
        """Coupon orders from 10 to 28 October: the public code, and single-use codes (the
        last order cancelled, its use given back); the uses taken, by code."""
        uses: dict[str, int] = {}
        plan = [PUBLIC_CODE, codes[0], PUBLIC_CODE, codes[1], PUBLIC_CODE, codes[2]]
        for n, code in enumerate(plan):
            channel_id = sorted(self.channel)[n % len(self.channel)]
            while True:
                day = datetime(2026, 10, 10 + self.rng.randrange(19))
                placed = self.local(channel_id, day, self.rng.randint(9, 21),
                                    self.rng.randrange(60))
                status = "CANCELLED" if n == len(plan) - 1 else "COMPLETED"
                doc = self.order(channel_id=channel_id,
                                 member_id=self.rng.choice(self.holders[channel_id]),
                                 placed=placed, campaign=campaign, coupon=code, status=status)
                if doc is not None:
                    break
            if status != "CANCELLED":
                uses[code] = uses.get(code, 0) + 1
        return uses


def add(data: dict[str, list[Doc]], seed: int) -> None:
    """Add the demo's promotions to ``data`` (every collection, unsorted)."""
    for fx in data["fx_rates"]:
        fx["snapshot_id"] = f"fx_{fx['currency'].lower()}_2026_01_01"
    data["fx_history"] = [{"_id": fx["snapshot_id"], "currency": fx["currency"],
                           "rate": fx["rate"], "base_currency": "CNY", "as_of": fx["as_of"],
                           "set_by": "demo"} for fx in data["fx_rates"]]
    campaigns = _campaigns(data["products"], {fx["currency"]: fx["rate"]
                                              for fx in data["fx_rates"]})
    build = _Builder(data, seed)
    codes = sorted({_code(build.rng) for _ in range(12)})
    build.golden_week(campaigns[0])
    uses = build.welcome(campaigns[1], codes)
    data["campaigns"] = campaigns
    data["coupons"] = [
        {"_id": code, "campaign_id": WELCOME, "batch_id": "cpb_demo", "max_uses": max_uses,
         "uses": uses.get(code, 0), "created_at": CREATED}
        for code, max_uses in [(PUBLIC_CODE, 1000), *((c, 1) for c in codes)]]
    data["coupon_redemptions"] = build.redemptions
    data["orders"] += build.orders
    data["payments"] += build.payments
    for member_id, delta in build.earned.items():
        member = build.members[member_id]
        member["points"] += delta
        member["tier"] = next(tier for floor, tier in _TIERS if member["points"] >= floor)
