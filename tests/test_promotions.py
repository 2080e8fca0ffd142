"""Campaigns and coupons through the API: placeOrder applies them on the server, each line
records its discount and campaign, coupons are used exactly once per use under concurrency
and given back by a cancelled or refused order, and only an admin writes campaigns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from gateway.commerce import promotions
from gateway.database.writes import campaigns as campaign_writes
from tests.support import SEEDS, WritingGateway, data, fresh_gateway, gql, orders

CAMPAIGN = """mutation($input: CreateCampaignInput!) { createCampaign(input: $input) {
  campaign { id name startsAt endsAt couponRequired channelKinds channels { id }
    rules { kind target skus percentOff amounts { minorUnits currencyCode } tiers } }
  userErrors { field code message } } }"""
COUPONS = """mutation($input: CreateCouponsInput!) { createCoupons(input: $input) {
  coupons { id code maxUses uses } userErrors { field code message } } }"""
PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id status coupon total { minorUnits } subtotal { minorUnits } discount { minorUnits }
    lines { sku lineTotal { minorUnits } discount { minorUnits }
            discounts { amount { minorUnits } level campaign { id } } } }
  userErrors { field code message } } }"""
CANCEL = """mutation($id: ID!) { cancelOrder(order: $id) { order { status }
  userErrors { code } } }"""
COUPON_STATE = """query($id: ID!) { campaign(id: $id) { coupons(first: 50) { edges { node {
  code uses maxUses } } } } }"""
TEA, MANGO = "sku_dianhong_black_tea_200g", "sku_steel_water_bottle_500ml"


def local_now(zone: str) -> datetime:
    """The wall clock in ``zone`` now, to the minute, without its offset."""
    return datetime.now(UTC).astimezone(ZoneInfo(zone)).replace(second=0, microsecond=0,
                                                                 tzinfo=None)


def window(zone: str = "Asia/Shanghai", *, before: float = 24, after: float = 48
           ) -> dict[str, str]:
    """A window around now in ``zone`` (hours before and after): by default, running now in
    every zone."""
    now = local_now(zone)
    return {"startsAt": (now - timedelta(hours=before)).isoformat(),
            "endsAt": (now + timedelta(hours=after)).isoformat()}


async def create(client: httpx.AsyncClient, key: str, **fields: Any) -> dict[str, Any]:
    body = await data(client, CAMPAIGN, {"input": {"name": key, "idempotencyKey": key,
                                                   **window(), **fields}})
    payload: dict[str, Any] = body["createCampaign"]
    assert payload["userErrors"] == [], payload
    return payload["campaign"]  # type: ignore[no-any-return]


async def coupons(client: httpx.AsyncClient, campaign: str, key: str, **fields: Any
                  ) -> list[str]:
    body = await data(client, COUPONS, {"input": {"campaign": campaign, "idempotencyKey": key,
                                                  **fields}})
    assert body["createCoupons"]["userErrors"] == [], body
    return [c["code"] for c in body["createCoupons"]["coupons"]]


async def place(client: httpx.AsyncClient, key: str, *, channel: str = "ch_my_market",
                member: str = "mem_00036", lines: list[tuple[str, int]] | None = None,
                **fields: Any) -> dict[str, Any]:
    body = await data(client, PLACE, {"input": {
        "channel": channel, "member": member, "idempotencyKey": key,
        "lines": [{"sku": s, "quantity": q} for s, q in (lines or [(MANGO, 1)])], **fields}})
    return body["placeOrder"]  # type: ignore[no-any-return]


def amounts(*pairs: tuple[str, int]) -> list[dict[str, str]]:
    return [{"currencyCode": c, "minorUnits": str(v)} for c, v in pairs]


EVERY_CURRENCY = (("CNY", 2000), ("USD", 300), ("MYR", 1200), ("THB", 10000))


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gateway(request: pytest.FixtureRequest, seeded: str
                  ) -> AsyncIterator[WritingGateway]:
    # Buckets in memory: 100 requests of one key at once, on a busy machine, can read the
    # clock more than a (1 s) bucket's length before their charge reaches the shared bucket,
    # which then refuses them though it is full (gateway/admission/throttle.py).
    async for writing in fresh_gateway(request.param, seeded, "promotions",
                                       throttle_store="memory"):
        yield writing


