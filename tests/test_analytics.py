"""Analytics on the demo data (wire server): every figure recomputed from seeds/ in plain
Python, and the database commands each query sends pinned."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import combinations
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support import ROOT, SEEDS, gql

KINDS = ("STORE_VISIT", "APP_SESSION", "PAGE_VIEW", "LIVESTREAM_VIEW")
SINCE, UNTIL = "2026-01-01T00:00:00Z", "2026-11-01T00:00:00Z"
START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
CHANNEL_KINDS = ("ONLINE_SHOP", "SUPERMARKET", "RURAL_OUTLET", "OVERSEAS")


# -- the expected figures, in plain Python over the seed documents --------------------------

def label(at: datetime, zone: str, bucket: str) -> tuple[str, str]:
    """(label, UTC start in ISO form) of the bucket holding ``at`` in ``zone``."""
    local = at.astimezone(ZoneInfo(zone))
    if bucket == "HOUR":
        start = local.replace(minute=0, second=0, microsecond=0)
        return start.isoformat(timespec="minutes"), start.astimezone(UTC).isoformat()
    day = local.date() if bucket == "DAY" else local.date() - timedelta(days=local.weekday())
    start = datetime.combine(day, time(), tzinfo=ZoneInfo(zone))
    return day.isoformat(), start.astimezone(UTC).isoformat()


def long(value: int) -> str:
    """How a ``Long`` reads in JSON: its base-10 digits."""
    return str(value)


def amount(minor: int) -> str:
    return f"{Decimal(minor) / 100:.2f}"


def half_even(value: Decimal, places: str = "1") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_EVEN)


def rate(part: int, whole: int) -> str | None:
    return None if whole == 0 else str(half_even(Decimal(part) / Decimal(whole), "0.0001"))


def within(docs: list[dict[str, Any]], field: str, start: datetime, end: datetime,
           keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    return [d for d in docs if start <= d[field] < end and keep(d)]


def expected_footfall(location: dict[str, Any], bucket: str, start: datetime = START,
                      end: datetime = END, visits: list[dict[str, Any]] | None = None
                      ) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for v in within(visits or SEEDS["visits"], "at", start, end,
                    lambda v: v["location_id"] == location["_id"]):
        groups[label(v["at"], location["time_zone"], bucket)].append(v)
    return [
        {"label": lab, "start": iso, "visits": long(len(vs)),
         "members": long(len({v["member_id"] for v in vs if v["member_id"]})),
         "anonymousVisits": long(sum(1 for v in vs if v["member_id"] is None)),
         "byKind": [{"kind": k, "visits": long(sum(1 for v in vs if v["kind"] == k))}
                    for k in KINDS]}
        for (lab, iso), vs in sorted(groups.items(), key=lambda item: item[0][1])
    ]


def live_orders(start: datetime = START, end: datetime = END,
                orders: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    return within(orders or SEEDS["orders"], "placed_at", start, end,
                  lambda o: o["status"] != "CANCELLED")


def expected_sales(channel: dict[str, Any], bucket: str) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for o in live_orders():
        if o["channel_id"] == channel["_id"]:
            groups[label(o["placed_at"], channel["time_zone"], bucket)].append(o)
    result = []
    for (lab, iso), orders in sorted(groups.items(), key=lambda item: item[0][1]):
        revenue = sum(o["total"] for o in orders)
        result.append({
            "label": lab, "start": iso, "orders": long(len(orders)),
            "units": long(sum(line["quantity"] for o in orders for line in o["lines"])),
            "revenue": {"amount": amount(revenue), "currencyCode": channel["currency"]},
            "revenueBase": {"amount": amount(sum(o["total_base"] for o in orders)),
                            "currencyCode": "CNY"},
            "averageOrderValue": {
                "amount": amount(int(half_even(Decimal(revenue) / len(orders))))},
        })
    return result


def member_sets() -> tuple[dict[tuple[str, str | None], set[str]], dict[tuple[str, str | None],
                                                                     set[str]]]:
    """(visitors, buyers) by (channel, location) and by (channel, None)."""
    visitors: dict[tuple[str, str | None], set[str]] = defaultdict(set)
    buyers: dict[tuple[str, str | None], set[str]] = defaultdict(set)
    for v in within(SEEDS["visits"], "at", START, END, lambda v: v["member_id"] is not None):
        visitors[(v["channel_id"], None)].add(v["member_id"])
        visitors[(v["channel_id"], v["location_id"])].add(v["member_id"])
    for o in live_orders():
        buyers[(o["channel_id"], None)].add(o["member_id"])
        buyers[(o["channel_id"], o["location_id"])].add(o["member_id"])
    return visitors, buyers


def figures(visitors: set[str], buyers: set[str]) -> dict[str, Any]:
    both = len(visitors & buyers)
    return {"visitors": long(len(visitors)), "buyers": long(len(buyers)),
            "convertedVisitors": long(both), "rate": rate(both, len(visitors))}


def expected_reach(orders: list[dict[str, Any]] | None = None,
                   visits: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The reach of the seeds (or of ``orders`` and ``visits``): spend is each order's base
    total less what was refunded of it, as lifetime value counts it."""
    kind = {c["_id"]: c["kind"] for c in SEEDS["channels"]}
    channels_of: dict[str, set[str]] = defaultdict(set)
    for v in within(visits or SEEDS["visits"], "at", START, END,
                    lambda v: v["member_id"] is not None):
        channels_of[v["member_id"]].add(v["channel_id"])
    spend: dict[str, int] = defaultdict(int)
    for o in live_orders(orders=orders):
        if o["member_id"] is not None:
            channels_of[o["member_id"]].add(o["channel_id"])
        spend[o["member_id"]] += o["total_base"] - o.get("refunded_base", 0)
    kinds_of = {m: {kind[c] for c in chs} for m, chs in channels_of.items()}
    multi = sum(s for m, s in spend.items() if m is not None and len(kinds_of[m]) > 1)
    total = sum(spend.values())
    ids = sorted(kind)
    return {
        "activeMembers": long(len(channels_of)),
        "byKindCount": [{"kinds": n,
                         "members": long(sum(1 for k in kinds_of.values() if len(k) == n))}
                        for n in (1, 2, 3, 4)],
        "channels": [{"channel": {"id": c}, "members": long(sum(1 for chs in channels_of.values()
                                                                if c in chs))} for c in ids],
        "channelOverlaps": [
            {"first": {"id": a}, "second": {"id": b},
             "members": long(sum(1 for chs in channels_of.values() if a in chs and b in chs))}
            for a, b in combinations(ids, 2)],
        "kindOverlaps": [
            {"first": a, "second": b,
             "members": long(sum(1 for ks in kinds_of.values() if a in ks and b in ks))}
            for a, b in combinations(sorted(CHANNEL_KINDS), 2)],
        "spendBase": {"amount": amount(total)},
        "multiKindSpendBase": {"amount": amount(multi)},
        "multiKindSpendShare": rate(multi, total),
    }


