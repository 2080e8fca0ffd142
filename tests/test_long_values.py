"""Totals, counts and points beyond 32 bits (and sums beyond 2^53), exact on both stores.

A crafted week of one member's orders in ch_flagship: 2,148 orders of 1,000,000 units at
4,194,304 fen and one order of 1 unit at 1 fen, 2 fen of the first one refunded. Revenue is
9,009,364,992,000,001 fen, spend and lifetime value (net of the refund) 9,009,364,991,999,999
(2^53 < both, and odd: a double cannot hold them), units are 2,148,000,001 (above 2^31), and
the member holds 5,000,000,000 points. The data is written to
the database directly: the ceilings of the writes (tests/test_ceilings.py) would refuse it,
and reads must stay exact whatever is stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.database import rollups
from tests.support import WritingGateway, data, fresh_gateway

MEMBER, CHANNEL, SKU = "mem_big", "ch_flagship", "sku_baby_diapers_m_60"
BULK_ORDERS, UNITS, UNIT_PRICE = 2148, 1_000_000, 4_194_304
TOTAL = BULK_ORDERS * UNITS * UNIT_PRICE + 1  # 9009364992000001
REFUNDED = 2  # of ord_big_0000, in fen (CNY: its base value too)
NET = TOTAL - REFUNDED  # 9009364991999999
POINTS = 5_000_000_000
PLACED = datetime(2027, 1, 5, 4, tzinfo=UTC)  # a week with no other activity
WINDOW = {"since": "2027-01-04T00:00:00+08:00", "until": "2027-01-11T00:00:00+08:00"}

QUERY = """query($channel: ID!, $member: ID!, $order: ID!, $since: DateTime!,
                 $until: DateTime!) {
  channel(id: $channel) {
    sales(since: $since, until: $until, bucket: WEEK) { buckets { label orders units
      revenue { amount minorUnits } revenueBase { minorUnits }
      averageOrderValue { minorUnits } } }
    topProducts(since: $since, until: $until, first: 1) {
      byUnits { sku units orders revenue { minorUnits } } } }
  omnichannelReach(since: $since, until: $until) { activeMembers
    spendBase { amount minorUnits } multiKindSpendShare }
  member(id: $member) { points lifetimeValue { amount minorUnits }
    channelSummaries { orderCount spend { minorUnits } spendBase { minorUnits } }
    pointsLedger(first: 1) { edges { node { delta balance } } } }
  order(id: $order) { total { minorUnits } lines { quantity lineTotal { minorUnits } } }
}"""


def order(n: int, quantity: int, unit_price: int) -> dict[str, Any]:
    total = quantity * unit_price
    return {"_id": f"ord_big_{n:04d}", "member_id": MEMBER, "channel_id": CHANNEL,
            "location_id": None, "lines": [{"sku": SKU, "quantity": quantity,
                                            "unit_price": unit_price}],
            "total": total, "currency": "CNY", "status": "COMPLETED",
            "placed_at": PLACED + timedelta(seconds=n), "fx_rate": "1", "total_base": total,
            "paid": total}


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "long_values"):
        db = gateway.db
        await db["members"].insert_one({
            "_id": MEMBER, "name": "Big Buyer", "phone": None, "email": None,
            "tier": "PLATINUM", "points": POINTS, "joined_at": PLACED,
            "home_channel_id": CHANNEL})
        await db["points_ledger"].insert_one({
            "_id": "EARN:ord_big_0000", "member_id": MEMBER, "order_id": "ord_big_0000",
            "delta": POINTS - 100, "reason": "EARN", "balance": POINTS, "at": PLACED})
        orders = [order(n, UNITS, UNIT_PRICE) for n in range(BULK_ORDERS)]
        orders[0] |= {"refunded": REFUNDED, "refunded_base": REFUNDED}
        await db["orders"].insert_many([*orders, order(BULK_ORDERS, 1, 1)])
        await rollups.rebuild(db)  # orders written directly, as a bulk load does
        yield gateway


async def test_totals_counts_and_points_beyond_32_and_53_bits_are_exact(
    gw: WritingGateway
) -> None:
    # when the channel's sales, its best seller, the reach, the member and one order are read
    result = await data(gw.client, QUERY, {"channel": CHANNEL, "member": MEMBER,
                                           "order": "ord_big_0000", **WINDOW})
    # then every figure is exact, as a string of digits
    orders, units = str(BULK_ORDERS + 1), str(BULK_ORDERS * UNITS + 1)
    assert result["channel"] == {
        "sales": {"buckets": [{
            "label": "2027-01-04", "orders": orders, "units": units,
            "revenue": {"amount": "90093649920000.01", "minorUnits": "9009364992000001"},
            "revenueBase": {"minorUnits": "9009364992000001"},
            # 9009364992000001 / 2149 = 4192352253140.996..., half to even
            "averageOrderValue": {"minorUnits": "4192352253141"}}]},
        "topProducts": {"byUnits": [{"sku": SKU, "units": units, "orders": orders,
                                     "revenue": {"minorUnits": "9009364992000001"}}]},
    }
    # the reach's spend is net of the refund, as the lifetime value and the summaries are
    assert result["omnichannelReach"] == {
        "activeMembers": "1",
        "spendBase": {"amount": "90093649919999.99", "minorUnits": str(NET)},
        "multiKindSpendShare": "0.0000"}
    assert result["member"] == {
        "points": "5000000000",
        "lifetimeValue": {"amount": "90093649919999.99", "minorUnits": str(NET)},
        "channelSummaries": [{"orderCount": orders, "spend": {"minorUnits": str(NET)},
                              "spendBase": {"minorUnits": str(NET)}}],
        "pointsLedger": {"edges": [{"node": {"delta": "4999999900",
                                             "balance": "5000000000"}}]}}
    assert result["order"] == {"total": {"minorUnits": "4194304000000"},
                               "lines": [{"quantity": 1_000_000,
                                          "lineTotal": {"minorUnits": "4194304000000"}}]}
