"""Analytics of a location or channel: footfall, sales, top products and conversion.

The fields themselves are declared on ``Location`` and ``Channel`` (resolvers/channels.py) and
delegate here. Every field reads through a per-request DataLoader, so that the same field on
many parents is one aggregate (see gateway/database/analytics.py); the rules (windows,
buckets, rounding) are documented in gateway/analytics.py.

What each field costs is in the one cost table, ``gateway.admission.cost.FIELD_COSTS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Final, cast

import strawberry

from gateway import analytics as rules
from gateway.context import Info
from gateway.database.analytics import VISIT_KINDS
from gateway.errors import BadUserInput
from resolvers.scalars import Long, Money, money
from resolvers.time_bucket import TimeBucket
from resolvers.visits import VisitKind

if TYPE_CHECKING:
    from resolvers.channels import Location
    from resolvers.products import Product

MAX_TOP: Final = 100

SINCE = strawberry.argument(description="Start of the window, inclusive (naive means UTC).")
UNTIL = strawberry.argument(
    description="End of the window, exclusive; at most 400 days after since (a setting)."
)


def window(
    info: Info, since: datetime, until: datetime, bucket: TimeBucket | None = None
) -> rules.Window:
    """The checked window (``BAD_USER_INPUT`` when reversed, too long or too many buckets)."""
    settings = info.context.settings
    return rules.check_window(
        since, until, None if bucket is None else _bucket(bucket),
        max_days=settings.analytics_max_range_days, max_buckets=settings.analytics_max_buckets,
    )


def _bucket(bucket: TimeBucket) -> rules.Bucket:
    return cast(rules.Bucket, bucket.name)


@strawberry.type(description="Visits of one kind in a bucket.")
class VisitKindCount:
    kind: VisitKind = strawberry.field(description="The visit kind.")
    visits: Long = strawberry.field(description="How many visits of that kind.")


@strawberry.type(description="Customer flow at a location in one time bucket.")
class FootfallBucket:
    label: str = strawberry.field(description="The bucket in local time (see TimeBucket).")
    start: datetime = strawberry.field(description="When the bucket starts (UTC).")
    visits: Long = strawberry.field(description="All visits in the bucket.")
    by_kind: list[VisitKindCount] = strawberry.field(
        description="Visits per kind, every kind listed (zeros included), in enum order."
    )
    members: Long = strawberry.field(description="Distinct identified members who visited.")
    anonymous_visits: Long = strawberry.field(description="Visits without a known member.")


@strawberry.type(description="A location's footfall over a window, bucketed in its time zone.")
class FootfallSeries:
    time_zone: str = strawberry.field(description="The IANA zone the buckets follow.")
    bucket: TimeBucket = strawberry.field(description="The bucket size.")
    buckets: list[FootfallBucket] = strawberry.field(
        description="Buckets with at least one visit, oldest first (empty buckets omitted)."
    )


@strawberry.type(description="A channel's sales in one time bucket (cancelled orders excluded).")
class SalesBucket:
    label: str = strawberry.field(description="The bucket in local time (see TimeBucket).")
    start: datetime = strawberry.field(description="When the bucket starts (UTC).")
    orders: Long = strawberry.field(description="Orders placed, cancelled ones excluded.")
    units: Long = strawberry.field(description="Units ordered on those orders.")
    revenue: Money = strawberry.field(description="Sum of order totals, channel currency.")
    revenue_base: Money | None = strawberry.field(
        description=(
            "Revenue in the base currency: each order's FX snapshot (total_base); an order "
            "without one is converted at today's rate (fx_rates), half to even. Null when "
            "such an order's currency has no rate."
        )
    )
    average_order_value: Money = strawberry.field(
        description="revenue / orders, rounded half to even to the currency's minor unit."
    )
    refunded: Money = strawberry.field(
        description="What was refunded of these orders (refunds and returns, whenever they "
        "happened), channel currency.")
    net_revenue: Money = strawberry.field(description="revenue less refunded: the net sales.")
    net_revenue_base: Money | None = strawberry.field(
        description="revenueBase less the refunds at each order's FX snapshot; null when "
        "revenueBase is.")
    returned_units: Long = strawberry.field(description="Units of these orders returned.")
    fulfilled_orders: Long = strawberry.field(
        description="These orders whose goods left: SHIPPED or COMPLETED (collected, "
        "delivered, or sold at a till).")


@strawberry.type(description="A channel's sales over a window, bucketed in its time zone.")
class SalesSeries:
    time_zone: str = strawberry.field(description="The IANA zone the buckets follow.")
    bucket: TimeBucket = strawberry.field(description="The bucket size.")
    buckets: list[SalesBucket] = strawberry.field(
        description="Buckets with at least one order, oldest first (empty buckets omitted)."
    )


@strawberry.type(description="How much of one product a channel sold in a window.")
class ProductSales:
    sku: strawberry.ID = strawberry.field(description="The product's SKU.")
    units: Long = strawberry.field(description="Units sold (cancelled orders excluded).")
    revenue: Money = strawberry.field(
        description="Sum of quantity x unit price, channel currency."
    )
    orders: Long = strawberry.field(description="Orders with a line of this product.")

    @strawberry.field(description="The product; null if it left the catalogue.")
    async def product(
        self, info: Info
    ) -> Annotated[Product, strawberry.lazy("resolvers.products")] | None:
        from resolvers.products import load_product

        return await load_product(info, self.sku)


@strawberry.type(description="A channel's best sellers in a window, two rankings.")
class TopProducts:
    by_units: list[ProductSales] = strawberry.field(
        description="Most units first; ties by higher revenue, then by SKU."
    )
    by_revenue: list[ProductSales] = strawberry.field(
        description="Highest revenue first; ties by more units, then by SKU."
    )


@strawberry.type(description="Who came and who bought: distinct identified members.")
class ConversionFigures:
    visitors: Long = strawberry.field(description="Distinct members with a visit in the window.")
    buyers: Long = strawberry.field(
        description="Distinct members with an order (not cancelled) in the window."
    )
    converted_visitors: Long = strawberry.field(
        description="Visitors who also bought in the window (members in both sets)."
    )
    rate: Decimal | None = strawberry.field(
        description=(
            "convertedVisitors / visitors, a decimal string with 4 places rounded half to "
            "even (\"0.4167\"); null when there were no visitors."
        )
    )


@strawberry.type(description="Conversion at one location of a physical channel.")
class LocationConversion(ConversionFigures):
    location_id: strawberry.Private[str]

    @strawberry.field(description="The location.")
    async def location(
        self, info: Info
    ) -> Annotated[Location, strawberry.lazy("resolvers.channels")] | None:
        from resolvers.channels import load_location

        return await load_location(info, self.location_id)


@strawberry.type(description="A channel's conversion over a window.")
class Conversion(ConversionFigures):
    by_location: list[LocationConversion] | None = strawberry.field(
        description=(
            "Per location, every location of the channel by id, for SUPERMARKET and "
            "RURAL_OUTLET channels (visits and orders at that location); null for the others."
        )
    )


def _at_location(location_id: str, funnel: rules.Funnel | None) -> LocationConversion:
    f = funnel or rules.Funnel(frozenset(), frozenset())
    return LocationConversion(
        location_id=location_id, visitors=Long(len(f.visitors)), buyers=Long(len(f.buyers)),
        converted_visitors=Long(len(f.converted)),
        rate=rules.rate(len(f.converted), len(f.visitors)),
    )


@dataclass(frozen=True)
class Parent:
    """What the analytics need of a Channel or Location."""

    id: str
    time_zone: str
    currency: str = ""
    kind: str = ""


async def footfall(
    info: Info, parent: Parent, since: datetime, until: datetime, bucket: TimeBucket
) -> FootfallSeries:
    w = window(info, since, until, bucket)
    rows = await info.context.loaders.footfall_by_location.load((parent.id, parent.time_zone, w))
    buckets = []
    for row in rows:
        label, start = rules.bucket_label(row["_id"]["b"], _bucket(bucket), parent.time_zone)
        buckets.append(FootfallBucket(
            label=label, start=start, visits=sum(row[k] for k in VISIT_KINDS),
            by_kind=[VisitKindCount(kind=VisitKind(k), visits=row[k]) for k in VISIT_KINDS],
            members=row["members"], anonymous_visits=row["anonymous"],
        ))
    buckets.sort(key=lambda b: b.start)
    return FootfallSeries(time_zone=parent.time_zone, bucket=bucket, buckets=buckets)


async def sales(
    info: Info, parent: Parent, since: datetime, until: datetime, bucket: TimeBucket
) -> SalesSeries:
    w = window(info, since, until, bucket)
    rows = await info.context.loaders.sales_by_channel.load((parent.id, parent.time_zone, w))
    base_currency = info.context.settings.base_currency
    rates = (await info.context.loaders.fx_rates.load(base_currency)
             if rules.needs_rates(rows) else None)
    buckets = []
    for row in rows:
        label, start = rules.bucket_label(row["_id"]["b"], _bucket(bucket), parent.time_zone)
        base = rules.revenue_base(row, parent.currency, rates)
        buckets.append(SalesBucket(
            label=label, start=start, orders=row["orders"], units=row["units"],
            revenue=money(row["revenue"], parent.currency),
            revenue_base=None if base is None else money(base, base_currency),
            average_order_value=money(rules.average(row["revenue"], row["orders"]),
                                      parent.currency),
            refunded=money(row.get("refunded", 0), parent.currency),
            net_revenue=money(row["revenue"] - row.get("refunded", 0), parent.currency),
            net_revenue_base=None if base is None
            else money(base - row.get("refunded_base", 0), base_currency),
            returned_units=Long(row.get("returned", 0)),
            fulfilled_orders=Long(row.get("fulfilled", 0)),
        ))
    buckets.sort(key=lambda b: b.start)
    return SalesSeries(time_zone=parent.time_zone, bucket=bucket, buckets=buckets)


async def top_products(
    info: Info, parent: Parent, since: datetime, until: datetime, first: int
) -> TopProducts:
    if not 1 <= first <= MAX_TOP:
        raise BadUserInput(f"`first` must be between 1 and {MAX_TOP}, got {first}.",
                           field="first")
    w = window(info, since, until)
    rows = await info.context.loaders.top_products_by_channel.load((parent.id, w))
    items = [
        ProductSales(sku=strawberry.ID(r["_id"]["sku"]), units=r["units"],
                     revenue=money(r["revenue"], parent.currency), orders=r["orders"])
        for r in rows
    ]
    by_units = sorted(items, key=lambda p: (-p.units, -p.revenue.minor_units, p.sku))
    by_revenue = sorted(items, key=lambda p: (-p.revenue.minor_units, -p.units, p.sku))
    return TopProducts(by_units=by_units[:first], by_revenue=by_revenue[:first])


async def conversion(info: Info, parent: Parent, since: datetime, until: datetime) -> Conversion:
    w = window(info, since, until)
    loaders = info.context.loaders
    rows = await loaders.conversion_by_channel.load((parent.id, w))
    overall = rules.funnels(rows.visits, rows.orders, "ch").get(parent.id)
    by_location: list[LocationConversion] | None = None
    if parent.kind in rules.PHYSICAL_KINDS:
        at = rules.funnels(rows.visits, rows.orders, "loc")
        locations = await loaders.locations_by_channel.load(parent.id)
        for loc in locations:
            loaders.locations_by_id.prime(loc["_id"], loc)
        by_location = [
            _at_location(loc["_id"], at.get(loc["_id"]))
            for loc in sorted(locations, key=lambda loc: str(loc["_id"]))
        ]
    f = overall or rules.Funnel(frozenset(), frozenset())
    return Conversion(
        visitors=Long(len(f.visitors)), buyers=Long(len(f.buyers)),
        converted_visitors=Long(len(f.converted)),
        rate=rules.rate(len(f.converted), len(f.visitors)), by_location=by_location,
    )