# -- the queries ------------------------------------------------------------------------------

FOOTFALL = """query($since: DateTime!, $until: DateTime!, $bucket: TimeBucket!) {
  channels { id locations { id footfall(since: $since, until: $until, bucket: $bucket) {
    timeZone bucket buckets { label start visits members anonymousVisits
      byKind { kind visits } } } } } }"""


async def run(client: httpx.AsyncClient, query: str, variables: dict[str, Any]
              ) -> tuple[dict[str, Any], dict[str, Any]]:
    body = await gql(client, query, variables)
    assert "errors" not in body, body["errors"]
    return body["data"], body["extensions"]["db"]


@pytest.mark.parametrize("bucket", ["DAY", "WEEK"])
async def test_footfall_of_every_location_is_one_aggregate(
    client: httpx.AsyncClient, bucket: str
) -> None:
    # given all 13 locations of the demo data, when their footfall is asked in one request
    result, db = await run(client, FOOTFALL, {"since": SINCE, "until": UNTIL, "bucket": bucket})
    # then each series matches the seeds, and the visits were read by ONE aggregate
    locations = {loc["_id"]: loc for loc in SEEDS["locations"]}
    series = {loc["id"]: loc["footfall"] for ch in result["channels"] for loc in ch["locations"]}
    assert series == {
        loc_id: {"timeZone": loc["time_zone"], "bucket": bucket,
                 "buckets": expected_footfall(loc, bucket)}
        for loc_id, loc in locations.items()
    }
    assert sum(len(s["buckets"]) for s in series.values()) > 100
    assert db == {"commands": 3, "byCollection": {"channels": 1, "locations": 1, "visits": 1}}


