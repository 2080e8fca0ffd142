"""Buckets in local time: Europe/Paris across both daylight-saving changes of 2026,
Asia/Kathmandu (+05:45), and footfall of 50 locations in four zones in one aggregate.

The data lives in its own database (``omnigw_analytics_tz``), dropped at the end, so the
shared test database keeps exactly the seed data. The same data is loaded into an embedded
store, and every query here must answer identically on both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.database import connect, seeding
from gateway.settings import Settings
from tests.support import admin_client, gql
from tests.test_analytics import expected_footfall

TZ_DATABASE = "omnigw_analytics_tz"
ZONES = ("Asia/Shanghai", "Europe/Paris", "Asia/Kathmandu", "America/Los_Angeles")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def visit(vid: str, when: str, member: str | None, location: str, channel: str,
          kind: str = "STORE_VISIT") -> dict[str, Any]:
    return {"_id": vid, "member_id": member, "channel_id": channel, "location_id": location,
            "kind": kind, "source": "walk-in", "at": at(when)}


def order(oid: str, when: str, member: str, channel: str, location: str, currency: str,
          quantity: int, unit_price: int, base: int | None, status: str = "COMPLETED"
          ) -> dict[str, Any]:
    doc = {"_id": oid, "member_id": member, "channel_id": channel, "location_id": location,
           "lines": [{"sku": "sku_tz_tea", "quantity": quantity, "unit_price": unit_price}],
           "total": quantity * unit_price, "currency": currency, "status": status,
           "placed_at": at(when)}
    if base is not None:
        doc["total_base"] = base
    return doc


def _bulk_visits() -> list[dict[str, Any]]:
    start = at("2026-11-05T00:00:00")  # after the reach windows below
    return [
        visit(f"vis_tz_bulk_{i:02d}_{j}", (start + timedelta(minutes=i * 37 + j * 300))
              .strftime("%Y-%m-%dT%H:%M:%S"), f"mem_tz_{j % 3}" if j % 2 else None,
              f"loc_tz_bulk_{i:02d}", "ch_tz_bulk", "STORE_VISIT" if j % 3 else "PAGE_VIEW")
        for i in range(50) for j in range(4)
    ]


P, K = ("ch_tz_paris", "loc_tz_paris"), ("ch_tz_ktm", "loc_tz_ktm")
DATA: dict[str, list[dict[str, Any]]] = {
    "channels": [
        {"_id": "ch_tz_paris", "name": "Paris shop", "kind": "SUPERMARKET", "currency": "EUR",
         "country": "FR", "time_zone": "Europe/Paris"},
        {"_id": "ch_tz_ktm", "name": "Kathmandu outlet", "kind": "RURAL_OUTLET",
         "currency": "NPR", "country": "NP", "time_zone": "Asia/Kathmandu"},
        {"_id": "ch_tz_bulk", "name": "Many stores", "kind": "SUPERMARKET", "currency": "CNY",
         "country": "CN", "time_zone": "Asia/Shanghai"},
    ],
    "locations": [
        {"_id": "loc_tz_paris", "name": "Opera", "kind": "STORE", "channel_id": "ch_tz_paris",
         "city": "Paris", "country": "FR", "time_zone": "Europe/Paris"},
        {"_id": "loc_tz_ktm", "name": "Thamel", "kind": "OUTLET", "channel_id": "ch_tz_ktm",
         "city": "Kathmandu", "country": "NP", "time_zone": "Asia/Kathmandu"},
        *({"_id": f"loc_tz_bulk_{i:02d}", "name": f"Store {i}", "kind": "STORE",
           "channel_id": "ch_tz_bulk", "city": "Somewhere", "country": "CN",
           "time_zone": ZONES[i % 4]} for i in range(50)),
    ],
    "fx_rates": [
        {"_id": "CNY", "currency": "CNY", "rate": "1", "as_of": at("2026-01-01T00:00:00")},
        {"_id": "EUR", "currency": "EUR", "rate": "7.8000", "as_of": at("2026-01-01T00:00:00")},
    ],
    "visits": [
        visit("vis_tz_p01", "2026-03-28T22:59:00", "mem_tz_a", P[1], P[0]),  # 23:59+01:00
        visit("vis_tz_p02", "2026-03-28T23:00:00", None, P[1], P[0]),  # 00:00+01:00 on the 29th
        visit("vis_tz_p03", "2026-03-29T00:30:00", "mem_tz_a", P[1], P[0], "APP_SESSION"),
        visit("vis_tz_p04", "2026-03-29T00:59:00", "mem_tz_b", P[1], P[0]),  # 01:59+01:00
        visit("vis_tz_p05", "2026-03-29T01:00:00", "mem_tz_b", P[1], P[0]),  # 03:00+02:00
        visit("vis_tz_p06", "2026-03-29T01:30:00", None, P[1], P[0], "PAGE_VIEW"),
        visit("vis_tz_p07", "2026-03-29T21:59:00", "mem_tz_c", P[1], P[0]),  # 23:59+02:00
        visit("vis_tz_p08", "2026-03-29T22:00:00", "mem_tz_c", P[1], P[0]),  # 00:00 the 30th
        visit("vis_tz_p09", "2026-10-25T00:30:00", "mem_tz_a", P[1], P[0]),  # 02:30+02:00
        visit("vis_tz_p10", "2026-10-25T01:30:00", "mem_tz_b", P[1], P[0]),  # 02:30+01:00
        visit("vis_tz_k1", "2026-03-28T18:14:00", "mem_tz_a", K[1], K[0]),  # 23:59+05:45
        visit("vis_tz_k2", "2026-03-28T18:15:00", None, K[1], K[0]),  # 00:00+05:45 the 29th
        visit("vis_tz_k3", "2026-03-28T18:44:00", "mem_tz_b", K[1], K[0]),  # 00:29+05:45
        visit("vis_tz_k4", "2026-03-28T19:15:00", "mem_tz_b", K[1], K[0]),  # 01:00+05:45
        *_bulk_visits(),
    ],
    "orders": [
        order("ord_tz_1", "2026-03-28T22:30:00", "mem_tz_a", *P, "EUR", 2, 500, 7800),
        # no FX snapshot, 5.00 EUR of it refunded: the reach counts 15.00 EUR at today's rate
        {**order("ord_tz_2", "2026-03-29T00:30:00", "mem_tz_d", *P, "EUR", 1, 2000, None),
         "refunded": 500},
        order("ord_tz_3", "2026-03-29T21:30:00", "mem_tz_b", *P, "EUR", 3, 111, 2600),
        order("ord_tz_4", "2026-03-29T10:00:00", "mem_tz_c", *P, "EUR", 1, 9999, 77992,
              "CANCELLED"),
        order("ord_tz_5", "2026-03-28T18:20:00", "mem_tz_e", *K, "NPR", 1, 5000, None),
    ],
}


@pytest.fixture(scope="module")
async def tz_client(mongo_uri: str) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway on the wire server over DATA, in a database of its own, dropped after."""
    settings = Settings(mongodb_uri=mongo_uri, database=TZ_DATABASE, debug_db_stats=True)
    db = connect(settings)
    try:
        await db.client.drop_database(TZ_DATABASE)
        await seeding.load(db, DATA)
        async for client in admin_client(settings):
            yield client
    finally:
        await db.client.drop_database(TZ_DATABASE)
        await db.close()