@pytest.fixture
async def gw(gateway: WritingGateway) -> AsyncIterator[WritingGateway]:
    """The module's gateway; the campaigns a test creates end with it (they would discount
    the next test's orders)."""
    yield gateway
    await gateway.db["campaigns"].delete_many(
        {"_id": {"$nin": [c["_id"] for c in SEEDS["campaigns"]]}})


async def test_place_order_applies_a_running_campaign_on_the_server(gw: WritingGateway) -> None:
    # given 15 % off water bottles and 10.00 MYR off orders from 50.00 MYR, in overseas channels
    campaign = await create(gw.client, "overseas-week", channelKinds=["OVERSEAS"], rules=[
        {"kind": "PERCENT_OFF", "target": "SKUS", "skus": [MANGO], "percentOff": "15"},
        {"kind": "AMOUNT_OFF", "target": "ORDER", "amounts": amounts(*EVERY_CURRENCY),
         "minSpend": amounts(("CNY", 5000), ("USD", 800), ("MYR", 5000), ("THB", 25000))}])
    assert campaign["rules"][0]["percentOff"] == "15"
    assert {c["id"] for c in campaign["channels"]} == {
        "ch_my_market", "ch_th_market", "ch_us_market"}
    # when an order is placed in Malaysia (offers' prices only: the client sends none)
    offers = {p["_id"]: {o["channel_id"]: o["price"] for o in p["offers"]}
              for p in SEEDS["products"]}
    mango, tea = offers[MANGO]["ch_my_market"], offers[TEA].get("ch_my_market")
    lines = [(MANGO, 4)] + ([(TEA, 1)] if tea else [])
    placed = await place(gw.client, "overseas-1", lines=lines)
    order = placed["order"]
    # then the bottle line takes 15 %, and the order 12.00 MYR spread over what is left
    mango_cut = promotions.percent_of(4 * mango, 1500)
    left = [4 * mango - mango_cut] + ([tea] if tea else [])
    order_cut = 1200 if sum(left) >= 5000 else 0
    shares = promotions.spread(order_cut, left)
    assert order["subtotal"]["minorUnits"] == str(4 * mango + (tea or 0))
    assert order["discount"]["minorUnits"] == str(mango_cut + order_cut)
    assert order["total"]["minorUnits"] == str(sum(left) - order_cut)
    assert order["lines"][0]["discounts"][0] == {
        "amount": {"minorUnits": str(mango_cut)}, "level": "LINE",
        "campaign": {"id": campaign["id"]}}
    assert [int(line["discount"]["minorUnits"]) for line in order["lines"]] == [
        cut + share for cut, share in zip([mango_cut, 0][:len(left)], shares, strict=True)]
    # and the order in a supermarket, a kind the campaign does not cover, pays full price
    other = await place(gw.client, "overseas-2", channel="ch_freshmart",
                        location="loc_fm_shenzhen_nanshan", member="mem_00012",
                        lines=[(MANGO, 4)])
    assert other["order"]["discount"]["minorUnits"] == "0"
    assert other["order"]["lines"][0]["discounts"] == []


async def test_a_window_is_read_in_each_channels_time_zone(gw: WritingGateway) -> None:
    # given a campaign from 2 hours ago to 2 days on, Shanghai's wall clock: in Los Angeles,
    # 15 or 16 hours behind, it has not started yet
    campaign = await create(gw.client, "shanghai-hours", channelKinds=["OVERSEAS",
                                                                       "SUPERMARKET"],
                            rules=[{"kind": "PERCENT_OFF", "target": "ORDER",
                                    "percentOff": "50"}], **window(before=2))
    here = await place(gw.client, "tz-here", channel="ch_freshmart", member="mem_00012",
                       location="loc_fm_shenzhen_nanshan", lines=[(MANGO, 1)])
    there = await place(gw.client, "tz-there", channel="ch_us_market", member="mem_00037",
                        lines=[(MANGO, 1)])
    assert campaign["id"] in {d["campaign"]["id"] for line in here["order"]["lines"]
                              for d in line["discounts"]}
    assert all(campaign["id"] != d["campaign"]["id"] for line in there["order"]["lines"]
               for d in line["discounts"])