LOCATION_HOURS = """query($id: ID!) { location(id: $id) {
  footfall(since: "2026-03-01T00:00:00Z", until: "2026-03-15T00:00:00Z", bucket: HOUR) {
    buckets { label start visits members anonymousVisits byKind { kind visits } } } } }"""


async def test_footfall_by_hour(client: httpx.AsyncClient) -> None:
    loc = next(loc for loc in SEEDS["locations"] if loc["_id"] == "loc_fm_beijing_chaoyang")
    result, db = await run(client, LOCATION_HOURS, {"id": loc["_id"]})
    expected = expected_footfall(loc, "HOUR", datetime(2026, 3, 1, tzinfo=UTC),
                                 datetime(2026, 3, 15, tzinfo=UTC))
    assert result["location"]["footfall"]["buckets"] == expected
    assert expected and all(b["label"].endswith("+08:00") for b in expected)
    assert db == {"commands": 2, "byCollection": {"locations": 1, "visits": 1}}


SALES = """query($since: DateTime!, $until: DateTime!, $bucket: TimeBucket!) {
  channels { id sales(since: $since, until: $until, bucket: $bucket) { timeZone buckets {
    label start orders units revenue { amount currencyCode } revenueBase { amount currencyCode }
    averageOrderValue { amount } } } } }"""


@pytest.mark.parametrize("bucket", ["DAY", "WEEK"])
async def test_sales_of_every_channel_is_one_aggregate(
    client: httpx.AsyncClient, bucket: str
) -> None:
    result, db = await run(client, SALES, {"since": SINCE, "until": UNTIL, "bucket": bucket})
    channels = {c["_id"]: c for c in SEEDS["channels"]}
    assert {c["id"]: c["sales"] for c in result["channels"]} == {
        c_id: {"timeZone": c["time_zone"], "buckets": expected_sales(c, bucket)}
        for c_id, c in channels.items()
    }
    assert db == {"commands": 2, "byCollection": {"channels": 1, "orders": 1}}


TOP = """query($first: Int!) { channels { id topProducts(since: "2026-01-01T00:00:00Z",
  until: "2026-11-01T00:00:00Z", first: $first) {
    byUnits { sku units orders revenue { amount currencyCode } product { sku } }
    byRevenue { sku units revenue { amount } } } } }"""


async def test_top_products_by_units_and_by_revenue(client: httpx.AsyncClient) -> None:
    result, db = await run(client, TOP, {"first": 3})
    for channel in SEEDS["channels"]:
        units: dict[str, int] = defaultdict(int)
        revenue: dict[str, int] = defaultdict(int)
        orders: dict[str, int] = defaultdict(int)
        for o in live_orders():
            if o["channel_id"] == channel["_id"]:
                for line in o["lines"]:
                    units[line["sku"]] += line["quantity"]
                    revenue[line["sku"]] += line["quantity"] * line["unit_price"]
                    orders[line["sku"]] += 1
        by_units = sorted(units, key=lambda s: (-units[s], -revenue[s], s))[:3]
        by_revenue = sorted(units, key=lambda s: (-revenue[s], -units[s], s))[:3]
        got = next(c["topProducts"] for c in result["channels"] if c["id"] == channel["_id"])
        assert got == {
            "byUnits": [{"sku": s, "units": long(units[s]), "orders": long(orders[s]),
                         "revenue": {"amount": amount(revenue[s]),
                                     "currencyCode": channel["currency"]},
                         "product": {"sku": s}} for s in by_units],
            "byRevenue": [{"sku": s, "units": long(units[s]),
                           "revenue": {"amount": amount(revenue[s])}} for s in by_revenue],
        }
    assert db == {"commands": 3, "byCollection": {"channels": 1, "orders": 1, "products": 1}}


