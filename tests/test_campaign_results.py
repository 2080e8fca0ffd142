"""Campaign.results against a plain-Python computation over the seeds; batched (the same
commands for one campaign and for many); partner-scoped (its channels, its new members)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support import (
    PARTNER_A,
    SEEDS,
    Callers,
    WritingGateway,
    data,
    fresh_gateway,
    gql,
    orders,
)

SINCE, UNTIL = datetime(2026, 9, 25, tzinfo=UTC), datetime(2026, 10, 20, tzinfo=UTC)
FIGURES = """orders units revenueBase { minorUnits } discountBase { minorUnits } members
  newMembers returningMembers"""
CHANNEL = f"""channel {{ id }} date timeZone {FIGURES} revenue {{ minorUnits currencyCode }}
  discount {{ minorUnits }}"""
RESULTS = f"""query($id: ID!) {{ campaign(id: $id) {{
  results(since: "2026-09-25T00:00:00Z", until: "2026-10-20T00:00:00Z") {{ {FIGURES}
    byKind {{ kind date {FIGURES} }} byKindAndDay {{ kind date {FIGURES} }}
    byChannel {{ {CHANNEL} }} byChannelAndDay {{ {CHANNEL} }} }} }} }}"""
GOLDEN = "cmp_golden_week_2026"


def expected(campaign_id: str, channels: set[str] | None = None) -> dict[str, Any]:
    """The answer, computed from the seed files alone (``channels``: a partner's)."""
    channel = {c["_id"]: c for c in SEEDS["channels"]}
    visible = [o for o in SEEDS["orders"] if o["status"] != "CANCELLED"
               and (channels is None or o["channel_id"] in channels)]
    first_ever: dict[str, datetime] = {}
    for o in visible:
        first_ever[o["member_id"]] = min(o["placed_at"], first_ever.get(o["member_id"],
                                                                        o["placed_at"]))
    mine = [(o, p) for o in visible for p in o.get("promotions", ())
            if p["campaign_id"] == campaign_id and SINCE <= o["placed_at"] < UNTIL]
    first_in: dict[str, datetime] = {}
    for o, _ in mine:
        first_in[o["member_id"]] = min(o["placed_at"], first_in.get(o["member_id"],
                                                                    o["placed_at"]))
    groups: dict[Any, list[tuple[dict[str, Any], dict[str, Any]]]] = defaultdict(list)
    for o, p in mine:
        ch = channel[o["channel_id"]]
        day = o["placed_at"].astimezone(ZoneInfo(ch["time_zone"])).date().isoformat()
        for key in ("all", ("kind", ch["kind"]), ("kind", ch["kind"], day),
                    ("channel", ch["_id"]), ("channel", ch["_id"], day)):
            groups[key].append((o, p))

    def figures(rows: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
        members = {o["member_id"] for o, _ in rows}
        new = {m for m in members if first_ever[m] >= first_in[m]}
        return {"orders": str(len(rows)),
                "units": str(sum(x["quantity"] for o, _ in rows for x in o["lines"])),
                "revenueBase": {"minorUnits": str(sum(o["total_base"] - o.get("refunded_base", 0)
                                                      for o, _ in rows))},
                "discountBase": {"minorUnits": str(sum(p["amount_base"] for _, p in rows))},
                "members": str(len(members)), "newMembers": str(len(new)),
                "returningMembers": str(len(members - new))}

    def in_channel(key: tuple[str, ...], rows: list[Any]) -> dict[str, Any]:
        ch = key[1]
        return {"channel": {"id": ch}, "date": key[2] if len(key) == 3 else None,
                "timeZone": channel[ch]["time_zone"], **figures(rows),
                "revenue": {"minorUnits": str(sum(o["total"] - o.get("refunded", 0)
                                                  for o, _ in rows)),
                            "currencyCode": channel[ch]["currency"]},
                "discount": {"minorUnits": str(sum(p["amount"] for _, p in rows))}}

    kinds = ("ONLINE_SHOP", "SUPERMARKET", "RURAL_OUTLET", "OVERSEAS")
    keys = [k for k in groups if k != "all"]
    by_kind = sorted((k for k in keys if k[0] == "kind"), key=lambda k: (kinds.index(k[1]),
                                                                         k[2:]))
    by_channel = sorted(k for k in keys if k[0] == "channel")
    return {**figures(groups["all"]),
            "byKind": [{"kind": k[1], "date": None, **figures(groups[k])}
                       for k in by_kind if len(k) == 2],
            "byKindAndDay": [{"kind": k[1], "date": k[2], **figures(groups[k])}
                             for k in by_kind if len(k) == 3],
            "byChannel": [in_channel(k, groups[k]) for k in by_channel if len(k) == 2],
            "byChannelAndDay": [in_channel(k, groups[k]) for k in by_channel if len(k) == 3]}


async def test_golden_week_results_match_a_plain_computation(client: httpx.AsyncClient) -> None:
    answer = (await data(client, RESULTS, {"id": GOLDEN}))["campaign"]["results"]
    assert answer == expected(GOLDEN)
    # the demo's Golden Week: every kind of channel, and new members it brought
    assert len(answer["byKind"]) == 4 and int(answer["newMembers"]) >= 3
    assert int(answer["returningMembers"]) > 0


async def test_a_partner_reads_its_channels_and_its_new_members(callers: Callers) -> None:
    answer = (await data(callers.partner_a, RESULTS, {"id": GOLDEN}))["campaign"]["results"]
    assert answer == expected(GOLDEN, set(PARTNER_A))
    assert {row["channel"]["id"] for row in answer["byChannel"]} <= set(PARTNER_A)
    coupons = (await data(callers.partner_a, RESULTS, {"id": "cmp_welcome_back"}))
    assert coupons["campaign"]["results"] == expected("cmp_welcome_back", set(PARTNER_A))


@pytest.fixture(scope="module")
async def many(seeded: str) -> AsyncIterator[WritingGateway]:
    """The demo data with eight copies of the Golden Week campaign (no orders of their own)."""
    async for gateway in fresh_gateway("wire", seeded, "campaign_results"):
        golden = await gateway.db["campaigns"].find_one({"_id": GOLDEN})
        await gateway.db["campaigns"].insert_many([{**golden, "_id": f"cmp_copy_{i}"}
                                                   for i in range(8)])
        yield gateway


async def test_results_of_one_campaign_and_of_ten_cost_the_same_commands(
    many: WritingGateway,
) -> None:
    one = await gql(many.client, RESULTS, {"id": GOLDEN})
    ten = await gql(many.client, """{ campaigns(first: 10) { edges { node { id
      results(since: "2026-09-25T00:00:00Z", until: "2026-10-20T00:00:00Z") {
        orders byChannel { channel { id } orders } } } } } }""")
    # campaigns (the loader or the page); channels (the zones of the days); the orders of
    # every campaign asked (one aggregate); the members' first orders (one aggregate); the
    # channels loader for `channel { id }`
    for body in (one, ten):
        assert body["extensions"]["db"] == {"commands": 5, "byCollection": {
            "campaigns": 1, "channels": 2, "orders": 2}}, body
    nodes = [e["node"] for e in ten["data"]["campaigns"]["edges"]]
    assert len(nodes) == 10
    golden = next(n for n in nodes if n["id"] == GOLDEN)
    assert golden["results"]["orders"] == one["data"]["campaign"]["results"]["orders"]
    assert all(n["results"]["orders"] == "0" for n in nodes if n["id"].startswith("cmp_copy"))


async def test_the_window_is_checked(client: httpx.AsyncClient) -> None:
    body = await gql(client, """{ campaign(id: "cmp_golden_week_2026") {
      results(since: "2026-10-20T00:00:00Z", until: "2026-09-25T00:00:00Z") { orders } } }""")
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


async def test_revenue_is_net_of_refunds(many: WritingGateway) -> None:
    # given a completed Golden Week order in the base currency, and its card payment
    rows = [o for o in SEEDS["orders"] if o["currency"] == "CNY" and o["status"] == "COMPLETED"
            and any(p["campaign_id"] == GOLDEN for p in o.get("promotions", ()))
            and SINCE <= o["placed_at"] < UNTIL]
    order = rows[0]
    payment = next(p for p in SEEDS["payments"] if p["order_id"] == order["_id"]
                   and p["method"] != "POINTS")
    before = (await data(many.client, RESULTS, {"id": GOLDEN}))["campaign"]["results"]
    # when 1.00 CNY of it is refunded
    body = await data(many.client, orders.REFUND, orders.refund_input(payment["_id"],
                                                                      "net-1", amount="100"))
    assert body["refundPayment"]["userErrors"] == []
    after = (await data(many.client, RESULTS, {"id": GOLDEN}))["campaign"]["results"]
    # then its revenue, and only that, is 1.00 CNY lower; the discount it had stays
    assert int(after["revenueBase"]["minorUnits"]) == int(
        before["revenueBase"]["minorUnits"]) - 100
    assert {k: v for k, v in after.items() if k not in ("revenueBase", "byKind",
                                                        "byKindAndDay", "byChannel",
                                                        "byChannelAndDay")} == {
        k: v for k, v in before.items() if k not in ("revenueBase", "byKind", "byKindAndDay",
                                                     "byChannel", "byChannelAndDay")}
    channel = next(r for r in after["byChannel"] if r["channel"]["id"] == order["channel_id"])
    was = next(r for r in before["byChannel"] if r["channel"]["id"] == order["channel_id"])
    assert int(channel["revenue"]["minorUnits"]) == int(was["revenue"]["minorUnits"]) - 100