async def test_a_client_cannot_send_a_price(gw: WritingGateway) -> None:
    body = await gql(gw.client, """mutation { placeOrder(input: {channel: "ch_my_market",
      idempotencyKey: "price", lines: [{sku: "sku_dried_mango_200g", quantity: 1,
      unitPrice: "1"}]}) { order { id } } }""")
    assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]


async def test_a_single_use_coupon_is_used_once_and_given_back_by_a_cancel(
    gw: WritingGateway,
) -> None:
    campaign = await create(gw.client, "welcome-single", channels=["ch_th_market"],
                            couponRequired=True, rules=[
                                {"kind": "AMOUNT_OFF", "target": "ORDER",
                                 "amounts": amounts(*EVERY_CURRENCY)}])
    (code,) = await coupons(gw.client, campaign["id"], "single", codes=["th-once-1"])
    assert code == "TH-ONCE-1"
    # without its coupon, the campaign does not apply
    plain = await place(gw.client, "single-0", channel="ch_th_market", lines=[(MANGO, 2)])
    assert plain["order"]["discount"]["minorUnits"] == "0"
    first = await place(gw.client, "single-1", channel="ch_th_market", lines=[(MANGO, 2)],
                        coupon="th-once-1")
    assert (first["order"]["coupon"], first["order"]["discount"]) == (
        "TH-ONCE-1", {"minorUnits": "10000"})
    second = await place(gw.client, "single-2", channel="ch_th_market", lines=[(MANGO, 2)],
                         coupon="TH-ONCE-1")
    assert second == {"order": None, "userErrors": [{
        "field": "coupon", "code": "COUPON_EXHAUSTED",
        "message": "Coupon TH-ONCE-1 has no use left."}]}
    # when the first order is cancelled, its use comes back (once, however often cancelled)
    for _ in range(2):
        cancelled = await data(gw.client, CANCEL, {"id": first["order"]["id"]})
        assert cancelled["cancelOrder"] == {"order": {"status": "CANCELLED"}, "userErrors": []}
    state = await data(gw.client, COUPON_STATE, {"id": campaign["id"]})
    assert [e["node"] for e in state["campaign"]["coupons"]["edges"]] == [
        {"code": "TH-ONCE-1", "uses": "0", "maxUses": "1"}]
    third = await place(gw.client, "single-3", channel="ch_th_market", lines=[(MANGO, 2)],
                        coupon="TH-ONCE-1")
    assert third["userErrors"] == []


async def test_returned_units_of_a_discounted_line_refund_what_was_paid_for_them(
    gw: WritingGateway,
) -> None:
    # given a paid and shipped order of 3 bottles at 15 % off
    await create(gw.client, "returns", channels=["ch_flagship"], rules=[
        {"kind": "PERCENT_OFF", "target": "SKUS", "skus": [MANGO], "percentOff": "15"}])
    placed = await place(gw.client, "returns-1", channel="ch_flagship", member="mem_00046",
                         lines=[(MANGO, 3)])
    order = placed["order"]
    total, discount = int(order["total"]["minorUnits"]), int(order["discount"]["minorUnits"])
    assert discount > 0 and total == int(order["subtotal"]["minorUnits"]) - discount
    await orders.pay(gw, order["id"], total, "returns-1")
    shipped = await data(gw.client, orders.SHIP, {"input": {
        "order": order["id"], "location": "loc_wh_hangzhou", "carrier": "YTO",
        "trackingNumber": "returns-1", "idempotencyKey": "returns-1"}})
    assert shipped["shipOrder"]["userErrors"] == []

    async def give_back(key: str, units: int) -> int:
        body = await data(gw.client, orders.RETURN, {"input": {
            "order": order["id"], "location": "loc_wh_hangzhou", "reason": "test",
            "lines": [{"sku": MANGO, "quantity": units}], "idempotencyKey": key}})
        assert body["returnOrder"]["userErrors"] == []
        return int(body["returnOrder"]["return"]["refunded"]["minorUnits"])

    # when one bottle comes back, then the two others
    one = await give_back("returns-a", 1)
    # then the first is refunded its share of the discounted line, rounded down, not the
    # list price; and all three give back exactly what the order cost
    assert one == total // 3 < int(order["lines"][0]["lineTotal"]["minorUnits"]) // 3
    assert one + await give_back("returns-b", 2) == total
    refunded = await gw.db["orders"].find_one({"_id": order["id"]})
    assert (refunded["refunded"], refunded["refunded_base"]) == (total, total)


