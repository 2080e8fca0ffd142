"""The rules of the analytics fields: time windows, buckets, rates, the reach table and
campaign results.

Everything here is plain Python, below the API layer; :mod:`gateway.database.analytics` runs
the aggregates and :mod:`resolvers.analytics` maps the results to GraphQL types.

Windows
    ``[since, until)``, half-open, in UTC. ``since`` must be before ``until``; the window may
    span at most ``Settings.analytics_max_range_days`` days (default 400), and a series at
    most ``Settings.analytics_max_buckets`` buckets (default 1,000), counted as
    ``ceil((until - since) / bucket length)`` with lengths of 1 hour, 1 day and 7 days.
    Anything else is ``BAD_USER_INPUT``.

Buckets
    Computed in the database with ``$dateToString`` in the location's or channel's IANA zone:

    - ``HOUR``: the local hour with its UTC offset, ``2026-03-29T03:00+02:00``. The offset
      keeps the two local 02:00 hours of an autumn daylight-saving change apart, and a
      +05:45 zone (Asia/Kathmandu) gets hours that start at 18:15 UTC.
    - ``DAY``: the local calendar date, ``2026-03-29`` (a day may last 23 or 25 hours).
    - ``WEEK``: the ISO week (Monday to Sunday, local time), labelled by its Monday's date,
      ``2026-03-23``. The database groups by ``%G-W%V`` (ISO week-year and week number).

    Only buckets with activity are returned, oldest first. The first and last bucket may be
    partial: they count only what happened inside the window.

Rates
    A rate is ``numerator / denominator`` as a decimal with four places, rounded half to
    even (``0.3333``); ``None`` when the denominator is zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import combinations
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from gateway.clock import utc
from gateway.errors import BadUserInput
from gateway.money import Rates

Bucket = Literal["HOUR", "DAY", "WEEK"]

BUCKET_LENGTH: Final[dict[str, timedelta]] = {
    "HOUR": timedelta(hours=1),
    "DAY": timedelta(days=1),
    "WEEK": timedelta(days=7),
}
# $dateToString formats; the Python side turns the key into a label and a start instant.
BUCKET_FORMAT: Final[dict[str, str]] = {
    "HOUR": "%Y-%m-%dT%H:00%z",
    "DAY": "%Y-%m-%d",
    "WEEK": "%G-W%V",
}
RATE_PLACES: Final = Decimal("0.0001")
# Channel kinds whose locations are shops people walk into (conversion per location).
PHYSICAL_KINDS: Final = frozenset({"SUPERMARKET", "RURAL_OUTLET"})
CHANNEL_KINDS: Final = ("ONLINE_SHOP", "SUPERMARKET", "RURAL_OUTLET", "OVERSEAS")


@dataclass(frozen=True)
class Window:
    """A checked time window ``[since, until)`` in UTC, with the bucket of a series (if any)."""

    since: datetime
    until: datetime
    bucket: Bucket | None = None


def check_window(
    since: datetime,
    until: datetime,
    bucket: Bucket | None = None,
    *,
    max_days: int,
    max_buckets: int,
) -> Window:
    """Validate a window (and the number of buckets it makes); naive times are UTC."""
    start, end = utc(since), utc(until)
    if start >= end:
        raise BadUserInput("`since` must be before `until`.", field="since")
    if end - start > timedelta(days=max_days):
        raise BadUserInput(
            f"The window spans more than {max_days} days; narrow `since`/`until`.", field="until"
        )
    if bucket is not None:
        count = math.ceil((end - start) / BUCKET_LENGTH[bucket])
        if count > max_buckets:
            raise BadUserInput(
                f"The window makes {count} {bucket} buckets; at most {max_buckets} per series.",
                field="bucket",
            )
    return Window(since=start, until=end, bucket=bucket)


def bucket_label(key: str, bucket: Bucket, zone: str) -> tuple[str, datetime]:
    """The label and UTC start of a bucket from the database's ``$dateToString`` key."""
    if bucket == "HOUR":
        label = f"{key[:-2]}:{key[-2:]}"  # +0545 -> +05:45
        return label, datetime.fromisoformat(label).astimezone(UTC)
    if bucket == "WEEK":
        year, week = key.split("-W")
        day = date.fromisocalendar(int(year), int(week), 1)
    else:
        day = date.fromisoformat(key)
    local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone))
    return day.isoformat(), local.astimezone(UTC)


