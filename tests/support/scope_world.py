"""The world the scope walk reads (tests/test_scope_walk.py), served by a real uvicorn.

A fresh copy of the demo data (its own database on the wire server, or a new embedded store)
plus, written through the API as an admin: points earned and taken back in several channels,
before and after merges; a merge of a member known only in other channels (its rural-outlet
identity is a phone number) and of a member holding one of the partner's identities, into a
member the partner sees; a merge undone; members enrolled in another channel and in the
partner's; an import at a rural outlet; orders shipped and returned (one of another channel,
taken back at the partner's store), one ready for pick-up; visits and stock adjustments in
other channels; consent recorded in the partner's channel and another; a segment saved by
the partner with every rule, and one by an admin; transfers at every step between the
partner's stores, between others' locations and across; a campaign running now in the
partner's kinds of channel (so the world's orders there are discounted), a coupon campaign of
its own channel and one of another channel's, each with a coupon redeemed; points spent in its
channel and in another; a new exchange rate.

The partner holds ``ch_freshmart`` (a supermarket chain) and ``ch_us_market`` (an overseas
marketplace); every other channel is someone else's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette

from gateway.admission.keys import create_key
from gateway.app import create_app
from gateway.database import Database, connect, seeding
from gateway.settings import Settings
from tests.support import ROOT, TEST_DEFAULTS, data
from tests.support.servers import serving

PARTNER = ("ch_freshmart", "ch_us_market")
PARTNER_KEY, ADMIN_KEY = "walk-partner", "walk-admin"
SURVIVOR = "mem_00013"  # ch_flagship, ch_miniapp, ch_th_market, ch_us_market
FAR = "mem_00044"  # ch_flagship, ch_miniapp, ch_villagelink (a phone number): none of P's
NEAR = "mem_00022"  # ch_freshmart, ch_us_market, ch_villagelink
UNDONE = ("mem_00027", "mem_00026")  # ch_flagship; ch_freshmart: merged, then unmerged
SKU = "sku_dried_mango_200g"
OUTLET, STORE = "loc_vl_anji", "loc_fm_beijing_chaoyang"
# The walk's documents are large: these limits are raised (the scope test is not about them).
LIMITS: dict[str, Any] = {"max_tokens": 100_000, "max_aliases": 1000, "max_depth": 100,
                          "max_document_length": 1_000_000,
                          "max_cost": 1_000_000, "max_body_bytes": 10_000_000,
                          "live_poll_interval_ms": 100}

PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id total { minorUnits currencyCode } } userErrors { code message } } }"""
PAY = """mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
  userErrors { code message } } }"""
CANCEL = """mutation($id: ID!) { cancelOrder(order: $id) { userErrors { code } } }"""
MERGE = """mutation($s: ID!, $m: ID!) { mergeMembers(survivor: $s, merged: $m) {
  merge { id } userErrors { code } } }"""
UNMERGE = """mutation($id: ID!) { unmergeMembers(mergeId: $id) { userErrors { code } } }"""
ENROL = """mutation($input: EnrolMemberInput!) { enrolMember(input: $input) {
  member { id } userErrors { code message } } }"""
IMPORT = """mutation($orders: [ImportOrderInput!]!) { importOrders(channel: "ch_villagelink",
  location: "loc_vl_anji", orders: $orders) { created userErrors { code message }
  results { userErrors { code message } } } }"""
VISIT = """mutation($input: RecordVisitInput!) { recordVisit(input: $input) {
  userErrors { code message } } }"""
SHIP = """mutation($input: ShipOrderInput!) { shipOrder(input: $input) {
  shipment { id } userErrors { code message } } }"""
RETURN = """mutation($input: ReturnOrderInput!) { returnOrder(input: $input) {
  return { id } userErrors { code message } } }"""
PREPARE = """mutation($o: ID!, $k: String!) { preparePickup(order: $o, idempotencyKey: $k) {
  order { id } userErrors { code message } } }"""
ADJUST = """mutation($loc: ID!, $on: Int!) { adjustStock(sku: "sku_dried_mango_200g",
  location: $loc, delta: 3, reason: "count", expectedOnHand: $on) { userErrors { code } } }"""
TRANSFER = """mutation($input: CreateTransferInput!) { createTransfer(input: $input) {
  transfer { id } userErrors { code message } } }"""
STEP = """mutation($id: ID!, $key: String!) { %s(transfer: $id, idempotencyKey: $key) {
  transfer { id status } userErrors { code message } } }"""