async def test_coupons_that_do_not_apply_are_refused_and_not_spent(gw: WritingGateway) -> None:
    campaign = await create(gw.client, "welcome-min", channels=["ch_my_market"],
                            couponRequired=True, rules=[
                                {"kind": "AMOUNT_OFF", "target": "ORDER",
                                 "amounts": amounts(*EVERY_CURRENCY),
                                 "minSpend": amounts(("CNY", 10**6), ("USD", 10**6),
                                                     ("MYR", 10**6), ("THB", 10**6))}])
    await coupons(gw.client, campaign["id"], "min", codes=["MY-BIG-1"], maxUses="3")
    cases = [("NOPE-1", "ch_my_market", "NOT_FOUND"),
             ("MY-BIG-1", "ch_my_market", "COUPON_NOT_APPLICABLE"),  # below its minimum
             ("MY-BIG-1", "ch_th_market", "COUPON_NOT_APPLICABLE")]  # not in that channel
    for n, (code, channel, error) in enumerate(cases):
        refused = await place(gw.client, f"min-{n}", channel=channel, coupon=code,
                              lines=[(MANGO, 1)])
        assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [("coupon", error)]
    state = await data(gw.client, COUPON_STATE, {"id": campaign["id"]})
    assert state["campaign"]["coupons"]["edges"][0]["node"]["uses"] == "0"
    body = await gql(gw.client, PLACE, {"input": {"channel": "ch_my_market", "lines": [
        {"sku": MANGO, "quantity": 1}], "idempotencyKey": "min-x", "coupon": "a b"}})
    assert body["data"]["placeOrder"]["userErrors"][0]["code"] == "INVALID"


async def test_a_refused_order_gives_its_coupon_use_back(gw: WritingGateway) -> None:
    campaign = await create(gw.client, "welcome-stock", channels=["ch_freshmart"],
                            couponRequired=True, rules=[
                                {"kind": "PERCENT_OFF", "target": "ORDER", "percentOff": "5"}])
    await coupons(gw.client, campaign["id"], "stock", codes=["FM-STOCK-1"])
    store = "loc_fm_beijing_chaoyang"
    level = await gw.db["inventory"].find_one({"_id": f"{MANGO}@{store}"})
    short = await place(gw.client, "stock-1", channel="ch_freshmart", location=store,
                        member="mem_00012", coupon="FM-STOCK-1",
                        lines=[(MANGO, level["on_hand"] - level["reserved"] + 1)])
    assert [e["code"] for e in short["userErrors"]] == ["INSUFFICIENT_STOCK"]
    state = await data(gw.client, COUPON_STATE, {"id": campaign["id"]})
    assert state["campaign"]["coupons"]["edges"][0]["node"]["uses"] == "0"
    assert await gw.db["coupon_redemptions"].find_one({"code": "FM-STOCK-1",
                                                       "status": "REDEEMED"}) is None


@dataclass
class Race:
    """What ``n`` concurrent orders with one code gave."""

    outcome: dict[str, int]  # PLACED or the user error code -> how many
    at_the_update: int  # requests that reached the conditional $inc (the others were refused
    # by the read before it, the use being taken already)
    seconds: float


