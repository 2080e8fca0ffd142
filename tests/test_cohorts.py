"""Repeat-purchase cohorts against plain Python over the demo data, on both stores, in the
brand's and the channels' time zones, by month and by week; scope and command counts."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support import PARTNER_A, SEEDS, Callers, WritingGateway, data, fresh_gateway, gql

SINCE, UNTIL = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
CHANNELS = {c["_id"]: c for c in SEEDS["channels"]}
KINDS = ["ONLINE_SHOP", "SUPERMARKET", "RURAL_OUTLET", "OVERSEAS"]
BRAND = "Asia/Shanghai"
QUERY = """query($since: DateTime!, $until: DateTime!, $period: CohortPeriod!,
  $zone: CohortTimeZone!) { repeatPurchaseCohorts(since: $since, until: $until,
  period: $period, timeZone: $zone) { period timeZone cohorts { label firstKind members
  returned periods { offset label members byKind { kind members } } } } }"""


def period_of(at: datetime, zone: str, period: str) -> date:
    local = at.astimezone(ZoneInfo(zone)).date()
    if period == "MONTH":
        return local.replace(day=1)
    return date.fromisocalendar(*local.isocalendar()[:2], 1)


def label(day: date, period: str) -> str:
    return day.strftime("%Y-%m") if period == "MONTH" else day.isoformat()


def offset(start: date, day: date, period: str) -> int:
    if period == "MONTH":
        return (day.year - start.year) * 12 + day.month - start.month
    return (day - start).days // 7


def expected(period: str, zone: str | None, *, channels: tuple[str, ...] | None = None,
             since: datetime = SINCE, until: datetime = UNTIL,
             merged: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The cohorts, from the raw orders, one member at a time (``merged``: a merged member's
    orders are its survivor's)."""
    orders: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for o in sorted(SEEDS["orders"], key=lambda o: (o["placed_at"], o["_id"])):
        if (o["status"] != "CANCELLED" and o["placed_at"] < until
                and (channels is None or o["channel_id"] in channels)):
            orders[(merged or {}).get(o["member_id"], o["member_id"])].append(o)
    members: dict[tuple[date, str], list[dict[date, set[str]]]] = defaultdict(list)
    for placed in orders.values():
        if not since <= placed[0]["placed_at"] < until:
            continue
        kinds: dict[date, set[str]] = defaultdict(set)
        for o in placed:
            when = period_of(o["placed_at"], zone or CHANNELS[o["channel_id"]]["time_zone"],
                             period)
            kinds[when].add(CHANNELS[o["channel_id"]]["kind"])
        first = placed[0]
        start = period_of(first["placed_at"],
                          zone or CHANNELS[first["channel_id"]]["time_zone"], period)
        members[(start, CHANNELS[first["channel_id"]]["kind"])].append(kinds)
    cohorts = []
    for start, kind in sorted(members, key=lambda k: (k[0], KINDS.index(k[1]))):
        people = members[(start, kind)]
        buyers: Counter[date] = Counter(p for person in people for p in person)
        through: dict[date, Counter[str]] = defaultdict(Counter)
        for person in people:
            for p, bought in person.items():
                through[p].update(bought)
        cohorts.append({
            "label": label(start, period), "firstKind": kind, "members": str(len(people)),
            "returned": str(sum(len(person) > 1 for person in people)),
            "periods": [{"offset": offset(start, p, period), "label": label(p, period),
                         "members": str(buyers[p]),
                         "byKind": [{"kind": k, "members": str(through[p][k])}
                                    for k in KINDS if through[p][k]]}
                        for p in sorted(buyers)]})
    return cohorts


@pytest.mark.parametrize(("period", "zone"), [("MONTH", "BRAND"), ("WEEK", "BRAND"),
                                              ("MONTH", "CHANNEL"), ("WEEK", "CHANNEL")])
async def test_cohorts_are_what_plain_python_counts_over_the_demo_data(
    callers: Callers, period: str, zone: str
) -> None:
    body = await gql(callers.admin, QUERY, {"since": SINCE.isoformat(),
                                            "until": UNTIL.isoformat(), "period": period,
                                            "zone": zone})
    assert "errors" not in body, body["errors"]
    # the merged members (none in the demo data), the channels and one aggregate
    assert body["extensions"]["db"] == {"commands": 3, "byCollection": {
        "channels": 1, "members": 1, "orders": 1}}
    found = body["data"]["repeatPurchaseCohorts"]
    assert found["period"] == period
    assert found["timeZone"] == (BRAND if zone == "BRAND" else "CHANNEL")
    assert found["cohorts"] == expected(period, BRAND if zone == "BRAND" else None)
    assert len(found["cohorts"]) >= 10


async def test_a_narrow_window_keeps_only_members_whose_first_order_is_in_it(
    callers: Callers,
) -> None:
    since, until = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
    found = await data(callers.admin, QUERY, {"since": since.isoformat(),
                                              "until": until.isoformat(),
                                              "period": "MONTH", "zone": "BRAND"})
    assert found["repeatPurchaseCohorts"]["cohorts"] == expected(
        "MONTH", BRAND, since=since, until=until)


async def test_a_partner_sees_cohorts_of_its_channels_only(callers: Callers) -> None:
    found = await data(callers.partner_a, QUERY, {"since": SINCE.isoformat(),
                                                  "until": UNTIL.isoformat(),
                                                  "period": "MONTH", "zone": "CHANNEL"})
    cohorts = found["repeatPurchaseCohorts"]["cohorts"]
    assert cohorts == expected("MONTH", None, channels=PARTNER_A)
    assert {c["firstKind"] for c in cohorts} == {"OVERSEAS"}


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "cohorts"):
        yield gateway


async def test_a_merged_members_orders_count_for_its_survivor(gw: WritingGateway) -> None:
    # mem_00001 first ordered in January, mem_00002 in August: merged, one person, one cohort
    merged = {"mem_00002": "mem_00001"}
    assert expected("MONTH", BRAND, merged=merged) != expected("MONTH", BRAND)
    done = await data(gw.client, """mutation { mergeMembers(survivor: "mem_00001",
      merged: "mem_00002") { userErrors { code } } }""")
    assert done == {"mergeMembers": {"userErrors": []}}
    body = await gql(gw.client, QUERY, {"since": SINCE.isoformat(), "until": UNTIL.isoformat(),
                                        "period": "MONTH", "zone": "BRAND"})
    assert body["data"]["repeatPurchaseCohorts"]["cohorts"] == expected(
        "MONTH", BRAND, merged=merged)
    # the merged members (one find), the channels, one aggregate
    assert body["extensions"]["db"]["commands"] == 3
