"""The rules below the analytics fields: windows, bucket labels, rates, the embedded
``$dateToString``, and the cost table the query-cost rules read."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from gateway import analytics as rules
from gateway.database.embedded_dates import format_date
from gateway.errors import BadUserInput
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