async def race(client: httpx.AsyncClient, code: str, tag: str, channels: list[str],
               n: int) -> Race:
    """``n`` orders at once with ``code``, in turn in each channel."""
    query = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
      order { id } userErrors { code } } }"""
    started = time.perf_counter()
    bodies = await asyncio.gather(*(gql(client, query, {"input": {
        "channel": channels[i % len(channels)], "coupon": code, "idempotencyKey": f"{tag}-{i}",
        "lines": [{"sku": MANGO, "quantity": 3}]}}) for i in range(n)))
    seconds = time.perf_counter() - started
    outcome: dict[str, int] = {}
    for body in bodies:
        payload = body["data"]["placeOrder"]
        key = "PLACED" if payload["order"] else payload["userErrors"][0]["code"]
        outcome[key] = outcome.get(key, 0) + 1
    at_the_update = sum(body["extensions"]["db"]["byCollection"].get("coupons", 0) == 2
                        for body in bodies)
    return Race(outcome, at_the_update, seconds)


async def test_one_hundred_concurrent_orders_with_a_single_use_code(gw: WritingGateway) -> None:
    campaign = await create(gw.client, "race", channelKinds=["ONLINE_SHOP", "OVERSEAS"],
                            couponRequired=True, rules=[
                                {"kind": "AMOUNT_OFF", "target": "ORDER",
                                 "amounts": amounts(("CNY", 100), ("USD", 10), ("MYR", 10),
                                                    ("THB", 100))}])
    await coupons(gw.client, campaign["id"], "race", codes=["RACE-ONE", "RACE-TWO", "RACE-5"])
    await coupons(gw.client, campaign["id"], "race-5", codes=["RACE-FIVE"], maxUses="5")
    # one channel: 100 at once, exactly one wins
    one = await race(gw.client, "RACE-ONE", "r1", ["ch_my_market"], 100)
    assert one.outcome == {"PLACED": 1, "COUPON_EXHAUSTED": 99}
    # two channels at once: one wins
    two = await race(gw.client, "RACE-TWO", "r2", ["ch_flagship", "ch_th_market"], 100)
    assert two.outcome == {"PLACED": 1, "COUPON_EXHAUSTED": 99}
    # five uses, 100 at once in three channels: exactly five win
    five = await race(gw.client, "RACE-FIVE", "r5",
                      ["ch_flagship", "ch_my_market", "ch_us_market"], 100)
    assert five.outcome == {"PLACED": 5, "COUPON_EXHAUSTED": 95}
    # and the database agrees: uses, redemptions and orders
    for code, winners in (("RACE-ONE", 1), ("RACE-TWO", 1), ("RACE-FIVE", 5)):
        assert (await gw.db["coupons"].find_one({"_id": code}))["uses"] == winners
        assert await gw.db["coupon_redemptions"].count_documents({"code": code}) == winners
        assert await gw.db["orders"].count_documents({"coupon.code": code}) == winners
    for name, found in (("one channel", one), ("two channels", two), ("5 uses", five)):
        print(f"\n{gw.kind}, 100 concurrent orders, {name}: {found.outcome}, "
              f"{found.at_the_update} reached the conditional $inc, {found.seconds:.2f} s")


async def test_the_conditional_update_alone_lets_one_of_a_hundred_take_a_use(
    gw: WritingGateway,
) -> None:
    # without the read before it (most racing orders are refused by that read): 100 takes
    # of a single-use code at once, straight at the database
    await gw.db["coupons"].insert_one({"_id": "RAW-ONE", "campaign_id": "cmp_welcome_back",
                                       "batch_id": "cpb_raw", "max_uses": 1, "uses": 0})
    taken = await asyncio.gather(*(campaign_writes.take_use(gw.db, code="RAW-ONE")
                                   for _ in range(100)))
    assert sum(t is not None for t in taken) == 1
    assert (await gw.db["coupons"].find_one({"_id": "RAW-ONE"}))["uses"] == 1


async def test_only_an_admin_writes_campaigns_coupons_and_rates(gw: WritingGateway) -> None:
    partner = gw.gateway.client(await gw.gateway.key("promo-partner", "partner",
                                                     ("ch_my_market",)))
    async with partner:
        for mutation, name in (
            ("""createCampaign(input: {name: "x", startsAt: "2026-01-01T00:00",
              endsAt: "2026-01-02T00:00", idempotencyKey: "x",
              rules: [{kind: PERCENT_OFF, target: ORDER, percentOff: "1"}]}) {
              campaign { id } }""", "createCampaign"),
            ("""createCoupons(input: {campaign: "cmp_welcome_back", codes: ["X-1"],
              idempotencyKey: "x"}) { coupons { id } }""", "createCoupons"),
            ("""setFxRate(input: {currency: "USD", rate: "7", idempotencyKey: "x"}) {
              fxRate { id } }""", "setFxRate"),
        ):
            body = await gql(partner, f"mutation {{ {mutation} }}")
            assert body["data"] is None
            assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [
                ("FORBIDDEN", [name])]
        assert await gw.db["coupons"].find_one({"_id": "X-1"}) is None
        # a partner sees the campaigns covering its channels, and its channels alone
        foreign = await create(gw.client, "thai-only", channels=["ch_th_market"], rules=[
            {"kind": "PERCENT_OFF", "target": "ORDER", "percentOff": "1"}])
        seen = await data(partner, """{ campaigns(first: 100) { edges { node { id
          channels { id } } } } }""")
        nodes = [e["node"] for e in seen["campaigns"]["edges"]]
        assert {n["id"] for n in nodes} == {"cmp_golden_week_2026", "cmp_welcome_back"}
        assert all(n["channels"] == [{"id": "ch_my_market"}] for n in nodes), nodes
        assert (await data(partner, "query($id: ID!) { campaign(id: $id) { id } }",
                           {"id": foreign["id"]})) == {"campaign": None}
        # and it may redeem a coupon in its channel
        campaign = await create(gw.client, "partner-coupon", channels=["ch_my_market"],
                                couponRequired=True, rules=[
                                    {"kind": "PERCENT_OFF", "target": "ORDER",
                                     "percentOff": "10"}])
        await coupons(gw.client, campaign["id"], "partner", codes=["MY-PARTNER"])
        mine = await place(partner, "partner-1", coupon="MY-PARTNER")
        assert mine["userErrors"] == [] and mine["order"]["coupon"] == "MY-PARTNER"


async def test_a_coupon_order_sends_a_known_number_of_commands(gw: WritingGateway) -> None:
    campaign = await create(gw.client, "commands", channels=["ch_us_market"],
                            couponRequired=True, rules=[
                                {"kind": "AMOUNT_OFF", "target": "ORDER",
                                 "amounts": amounts(*EVERY_CURRENCY)}])
    await coupons(gw.client, campaign["id"], "commands", codes=["US-COMMANDS"], maxUses="9")
    query = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
      order { id } userErrors { code } } }"""
    body = await gql(gw.client, query, {"input": {
        "channel": "ch_us_market", "member": "mem_00037", "coupon": "US-COMMANDS",
        "lines": [{"sku": MANGO, "quantity": 5}], "idempotencyKey": "commands-1"}})
    assert body["data"]["placeOrder"]["userErrors"] == []
    # claim; channels, products, members, fx_rates; campaigns and the coupon (together);
    # the use ($inc); the redemption; allocation's read of the levels at the channel's
    # fulfilment locations and the line's reservation where it chose; the claim committed;
    # the order; its member rollup folded, then the order's due entry removed; the key DONE
    assert body["extensions"]["db"] == {"commands": 16, "byCollection": {
        "campaigns": 1, "channels": 1, "coupon_redemptions": 1, "coupons": 2, "fx_rates": 1,
        "idempotency": 3, "inventory": 2, "member_rollups": 1, "members": 1, "orders": 2,
        "products": 1}}
    order = await gw.db["orders"].find_one(
        {"_id": body["data"]["placeOrder"]["order"]["id"]})
    assert (order["location_id"], order["stock"]) == ("loc_wh_los_angeles_bonded", "RESERVED")


async def test_the_demo_orders_carry_the_discounts_the_engine_gives() -> None:
    campaigns = {c["_id"]: c for c in SEEDS["campaigns"]}
    members = {m["_id"]: m for m in SEEDS["members"]}
    channels = {c["_id"]: c for c in SEEDS["channels"]}
    promo_orders = [o for o in SEEDS["orders"] if o["_id"].startswith("ord_p")]
    assert len(promo_orders) > 20
    for order in promo_orders:
        channel = channels[order["channel_id"]]
        running = [c for c in campaigns.values()
                   if promotions.covers(c, channel_id=channel["_id"], kind=channel["kind"])
                   and promotions.running(c, at=order["placed_at"],
                                          time_zone=channel["time_zone"])
                   and (not c["coupon_required"]
                        or c["_id"] == (order.get("coupon") or {}).get("campaign_id"))]
        pricing = promotions.price(
            [(x["sku"], x["quantity"], x["unit_price"]) for x in order["lines"]],
            campaigns=running, currency=order["currency"],
            tier=members[order["member_id"]]["tier"])
        assert [line.document() for line in pricing.lines] == order["lines"], order["_id"]
        assert pricing.total == order["total"]