CONVERSION = """{ channels { id kind conversion(since: "2026-01-01T00:00:00Z",
  until: "2026-11-01T00:00:00Z") { visitors buyers convertedVisitors rate
    byLocation { location { id } visitors buyers convertedVisitors rate } } } }"""


async def test_conversion_per_channel_and_per_store(client: httpx.AsyncClient) -> None:
    result, db = await run(client, CONVERSION, {})
    visitors, buyers = member_sets()
    for got in result["channels"]:
        expected: dict[str, Any] = figures(visitors[(got["id"], None)], buyers[(got["id"], None)])
        if got["kind"] in {"SUPERMARKET", "RURAL_OUTLET"}:
            locs = sorted(loc["_id"] for loc in SEEDS["locations"]
                          if loc["channel_id"] == got["id"])
            expected["byLocation"] = [
                {"location": {"id": loc}, **figures(visitors[(got["id"], loc)],
                                                    buyers[(got["id"], loc)])}
                for loc in locs]
            assert len(locs) >= 4
        else:
            expected["byLocation"] = None
        assert got["conversion"] == expected
    assert db == {"commands": 4,
                  "byCollection": {"channels": 1, "locations": 1, "orders": 1, "visits": 1}}


REACH = """query($since: DateTime!, $until: DateTime!) {
  omnichannelReach(since: $since, until: $until) {
    activeMembers byKindCount { kinds members } channels { channel { id } members }
    channelOverlaps { first { id } second { id } members } kindOverlaps { first second members }
    spendBase { amount } multiKindSpendBase { amount } multiKindSpendShare } }"""


async def test_omnichannel_reach(client: httpx.AsyncClient) -> None:
    result, db = await run(client, REACH, {"since": SINCE, "until": UNTIL})
    assert result["omnichannelReach"] == expected_reach()
    assert int(result["omnichannelReach"]["byKindCount"][3]["members"]) > 0
    # two aggregates, the channel list, and the channels loader behind `channel { id }`
    assert db == {"commands": 4, "byCollection": {"channels": 2, "orders": 1, "visits": 1}}


async def test_two_windows_in_one_request_are_two_aggregates(client: httpx.AsyncClient) -> None:
    query = """{ channels { id
      march: sales(since: "2026-03-01T00:00:00Z", until: "2026-04-01T00:00:00Z", bucket: WEEK)
        { buckets { orders } }
      april: sales(since: "2026-04-01T00:00:00Z", until: "2026-05-01T00:00:00Z", bucket: WEEK)
        { buckets { orders } } } }"""
    result, db = await run(client, query, {})
    for got in result["channels"]:
        for alias, start in (("march", date(2026, 3, 1)), ("april", date(2026, 4, 1))):
            end = date(start.year, start.month + 1, 1)
            expected = sum(
                1 for o in live_orders(datetime.combine(start, time(), UTC),
                                       datetime.combine(end, time(), UTC))
                if o["channel_id"] == got["id"])
            assert sum(int(b["orders"]) for b in got[alias]["buckets"]) == expected
    assert db == {"commands": 3, "byCollection": {"channels": 1, "orders": 2}}