# (from, to, steps): the partner's own stores, another channel's warehouses, and across
TRANSFERS = (("loc_fm_beijing_chaoyang", "loc_fm_chengdu_jinjiang", ("ship", "receive")),
             ("loc_fm_shenzhen_nanshan", "loc_fm_beijing_chaoyang", ("ship",)),
             ("loc_wh_hangzhou", "loc_wh_wuhan", ("ship", "receive")),
             ("loc_wh_hangzhou", "loc_fm_shanghai_xuhui", ("ship", "receive")),
             ("loc_fm_chengdu_jinjiang", "loc_vl_anji", ("cancel",)))
CAMPAIGN = """mutation($input: CreateCampaignInput!) { createCampaign(input: $input) {
  campaign { id } userErrors { code message } } }"""
COUPONS = """mutation($input: CreateCouponsInput!) { createCoupons(input: $input) {
  coupons { code } userErrors { code message } } }"""
REDEEM = """mutation($input: RedeemPointsInput!) { redeemPoints(input: $input) {
  payment { id amount { minorUnits } } userErrors { code message } } }"""
FX = """mutation($input: SetFxRateInput!) { setFxRate(input: $input) {
  fxRate { id } userErrors { code message } } }"""
MONEY = [{"currencyCode": c, "minorUnits": v} for c, v in (("CNY", "500"), ("USD", "100"),
                                                            ("MYR", "300"), ("THB", "2000"))]


CONSENT = """mutation($input: RecordConsentInput!) { recordConsent(input: $input) {
  userErrors { code message } } }"""
SAVE = """mutation($input: SaveSegmentInput!) { saveSegment(input: $input) {
  segment { id } userErrors { code message } } }"""
ALL_TIME = {"since": "2026-01-01T00:00:00Z"}
EVERY_RULE = {"activeIn": {"kinds": ["SUPERMARKET", "OVERSEAS"], "window": ALL_TIME},
              "lifetimeValue": {"atLeast": "1", "below": "100000000"},
              "lastActivity": {"withinDays": 3650, "notWithinDays": 1, "since": ALL_TIME["since"],
                               "before": "2030-01-01T00:00:00Z"},
              "visited": {"locations": [STORE], "window": {"withinDays": 3650}},
              "rfm": {"recency": {"min": 1}, "frequency": {"min": 1}, "monetary": {"min": 1}}}


@dataclass
class World:
    """The served gateway, its database, an admin's and the partner's clients."""

    app: Starlette
    url: str
    db: Database
    admin: httpx.AsyncClient
    partner: httpx.AsyncClient
    keys: dict[str, str]  # key name -> key
    designated: list[str]  # the ids the world made, most telling first


async def served_world(kind: str, uri: str) -> AsyncIterator[World]:
    """A world on the wire server (``kind == "wire"``) or the embedded store."""
    settings = Settings(mongodb_uri=uri if kind == "wire" else None,
                        database="omnigw_scope_walk", debug_db_stats=True,
                        **{**TEST_DEFAULTS, **LIMITS})
    if kind == "wire":
        db = connect(settings)
        try:
            await db.client.drop_database(settings.database)
            await seeding.load(db, seeding.read_seed_files(ROOT / "seeds"))
        finally:
            await db.close()
    app = create_app(settings)
    async with serving(app) as url:
        db = app.state.db
        keys = {
            ADMIN_KEY: await create_key(db, settings, name=ADMIN_KEY, role="admin",
                                             replace=True),
            PARTNER_KEY: await create_key(db, settings, name=PARTNER_KEY,
                                               role="partner", channels=PARTNER, replace=True),
        }
        async with client(app, keys[ADMIN_KEY]) as admin, \
                client(app, keys[PARTNER_KEY]) as partner:
            designated = await build(admin, db, partner)
            yield World(app, url, db, admin, partner, keys, designated)


def client(app: Starlette, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway",
                             headers={"Authorization": f"Bearer {key}"}, timeout=60)