@pytest.fixture(scope="module")
async def tz_embedded(tmp_path_factory: pytest.TempPathFactory
                      ) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway on the embedded store over the same DATA."""
    seeds: Path = tmp_path_factory.mktemp("tz_seeds")
    seeding.write_seed_files(seeds, DATA)
    settings = Settings(mongodb_uri=None, debug_db_stats=True, seeds_dir=seeds)
    async for client in admin_client(settings):
        yield client


def without_cost(body: dict[str, Any]) -> dict[str, Any]:
    """A response without extensions.cost (each gateway's bucket drains on its own)."""
    return {**body, "extensions": {k: v for k, v in body.get("extensions", {}).items()
                                   if k != "cost"}}


async def both(wire: httpx.AsyncClient, embedded: httpx.AsyncClient, query: str
               ) -> dict[str, Any]:
    """The answer of the wire server, after checking the embedded store gives the same."""
    body = await gql(wire, query)
    assert "errors" not in body, body["errors"]
    assert without_cost(await gql(embedded, query)) == without_cost(body)
    result: dict[str, Any] = body["data"]
    return result


def footfall(location: str, since: str, until: str, bucket: str) -> str:
    return (f'{{ location(id: "{location}") {{ footfall(since: "{since}", until: "{until}", '
            f"bucket: {bucket}) {{ timeZone buckets {{ label start visits members "
            f"anonymousVisits byKind {{ kind visits }} }} }} }} }}")


def short(buckets: list[dict[str, Any]]) -> list[tuple[str, str, int, int, int]]:
    """(label, start, visits, members, anonymous visits); the counts are Longs (strings)."""
    return [(b["label"], b["start"], int(b["visits"]), int(b["members"]),
             int(b["anonymousVisits"])) for b in buckets]


async def test_paris_days_around_the_spring_change(
    tz_client: httpx.AsyncClient, tz_embedded: httpx.AsyncClient
) -> None:
    # given visits either side of local midnight and of 02:00 -> 03:00 on 2026-03-29
    result = await both(tz_client, tz_embedded, footfall(
        "loc_tz_paris", "2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z", "DAY"))
    # then the 29th is a 23-hour day from 23:00 UTC to 22:00 UTC holding six visits
    series = result["location"]["footfall"]
    assert series["timeZone"] == "Europe/Paris"
    assert short(series["buckets"]) == [
        ("2026-03-28", "2026-03-27T23:00:00+00:00", 1, 1, 0),
        ("2026-03-29", "2026-03-28T23:00:00+00:00", 6, 3, 2),
        ("2026-03-30", "2026-03-29T22:00:00+00:00", 1, 1, 0),
    ]
    assert series["buckets"][1]["byKind"] == [
        {"kind": "STORE_VISIT", "visits": "4"}, {"kind": "APP_SESSION", "visits": "1"},
        {"kind": "PAGE_VIEW", "visits": "1"}, {"kind": "LIVESTREAM_VIEW", "visits": "0"}]


async def test_paris_hours_skip_two_oclock_in_spring_and_repeat_it_in_autumn(
    tz_client: httpx.AsyncClient, tz_embedded: httpx.AsyncClient
) -> None:
    spring = await both(tz_client, tz_embedded, footfall(
        "loc_tz_paris", "2026-03-28T22:00:00Z", "2026-03-29T02:00:00Z", "HOUR"))
    assert short(spring["location"]["footfall"]["buckets"]) == [
        ("2026-03-28T23:00+01:00", "2026-03-28T22:00:00+00:00", 1, 1, 0),
        ("2026-03-29T00:00+01:00", "2026-03-28T23:00:00+00:00", 1, 0, 1),
        ("2026-03-29T01:00+01:00", "2026-03-29T00:00:00+00:00", 2, 2, 0),
        ("2026-03-29T03:00+02:00", "2026-03-29T01:00:00+00:00", 2, 1, 1),
    ]
    autumn = await both(tz_client, tz_embedded, footfall(
        "loc_tz_paris", "2026-10-24T23:00:00Z", "2026-10-25T03:00:00Z", "HOUR"))
    assert short(autumn["location"]["footfall"]["buckets"]) == [
        ("2026-10-25T02:00+02:00", "2026-10-25T00:00:00+00:00", 1, 1, 0),
        ("2026-10-25T02:00+01:00", "2026-10-25T01:00:00+00:00", 1, 1, 0),
    ]


async def test_weeks_run_monday_to_sunday_in_local_time(
    tz_client: httpx.AsyncClient, tz_embedded: httpx.AsyncClient
) -> None:
    result = await both(tz_client, tz_embedded, footfall(
        "loc_tz_paris", "2026-03-20T00:00:00Z", "2026-04-06T00:00:00Z", "WEEK"))
    assert short(result["location"]["footfall"]["buckets"]) == [
        ("2026-03-23", "2026-03-22T23:00:00+00:00", 7, 3, 2),
        ("2026-03-30", "2026-03-29T22:00:00+00:00", 1, 1, 0),
    ]


async def test_kathmandu_hours_start_at_a_quarter_past(
    tz_client: httpx.AsyncClient, tz_embedded: httpx.AsyncClient
) -> None:
    hours = await both(tz_client, tz_embedded, footfall(
        "loc_tz_ktm", "2026-03-28T17:00:00Z", "2026-03-28T20:00:00Z", "HOUR"))
    assert short(hours["location"]["footfall"]["buckets"]) == [
        ("2026-03-28T23:00+05:45", "2026-03-28T17:15:00+00:00", 1, 1, 0),
        ("2026-03-29T00:00+05:45", "2026-03-28T18:15:00+00:00", 2, 1, 1),
        ("2026-03-29T01:00+05:45", "2026-03-28T19:15:00+00:00", 1, 1, 0),
    ]
    days = await both(tz_client, tz_embedded, footfall(
        "loc_tz_ktm", "2026-03-28T00:00:00Z", "2026-03-30T00:00:00Z", "DAY"))
    assert short(days["location"]["footfall"]["buckets"]) == [
        ("2026-03-28", "2026-03-27T18:15:00+00:00", 1, 1, 0),
        ("2026-03-29", "2026-03-28T18:15:00+00:00", 3, 1, 1),
    ]


SALES = """{ paris: channel(id: "ch_tz_paris") { sales(since: "2026-03-28T00:00:00Z",
    until: "2026-03-31T00:00:00Z", bucket: DAY) { buckets { label orders units
      revenue { amount currencyCode } revenueBase { amount currencyCode }
      averageOrderValue { amount } } } }
  ktm: channel(id: "ch_tz_ktm") { sales(since: "2026-03-28T00:00:00Z",
    until: "2026-03-31T00:00:00Z", bucket: DAY) { buckets { label orders revenue { amount }
      revenueBase { amount } } } } }"""


async def test_sales_use_the_snapshot_or_todays_rate_and_skip_cancelled_orders(
    tz_client: httpx.AsyncClient, tz_embedded: httpx.AsyncClient
) -> None:
    result = await both(tz_client, tz_embedded, SALES)
    # ord_tz_2 has no snapshot: 20.00 EUR at today's 7.8 = 156.00 CNY; ord_tz_4 is cancelled;
    # the average of 23.33 over 2 orders is 11.665, rounded half to even to 11.66
    assert result["paris"]["sales"]["buckets"] == [
        {"label": "2026-03-28", "orders": "1", "units": "2",
         "revenue": {"amount": "10.00", "currencyCode": "EUR"},
         "revenueBase": {"amount": "78.00", "currencyCode": "CNY"},
         "averageOrderValue": {"amount": "10.00"}},
        {"label": "2026-03-29", "orders": "2", "units": "4",
         "revenue": {"amount": "23.33", "currencyCode": "EUR"},
         "revenueBase": {"amount": "182.00", "currencyCode": "CNY"},
         "averageOrderValue": {"amount": "11.66"}},
    ]
    # NPR has neither a snapshot on the order nor a rate today
    assert result["ktm"]["sales"]["buckets"] == [
        {"label": "2026-03-29", "orders": "1", "revenue": {"amount": "50.00"},
         "revenueBase": None}]


async def test_conversion_and_reach_on_hand_made_data(
    tz_client: httpx.AsyncClient, tz_embedded: httpx.AsyncClient
) -> None:
    result = await both(tz_client, tz_embedded, """{
      channel(id: "ch_tz_paris") { conversion(since: "2026-03-28T00:00:00Z",
        until: "2026-03-31T00:00:00Z") { visitors buyers convertedVisitors rate
          byLocation { location { id } visitors buyers convertedVisitors rate } } }
      all: omnichannelReach(since: "2026-03-01T00:00:00Z", until: "2026-11-01T00:00:00Z") {
        byKindCount { kinds members } spendBase { amount } multiKindSpendShare }
      late: omnichannelReach(since: "2026-03-28T19:00:00Z", until: "2026-11-01T00:00:00Z") {
        activeMembers byKindCount { kinds members } spendBase { amount }
        multiKindSpendBase { amount } multiKindSpendShare } }""")
    # visitors a, b, c; buyers a, b, d (c's order was cancelled)
    figures = {"visitors": "3", "buyers": "3", "convertedVisitors": "2", "rate": "0.6667"}
    assert result["channel"]["conversion"] == {
        **figures, "byLocation": [{"location": {"id": "loc_tz_paris"}, **figures}]}
    # the NPR order has no rate: spend is unknown rather than wrong
    assert result["all"] == {
        "byKindCount": [{"kinds": 1, "members": "3"}, {"kinds": 2, "members": "2"},
                        {"kinds": 3, "members": "0"}, {"kinds": 4, "members": "0"}],
        "spendBase": None, "multiKindSpendShare": None}
    # from 19:00 UTC: b is in both kinds (k4), a, c, d in the supermarket only; spend is
    # 78.00 (a) + 15.00 EUR net at 7.8 (d, no snapshot) + 26.00 (b), net of refunds
    assert result["late"] == {
        "activeMembers": "4",
        "byKindCount": [{"kinds": 1, "members": "3"}, {"kinds": 2, "members": "1"},
                        {"kinds": 3, "members": "0"}, {"kinds": 4, "members": "0"}],
        "spendBase": {"amount": "221.00"}, "multiKindSpendBase": {"amount": "26.00"},
        "multiKindSpendShare": "0.1176"}


BULK = """{ channel(id: "ch_tz_bulk") { locations { id footfall(since: "2026-11-04T00:00:00Z",
  until: "2026-11-10T00:00:00Z", bucket: HOUR) { timeZone buckets { label start visits members
    anonymousVisits byKind { kind visits } } } } } }"""


async def test_footfall_of_50_locations_in_four_zones_is_one_aggregate(
    tz_client: httpx.AsyncClient, tz_embedded: httpx.AsyncClient
) -> None:
    body = await gql(tz_client, BULK)
    assert without_cost(await gql(tz_embedded, BULK)) == without_cost(body)
    locations = body["data"]["channel"]["locations"]
    assert len(locations) == 50
    for got, loc in zip(locations, DATA["locations"][2:], strict=True):
        assert got == {"id": loc["_id"], "footfall": {
            "timeZone": loc["time_zone"],
            "buckets": expected_footfall(loc, "HOUR", at("2026-11-04T00:00:00"),
                                         at("2026-11-10T00:00:00"), DATA["visits"])}}
        assert len(got["footfall"]["buckets"]) == 4
    assert body["extensions"]["db"] == {
        "commands": 3, "byCollection": {"channels": 1, "locations": 1, "visits": 1}}