def codes(body: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    return [(e["extensions"]["code"], e["path"]) for e in body["errors"]]


@pytest.mark.parametrize(
    ("field", "path"),
    [
        ('location(id: "loc_vl_anji") { footfall(since: "2026-01-01T00:00:00Z", '
         'until: "2027-02-05T00:00:01Z", bucket: WEEK) { bucket } }', ["location", "footfall"]),
        ('location(id: "loc_vl_anji") { footfall(since: "2026-01-01T00:00:00Z", '
         'until: "2026-02-11T16:00:01Z", bucket: HOUR) { bucket } }', ["location", "footfall"]),
        ('channel(id: "ch_flagship") { sales(since: "2026-02-01T00:00:00Z", '
         'until: "2026-02-01T00:00:00Z", bucket: DAY) { bucket } }', ["channel", "sales"]),
        ('channel(id: "ch_flagship") { topProducts(since: "2026-01-01T00:00:00Z", '
         'until: "2026-02-01T00:00:00Z", first: 0) { byUnits { sku } } }',
         ["channel", "topProducts"]),
        ('channel(id: "ch_flagship") { conversion(since: "2026-03-01T00:00:00Z", '
         'until: "2026-02-01T00:00:00Z") { rate } }', ["channel", "conversion"]),
        ('omnichannelReach(since: "2025-01-01T00:00:00Z", until: "2026-02-05T00:00:01Z") '
         '{ activeMembers }', ["omnichannelReach"]),
    ],
)
async def test_windows_that_are_reversed_too_long_or_too_fine_are_refused(
    client: httpx.AsyncClient, field: str, path: list[str]
) -> None:
    body = await gql(client, "{ " + field + " }")
    assert codes(body) == [("BAD_USER_INPUT", path)]
    assert body["extensions"]["db"]["byCollection"].get("visits") is None
    assert body["extensions"]["db"]["byCollection"].get("orders") is None


async def test_the_longest_window_and_the_most_buckets_are_accepted(
    client: httpx.AsyncClient
) -> None:
    # 400 days exactly; 1,000 hours exactly
    query = """{ location(id: "loc_vl_anji") {
      days: footfall(since: "2026-01-01T00:00:00Z", until: "2027-02-05T00:00:00Z", bucket: WEEK)
        { buckets { visits } }
      hours: footfall(since: "2026-01-01T00:00:00Z", until: "2026-02-11T16:00:00Z", bucket: HOUR)
        { buckets { visits } } } }"""
    result, _ = await run(client, query, {})
    anji = next(loc for loc in SEEDS["locations"] if loc["_id"] == "loc_vl_anji")
    assert sum(int(b["visits"]) for b in result["location"]["days"]["buckets"]) == len(
        within(SEEDS["visits"], "at", START, datetime(2027, 2, 5, tzinfo=UTC),
               lambda v: v["location_id"] == anji["_id"]))
    assert result["location"]["hours"]["buckets"] == [
        {"visits": b["visits"]} for b in expected_footfall(
            anji, "HOUR", START, datetime(2026, 2, 11, 16, tzinfo=UTC))]


async def test_the_documented_examples_answer_what_the_docs_say(
    client: httpx.AsyncClient
) -> None:
    text = (ROOT / "docs" / "schema.md").read_text()
    start = text.index("\n## Analytics")
    end = text.find("\n## ", start + 1)
    section = text[start:end if end > 0 else len(text)]
    blocks = re.findall(r"```(graphql|json)\n(.*?)```", section, flags=re.S)
    pairs = list(zip(blocks[::2], blocks[1::2], strict=True))
    assert len(pairs) == 3
    for (lang_q, query), (lang_a, answer) in pairs:
        assert (lang_q, lang_a) == ("graphql", "json")
        result, _ = await run(client, query, {})
        assert result == json.loads(answer)


async def test_the_documented_weekly_sales_begin_as_the_docs_say(
    client: httpx.AsyncClient
) -> None:
    """The flagship's weekly sales in docs/schema.md list the first buckets, then `...`."""
    text = (ROOT / "docs" / "schema.md").read_text()
    at = text.index('{ channel(id: "ch_flagship") { sales(')
    query, answer = re.findall(r"(.*?)```\n```json\n(.*?)```", text[at:], flags=re.S)[0]
    shown = json.loads(answer.replace(",\n  ...]", "]"))["channel"]["sales"]["buckets"]
    result, _ = await run(client, query, {})
    assert len(shown) >= 2
    assert result["channel"]["sales"]["buckets"][:len(shown)] == shown