async def ok(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    result = await data(client, query, variables)
    payload = next(iter(result.values()))
    assert not payload.get("userErrors"), payload
    return payload


async def paid_order(client: httpx.AsyncClient, *, channel: str, member: str, key: str,
                     location: str | None = None, coupon: str | None = None,
                     points: int = 0) -> str:
    placed = await ok(client, PLACE, {"input": {
        "channel": channel, "member": member, "idempotencyKey": key, "location": location,
        "lines": [{"sku": SKU, "quantity": 1}], "coupon": coupon}})
    order = placed["order"]
    paid = 0
    if points:
        redeemed = await ok(client, REDEEM, {"input": {
            "order": order["id"], "points": str(points), "idempotencyKey": key}})
        paid = int(redeemed["payment"]["amount"]["minorUnits"])
    await ok(client, PAY, {"input": {
        "order": order["id"], "amount": str(int(order["total"]["minorUnits"]) - paid),
        "currency": order["total"]["currencyCode"], "method": "CASH", "idempotencyKey": key}})
    return str(order["id"])


async def transfers(admin: httpx.AsyncClient) -> list[str]:
    """Transfers at every step, the partner's and others': their ids."""
    made = []
    for n, (source, destination, steps) in enumerate(TRANSFERS):
        transfer = (await ok(admin, TRANSFER, {"input": {
            "from": source, "to": destination, "idempotencyKey": f"walk-trf-{n}",
            "lines": [{"sku": SKU, "quantity": 2}]}}))["transfer"]
        for step in steps:
            await ok(admin, STEP % f"{step}Transfer", {"id": transfer["id"],
                                                       "key": f"walk-trf-{n}-{step}"})
        made.append(transfer["id"])
    return made


async def campaigns(admin: httpx.AsyncClient) -> tuple[str, str]:
    """A campaign running now in the partner's kinds of channel, and two coupon campaigns,
    of its channel and of another's, with a coupon each; the two codes."""
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    window = {"startsAt": (now - timedelta(days=2)).isoformat(),
              "endsAt": (now + timedelta(days=30)).isoformat()}
    await ok(admin, CAMPAIGN, {"input": {
        "name": "Walk week", **window, "channelKinds": ["SUPERMARKET", "OVERSEAS"],
        "idempotencyKey": "walk-campaign",
        "rules": [{"kind": "PERCENT_OFF", "target": "ORDER", "percentOff": "5"}]}})
    codes = []
    for channel, name in (("ch_us_market", "mine"), ("ch_flagship", "theirs")):
        made = await ok(admin, CAMPAIGN, {"input": {
            "name": f"Walk coupon {name}", **window, "channels": [channel],
            "couponRequired": True, "idempotencyKey": f"walk-coupon-{name}",
            "rules": [{"kind": "AMOUNT_OFF", "target": "ORDER", "amounts": MONEY}]}})
        coupons = await ok(admin, COUPONS, {"input": {
            "campaign": made["campaign"]["id"], "codes": [f"WALK-{name.upper()}-1",
                                                          f"WALK-{name.upper()}-2"],
            "maxUses": "5", "idempotencyKey": f"walk-coupons-{name}"}})
        codes.append(coupons["coupons"][0]["code"])
    await ok(admin, FX, {"input": {"currency": "USD", "rate": "7.2031",
                                   "idempotencyKey": "walk-fx"}})
    return codes[0], codes[1]


async def build(admin: httpx.AsyncClient, db: Database, partner: httpx.AsyncClient
                ) -> list[str]:
    """The writes of the module docstring; the ids they made, most telling first."""
    await ok(admin, ADJUST.replace("delta: 3", "delta: 50"),
             {"loc": "loc_wh_los_angeles_bonded", "on": 0})  # the partner's warehouse ships
    moved = await transfers(admin)
    mine, theirs = await campaigns(admin)
    await paid_order(admin, channel="ch_us_market", member=NEAR, key="near-coupon",
                     coupon=mine, points=100)
    await paid_order(admin, channel="ch_flagship", member=FAR, key="far-coupon", coupon=theirs,
                     points=100)
    await paid_order(admin, channel="ch_flagship", member=FAR, key="far")
    await paid_order(admin, channel="ch_us_market", member=NEAR, key="near")
    await paid_order(admin, channel="ch_freshmart", member=NEAR, key="near-fm",
                     location=STORE)
    merges = [(await ok(admin, MERGE, {"s": SURVIVOR, "m": m}))["merge"]["id"]
              for m in (FAR, NEAR)]
    undone = (await ok(admin, MERGE, {"s": UNDONE[0], "m": UNDONE[1]}))["merge"]["id"]
    await ok(admin, UNMERGE, {"id": undone})
    cancelled = await paid_order(admin, channel="ch_flagship", member=SURVIVOR, key="s-cancel")
    await ok(admin, CANCEL, {"id": cancelled})
    await paid_order(admin, channel="ch_us_market", member=SURVIVOR, key="s-us")
    mine = await paid_order(admin, channel="ch_us_market", member=SURVIVOR, key="s-us-2")
    await ok(admin, CANCEL, {"id": mine})
    enrolled = []
    for home, external, key in (("ch_villagelink", "+86 139 0000 0417", "enrol-vl"),
                                ("ch_freshmart", "FM-WALK-1", "enrol-fm")):
        enrolled.append((await ok(admin, ENROL, {"input": {
            "name": f"Walk {key}", "homeChannel": home, "externalId": external,
            "phone": "+86 139 0000 0417" if home == "ch_villagelink" else None,
            "email": f"{key}@example.net", "idempotencyKey": key}}))["member"]["id"])
    await ok(admin, IMPORT, {"orders": [{
        "externalId": "walk-imp-1", "currency": "CNY", "placedAt": "2026-10-30T03:00:00Z",
        "identity": {"channel": "ch_villagelink", "externalId": "+86 134 7245 1219"},
        "lines": [{"sku": SKU, "quantity": 1, "unitPrice": "1990"}]}]})
    returns = [await shipped_and_returned(admin, channel=channel, member=member, key=key,
                                          origin=origin, location=location)
               for channel, member, key, origin, location in (
                   ("ch_freshmart", NEAR, "life-fm", STORE, STORE),
                   # another channel's order, taken back at the partner's store
                   ("ch_flagship", FAR, "life-far", "loc_wh_hangzhou", None))]
    pickup = await paid_order(admin, channel="ch_freshmart", member=NEAR, key="life-pick",
                              location=STORE)
    await ok(admin, PREPARE, {"o": pickup, "k": "life-pick"})
    await paid_order(admin, channel="ch_freshmart", member=enrolled[1], key="first-fm",
                     location=STORE)  # a first order: a cohort of this week
    for channel, granted in (("ch_freshmart", True), ("ch_villagelink", False)):
        await ok(admin, CONSENT, {"input": {
            "member": NEAR, "channel": channel, "purpose": "ANALYTICS", "granted": granted,
            "source": "walk", "idempotencyKey": f"consent-{channel}"}})
    segments = [(await ok(client, SAVE, {"input": {
        "name": f"walk {n}", "purpose": "ANALYTICS", "definition": definition,
        "idempotencyKey": f"segment-{n}"}}))["segment"]["id"]
        for n, (client, definition) in enumerate(((partner, EVERY_RULE),
                                                  (admin, {"tiers": ["GOLD"]})))]
    await activity(admin, "world")
    for location in (OUTLET, STORE):
        level = await db["inventory"].find_one({"_id": f"{SKU}@{location}"})
        await ok(admin, ADJUST, {"loc": location, "on": level["on_hand"]})
    return [SURVIVOR, NEAR, FAR, *UNDONE, *merges, undone, *enrolled, mine, cancelled,
            *returns, *segments, *moved]


async def shipped_and_returned(admin: httpx.AsyncClient, *, channel: str, member: str,
                               key: str, origin: str, location: str | None) -> str:
    """A paid order shipped from ``origin`` and returned at the partner's store; the
    return's id."""
    order = await paid_order(admin, channel=channel, member=member, key=key,
                             location=location)
    await ok(admin, SHIP, {"input": {"order": order, "location": origin, "carrier": "SF",
                                     "trackingNumber": key, "idempotencyKey": key}})
    returned = await ok(admin, RETURN, {"input": {
        "order": order, "location": STORE, "reason": "walk", "idempotencyKey": key,
        "lines": [{"sku": SKU, "quantity": 1}]}})
    return str(returned["return"]["id"])


async def activity(admin: httpx.AsyncClient, tag: str) -> None:
    """Visits and an order of the members the partner sees, in its channels and others'."""
    for channel, member, location in (("ch_flagship", SURVIVOR, None),
                                      ("ch_freshmart", NEAR, STORE),
                                      ("ch_villagelink", NEAR, OUTLET)):
        await ok(admin, VISIT, {"input": {
            "channel": channel, "kind": "STORE_VISIT" if location else "APP_SESSION",
            "source": "walk", "member": member, "location": location,
            "idempotencyKey": f"{tag}-visit-{channel}"}})
    for channel in ("ch_flagship", "ch_us_market"):
        await paid_order(admin, channel=channel, member=SURVIVOR, key=f"{tag}-{channel}")