def rate(numerator: int, denominator: int) -> Decimal | None:
    """``numerator / denominator`` to four places, half to even; None when dividing by 0."""
    if denominator == 0:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATE_PLACES, ROUND_HALF_EVEN)


def average(total: int, count: int) -> int:
    """``total / count`` rounded half to even to a whole minor unit (0 when count is 0)."""
    if count == 0:
        return 0
    return int((Decimal(total) / Decimal(count)).quantize(Decimal(1), ROUND_HALF_EVEN))


def needs_rates(rows: Iterable[Mapping[str, Any]]) -> bool:
    """True when a row holds orders without an FX snapshot (``unconverted`` minor units), which
    only today's rates can convert."""
    return any(row["unconverted"] for row in rows)


def revenue_base(row: Mapping[str, Any], currency: str, rates: Rates | None) -> int | None:
    """Base-currency revenue of a sales row: the orders' snapshots (``revenue_base``) plus the
    rest at today's rate; ``None`` when that rest has no rate."""
    if row["unconverted"] == 0:
        return int(row["revenue_base"])
    extra = None if rates is None else rates.to_base(row["unconverted"], currency)
    return None if extra is None else int(row["revenue_base"]) + extra


def spend_by_member(
    rows: Iterable[Mapping[str, Any]], rates: Rates | None
) -> dict[str | None, int] | None:
    """Base-currency spend per member (``None``: anonymous orders) from ``{m, cur, base,
    unconverted}`` rows (amounts already net of refunds): snapshots plus the rest at today's
    rate; ``None`` when a currency that needs it has no rate."""
    spend: dict[str | None, int] = {}
    for row in rows:
        amount = int(row["base"])
        if row["unconverted"]:
            extra = None if rates is None else rates.to_base(row["unconverted"], row["cur"])
            if extra is None:
                return None
            amount += extra
        spend[row["m"]] = spend.get(row["m"], 0) + amount
    return spend


@dataclass(frozen=True)
class Funnel:
    """Visitors, buyers and the visitors who bought, as member-id sets."""

    visitors: frozenset[str]
    buyers: frozenset[str]

    @property
    def converted(self) -> frozenset[str]:
        return self.visitors & self.buyers


def funnels(
    visits: Iterable[Mapping[str, Any]], orders: Iterable[Mapping[str, Any]], key: str
) -> dict[Any, Funnel]:
    """Group ``{key, m}`` rows of visits and orders into one funnel per ``key`` value."""
    seen: dict[Any, tuple[set[str], set[str]]] = {}
    for rows, index in ((visits, 0), (orders, 1)):
        for row in rows:
            if row["m"] is not None:
                seen.setdefault(row[key], (set(), set()))[index].add(row["m"])
    return {k: Funnel(frozenset(v), frozenset(b)) for k, (v, b) in seen.items()}


@dataclass(frozen=True)
class Reach:
    """Members active per channel and kind, and base-currency spend per member."""

    channels_of: dict[str, frozenset[str]]  # member -> channels
    kinds_of: dict[str, frozenset[str]]  # member -> channel kinds
    spend_of: dict[str | None, int]  # member (None: anonymous orders) -> base spend

    def members_in_kind_count(self) -> dict[int, int]:
        """How many members were active in exactly 1, 2, 3 and 4 channel kinds."""
        counts = dict.fromkeys(range(1, len(CHANNEL_KINDS) + 1), 0)
        for kinds in self.kinds_of.values():
            counts[len(kinds)] += 1
        return counts

    def overlaps(self, names: Iterable[str], of: str) -> list[tuple[str, str, int]]:
        """Members active in both, for every pair of ``names`` (channels or kinds)."""
        index = self.channels_of if of == "channels" else self.kinds_of
        return [
            (a, b, sum(1 for active in index.values() if a in active and b in active))
            for a, b in combinations(sorted(names), 2)
        ]

    def active_in(self, channel_id: str) -> int:
        return sum(1 for active in self.channels_of.values() if channel_id in active)

    @property
    def total_spend(self) -> int:
        return sum(self.spend_of.values())

    @property
    def multi_kind_spend(self) -> int:
        return sum(
            spend for member, spend in self.spend_of.items()
            if member is not None and len(self.kinds_of.get(member, ())) > 1
        )


