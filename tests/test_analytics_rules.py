"""The rules below the analytics fields (gateway/analytics.py), with no server: windows, bucket
labels, rates, funnels, the reach table, spend and revenue in the base currency, and the
embedded ``$dateToString``."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from gateway import analytics as rules
from gateway.database.embedded_dates import format_date
from gateway.errors import BadUserInput
from gateway.money import Rates
from gateway.settings import Settings

JAN = datetime(2026, 1, 1, tzinfo=UTC)


def test_default_limits_are_400_days_and_1000_buckets() -> None:
    settings = Settings()
    assert (settings.analytics_max_range_days, settings.analytics_max_buckets) == (400, 1000)


@pytest.mark.parametrize(
    ("until", "bucket", "field"),
    [
        (datetime(2025, 12, 31, tzinfo=UTC), None, "since"),
        (JAN, "DAY", "since"),
        (datetime(2027, 2, 5, 0, 0, 1, tzinfo=UTC), None, "until"),
        (datetime(2026, 2, 11, 16, 0, 1, tzinfo=UTC), "HOUR", "bucket"),
    ],
)
def test_bad_windows_name_the_argument(
    until: datetime, bucket: rules.Bucket | None, field: str
) -> None:
    with pytest.raises(BadUserInput) as error:
        rules.check_window(JAN, until, bucket, max_days=400, max_buckets=1000)
    assert error.value.field == field


def test_naive_times_are_utc() -> None:
    window = rules.check_window(datetime(2026, 1, 1), datetime(2026, 1, 2), "HOUR",
                                max_days=400, max_buckets=1000)
    assert window == rules.Window(JAN, datetime(2026, 1, 2, tzinfo=UTC), "HOUR")


@pytest.mark.parametrize(
    ("key", "bucket", "zone", "label", "start"),
    [
        ("2026-03-29T03:00+0200", "HOUR", "Europe/Paris", "2026-03-29T03:00+02:00",
         datetime(2026, 3, 29, 1, tzinfo=UTC)),
        ("2026-03-29T00:00+0545", "HOUR", "Asia/Kathmandu", "2026-03-29T00:00+05:45",
         datetime(2026, 3, 28, 18, 15, tzinfo=UTC)),
        ("2026-03-29", "DAY", "Europe/Paris", "2026-03-29", datetime(2026, 3, 28, 23, tzinfo=UTC)),
        ("2026-W01", "WEEK", "Asia/Shanghai", "2025-12-29", datetime(2025, 12, 28, 16, tzinfo=UTC)),
    ],
)
def test_bucket_labels(key: str, bucket: rules.Bucket, zone: str, label: str,
                       start: datetime) -> None:
    assert rules.bucket_label(key, bucket, zone) == (label, start)


def test_rates_and_averages_round_half_to_even() -> None:
    assert rules.rate(2, 3) == Decimal("0.6667")
    assert rules.rate(1, 8) == Decimal("0.1250")
    assert rules.rate(1, 0) is None
    assert (rules.average(2333, 2), rules.average(2335, 2), rules.average(5, 0)) == (1166, 1168, 0)


def test_embedded_date_format_refuses_what_it_cannot_match() -> None:
    at = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert format_date(at, "Europe/Paris", "%Y-%m-%dT%H:00%z") == "2026-03-29T03:00+0200"
    assert format_date(at, "+05:45", "%G-W%V-%u") == "2026-W13-7"
    assert format_date(None, "UTC", "%Y") is None
    with pytest.raises(NotImplementedError):
        format_date(at, "UTC", "%Y-%m-%dT%H:%M:%S.%LZ")


def test_a_funnel_counts_identified_members_once() -> None:
    visits = [{"ch": "a", "m": "m1"}, {"ch": "a", "m": "m1"}, {"ch": "a", "m": None},
              {"ch": "b", "m": "m2"}]
    orders = [{"ch": "a", "m": "m1"}, {"ch": "a", "m": "m3"}, {"ch": "b", "m": None}]
    found = rules.funnels(visits, orders, "ch")
    assert found == {"a": rules.Funnel(frozenset({"m1"}), frozenset({"m1", "m3"})),
                     "b": rules.Funnel(frozenset({"m2"}), frozenset())}
    assert found["a"].converted == frozenset({"m1"})
    assert rules.rate(len(found["a"].converted), len(found["a"].visitors)) == Decimal("1.0000")


def test_the_reach_table_counts_members_by_channel_and_kind() -> None:
    # given m1 active online and in a supermarket, m2 online twice, m3 in an unknown channel
    kinds = {"ch_web": "ONLINE_SHOP", "ch_app": "ONLINE_SHOP", "ch_fm": "SUPERMARKET"}
    activity = [{"m": "m1", "ch": "ch_web"}, {"m": "m1", "ch": "ch_fm"},
                {"m": "m2", "ch": "ch_web"}, {"m": "m2", "ch": "ch_app"},
                {"m": "m3", "ch": "ch_gone"}, {"m": None, "ch": "ch_web"}]
    table = rules.reach(activity, {"m1": 500, "m2": 300, None: 200}, kinds)
    # then m3 and the anonymous row are not members of any channel
    assert table.members_in_kind_count() == {1: 1, 2: 1, 3: 0, 4: 0}
    assert [table.active_in(c) for c in ("ch_web", "ch_app", "ch_fm")] == [2, 1, 1]
    assert table.overlaps(kinds, "channels") == [("ch_app", "ch_fm", 0), ("ch_app", "ch_web", 1),
                                                 ("ch_fm", "ch_web", 1)]
    assert table.overlaps(("ONLINE_SHOP", "SUPERMARKET"), "kinds") == [
        ("ONLINE_SHOP", "SUPERMARKET", 1)]
    # and spend counts anonymous orders in the total, only m1 in the multi-kind part
    assert (table.total_spend, table.multi_kind_spend) == (1000, 500)


RATES = Rates(base="CNY", per_unit={"USD": Decimal("7.1240")})


def test_revenue_without_a_snapshot_is_converted_at_todays_rate_or_is_none() -> None:
    snapshot_only = {"revenue_base": 1000, "unconverted": 0}
    mixed = {"revenue_base": 1000, "unconverted": 100}
    assert not rules.needs_rates([snapshot_only]) and rules.needs_rates([snapshot_only, mixed])
    assert rules.revenue_base(snapshot_only, "USD", None) == 1000
    assert rules.revenue_base(mixed, "USD", RATES) == 1000 + 712
    assert rules.revenue_base(mixed, "THB", RATES) is None
    assert rules.revenue_base(mixed, "USD", None) is None


def test_spend_per_member_adds_snapshots_and_todays_conversions() -> None:
    rows = [{"m": "m1", "cur": "USD", "base": 7124, "unconverted": 0},
            {"m": "m1", "cur": "USD", "base": 0, "unconverted": 100},
            {"m": None, "cur": "CNY", "base": 0, "unconverted": 250}]
    assert rules.spend_by_member(rows, RATES) == {"m1": 7124 + 712, None: 250}
    # a currency that needs a rate and has none makes the whole spend unknown
    assert rules.spend_by_member([*rows, {"m": "m2", "cur": "THB", "base": 0,
                                          "unconverted": 1}], RATES) is None