def reach(
    activity: Iterable[Mapping[str, Any]],
    spend: Mapping[str | None, int],
    kind_of_channel: Mapping[str, str],
) -> Reach:
    """Build the reach table from ``{m, ch}`` activity rows (visits and orders together)."""
    channels_of: dict[str, set[str]] = {}
    for row in activity:
        if row["m"] is not None and row["ch"] in kind_of_channel:
            channels_of.setdefault(row["m"], set()).add(row["ch"])
    return Reach(
        channels_of={m: frozenset(chs) for m, chs in channels_of.items()},
        kinds_of={m: frozenset(kind_of_channel[c] for c in chs) for m, chs in channels_of.items()},
        spend_of=dict(spend),
    )


@dataclass
class CampaignTally:
    """A campaign's figures over some of its orders: counts, minor units, and the members
    (new: their first order is one of the campaign's; returning: they had bought before)."""

    orders: int = 0
    units: int = 0
    revenue: int = 0  # order totals less refunds, channel's currency (per channel only)
    revenue_base: int = 0
    discount: int = 0  # what the campaign took off, channel currency (per channel only)
    discount_base: int = 0
    new: set[str] = field(default_factory=set)
    returning: set[str] = field(default_factory=set)

    def add(self, row: Mapping[str, Any], is_new: bool | None) -> None:
        self.orders += row["orders"]
        self.units += row["units"]
        self.revenue += row["revenue"]
        self.revenue_base += row["revenue_base"]
        self.discount += row["discount"]
        self.discount_base += row["discount_base"]
        if is_new is not None:
            (self.new if is_new else self.returning).add(row["m"])


@dataclass
class CampaignTable:
    """A campaign's results: in all, per channel kind, per channel, and per local day of each
    (a day is the order's date in its channel's zone)."""

    total: CampaignTally
    by_kind: dict[str, CampaignTally]
    by_kind_day: dict[tuple[str, str], CampaignTally]
    by_channel: dict[str, CampaignTally]
    by_channel_day: dict[tuple[str, str], CampaignTally]


def campaign_table(rows: Iterable[Mapping[str, Any]], first_order: Mapping[str, datetime],
                   kind_of: Mapping[str, str]) -> CampaignTable:
    """Roll ``{ch, d, m, orders, units, revenue, revenue_base, discount, discount_base,
    first}`` rows up. A member is *new* when their first order (``first_order``, cancelled
    ones excluded) is no earlier than their first order of the campaign in the window: the
    campaign brought their first purchase. Orders without a member count in the figures but
    in neither member group."""
    rows = list(rows)
    first_in_campaign: dict[str, datetime] = {}
    for row in rows:
        member = row["m"]
        if member is not None:
            at = utc(row["first"])
            first_in_campaign[member] = min(at, first_in_campaign.get(member, at))
    table = CampaignTable(CampaignTally(), {}, {}, {}, {})
    for row in rows:
        member, channel, day = row["m"], row["ch"], row["d"]
        kind = kind_of.get(channel, "")
        is_new = None if member is None else (
            member not in first_order or utc(first_order[member]) >= first_in_campaign[member])
        for tally in (table.total,
                      table.by_kind.setdefault(kind, CampaignTally()),
                      table.by_kind_day.setdefault((kind, day), CampaignTally()),
                      table.by_channel.setdefault(channel, CampaignTally()),
                      table.by_channel_day.setdefault((channel, day), CampaignTally())):
            tally.add(row, is_new)
    return table
