"""Repository functions of the analytics fields: one aggregate per question, for many parents.

Each ``*_batch`` function is the batch of a per-request DataLoader (see ``gateway/loaders.py``):
its keys carry the parent (a location or channel) and the checked :class:`Window`; keys that
share a window are answered by ONE aggregate grouped by parent (and bucket), whatever the
number of parents. Buckets are made in the database by ``$dateToString`` in each parent's zone:
when parents live in several zones, the ``timezone`` is a ``$cond`` on the parent id.

Cancelled orders never count. Visits without a member are anonymous.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from gateway.analytics import BUCKET_FORMAT, Window
from gateway.database import Database
from gateway.database.query import Doc, aggregate
from gateway.database.rollups import SPEND, SPEND_BASE
from gateway.database.scope import Scope

VISIT_KINDS: Final = ("STORE_VISIT", "APP_SESSION", "PAGE_VIEW", "LIVESTREAM_VIEW")
NOT_CANCELLED: Final[Doc] = {"status": {"$ne": "CANCELLED"}}
# The parent a key is about: (id, IANA zone) for series, the id alone otherwise.
SeriesKey = tuple[str, str, Window]
PlainKey = tuple[str, Window]
_V = TypeVar("_V")


def _range(field: str, window: Window) -> Doc:
    return {field: {"$gte": window.since, "$lt": window.until}}


def zone_expression(field: str, zones: dict[str, str]) -> Any:
    """The ``timezone`` of ``$dateToString``: a constant, or a ``$cond`` chain on ``field``."""
    by_zone: dict[str, list[str]] = defaultdict(list)
    for parent, zone in sorted(zones.items()):
        by_zone[zone].append(parent)
    names = sorted(by_zone)
    expression: Any = names[-1]
    for zone in reversed(names[:-1]):
        expression = {"$cond": [{"$in": [f"${field}", by_zone[zone]]}, zone, expression]}
    return expression


def bucket_expression(window: Window, date_field: str, parent_field: str,
                      zones: dict[str, str]) -> Doc:
    """``$dateToString`` of ``date_field`` in the parent's zone, in the window's bucket format."""
    assert window.bucket is not None
    return {
        "$dateToString": {
            "format": BUCKET_FORMAT[window.bucket],
            "date": f"${date_field}",
            "timezone": zone_expression(parent_field, zones),
        }
    }


async def _by_window(
    keys: Sequence[SeriesKey],
    answer: Callable[[Window, dict[str, str]], Awaitable[dict[str, _V]]],
    default: Callable[[], _V],
) -> list[_V]:
    """Group keys by window, ask once per window for all its parents, return in key order."""
    parents: dict[Window, dict[str, str]] = defaultdict(dict)
    for parent, zone, window in keys:
        parents[window][parent] = zone
    answers = {window: await answer(window, zones) for window, zones in parents.items()}
    return [answers[window].get(parent, default()) for parent, _, window in keys]


def _no_zone(keys: Sequence[PlainKey]) -> list[SeriesKey]:
    return [(parent, "UTC", window) for parent, window in keys]


def _grouped(rows: list[Doc], parent: str) -> dict[str, list[Doc]]:
    grouped: dict[str, list[Doc]] = defaultdict(list)
    for row in rows:
        grouped[row["_id"][parent]].append(row)
    return grouped


async def footfall_batch(
    db: Database, keys: Sequence[SeriesKey], *, scope: Scope
) -> list[list[Doc]]:
    """Per (location, zone, window): rows ``{_id: {loc, b}, <kind>..., members, anonymous}``."""

    async def answer(window: Window, zones: dict[str, str]) -> dict[str, list[Doc]]:
        is_anonymous = {"$eq": ["$_id.m", None]}
        total = {"$add": [f"${kind}" for kind in VISIT_KINDS]}
        pipeline: list[Doc] = [
            {"$match": scope.restrict({"location_id": {"$in": sorted(zones)},
                                       **_range("at", window)})},
            {"$group": {
                "_id": {"loc": "$location_id",
                        "b": bucket_expression(window, "at", "location_id", zones),
                        "m": {"$ifNull": ["$member_id", None]}},
                **{kind: {"$sum": {"$cond": [{"$eq": ["$kind", kind]}, 1, 0]}}
                   for kind in VISIT_KINDS},
            }},
            {"$group": {
                "_id": {"loc": "$_id.loc", "b": "$_id.b"},
                **{kind: {"$sum": f"${kind}"} for kind in VISIT_KINDS},
                "members": {"$sum": {"$cond": [is_anonymous, 0, 1]}},
                "anonymous": {"$sum": {"$cond": [is_anonymous, total, 0]}},
            }},
        ]
        return _grouped(await aggregate(db["visits"], pipeline), "loc")

    return await _by_window(keys, answer, list)


def _order_match(window: Window, channel_ids: Sequence[str], scope: Scope) -> Doc:
    return scope.restrict({"channel_id": {"$in": sorted(channel_ids)},
                           **_range("placed_at", window), **NOT_CANCELLED})


# An order without an FX snapshot (``total_base``): only today's rate can convert it.
_NO_SNAPSHOT: Final[Doc] = {"$eq": [{"$ifNull": ["$total_base", None]}, None]}
# Orders without an FX snapshot: their total, to convert at today's rate.
_UNCONVERTED: Final[Doc] = {"$sum": {"$cond": [_NO_SNAPSHOT, "$total", 0]}}


# Orders whose goods reached the buyer or left for them.
FULFILLED: Final = ["SHIPPED", "COMPLETED"]


async def sales_batch(db: Database, keys: Sequence[SeriesKey], *, scope: Scope) -> list[list[Doc]]:
    """Per (channel, zone, window): rows ``{_id: {ch, b}, orders, units, revenue,
    revenue_base, unconverted, refunded, refunded_base, returned, fulfilled}`` (amounts in
    minor units; ``revenue_base`` sums the orders' snapshots, ``unconverted`` the
    channel-currency totals of orders without one; ``refunded`` what was refunded of the
    bucket's orders, whenever; ``returned`` their units returned; ``fulfilled`` the orders
    shipped or completed)."""

    async def answer(window: Window, zones: dict[str, str]) -> dict[str, list[Doc]]:
        pipeline: list[Doc] = [
            {"$match": _order_match(window, list(zones), scope)},
            {"$group": {
                "_id": {"ch": "$channel_id",
                        "b": bucket_expression(window, "placed_at", "channel_id", zones)},
                "orders": {"$sum": 1},
                "units": {"$sum": {"$sum": "$lines.quantity"}},
                "revenue": {"$sum": "$total"},
                "revenue_base": {"$sum": "$total_base"},
                "unconverted": _UNCONVERTED,
                "refunded": {"$sum": {"$ifNull": ["$refunded", 0]}},
                "refunded_base": {"$sum": {"$ifNull": ["$refunded_base", 0]}},
                "returned": {"$sum": {"$ifNull": ["$returned_units", 0]}},
                "fulfilled": {"$sum": {"$cond": [{"$in": ["$status", FULFILLED]}, 1, 0]}},
            }},
        ]
        return _grouped(await aggregate(db["orders"], pipeline), "ch")

    return await _by_window(keys, answer, list)


async def top_products_batch(
    db: Database, keys: Sequence[PlainKey], *, scope: Scope
) -> list[list[Doc]]:
    """Per (channel, window): one row per SKU sold, ``{_id: {ch, sku}, units, revenue, orders}``
    (revenue = quantity x unit price, channel currency; orders = lines with that SKU)."""

    async def answer(window: Window, zones: dict[str, str]) -> dict[str, list[Doc]]:
        pipeline: list[Doc] = [
            {"$match": _order_match(window, list(zones), scope)},
            {"$unwind": "$lines"},
            {"$group": {
                "_id": {"ch": "$channel_id", "sku": "$lines.sku"},
                "units": {"$sum": "$lines.quantity"},
                "revenue": {"$sum": {"$multiply": ["$lines.quantity", "$lines.unit_price"]}},
                "orders": {"$sum": 1},
            }},
        ]
        return _grouped(await aggregate(db["orders"], pipeline), "ch")

    return await _by_window(_no_zone(keys), answer, list)


@dataclass(frozen=True)
class ActivityRows:
    """Distinct ``{ch, loc, m}`` of identified visits and of orders (member ``m``)."""

    visits: list[Doc]
    orders: list[Doc]


async def _who(db: Database, collection: str, match: Doc) -> list[Doc]:
    pipeline: list[Doc] = [
        {"$match": match},
        {"$group": {"_id": {"ch": "$channel_id", "loc": {"$ifNull": ["$location_id", None]},
                            "m": {"$ifNull": ["$member_id", None]}}}},
    ]
    return [row["_id"] for row in await aggregate(db[collection], pipeline)]


async def conversion_batch(
    db: Database, keys: Sequence[PlainKey], *, scope: Scope
) -> list[ActivityRows]:
    """Per (channel, window): who visited and who bought, where. Two aggregates per window."""

    async def answer(window: Window, zones: dict[str, str]) -> dict[str, ActivityRows]:
        channel_ids = sorted(zones)
        visits = await _who(db, "visits", scope.restrict({
            "channel_id": {"$in": channel_ids}, "member_id": {"$ne": None},
            **_range("at", window)}))
        orders = await _who(db, "orders", _order_match(window, channel_ids, scope))
        return {
            ch: ActivityRows([r for r in visits if r["ch"] == ch],
                             [r for r in orders if r["ch"] == ch])
            for ch in channel_ids
        }

    return await _by_window(_no_zone(keys), answer, lambda: ActivityRows([], []))


@dataclass(frozen=True)
class ReachRows:
    """``{m, ch}`` of every member active in the window, and base spend per member."""

    activity: list[Doc]
    spend: list[Doc]  # {m, cur, base, unconverted}


async def reach_rows(db: Database, window: Window, *, scope: Scope) -> ReachRows:
    """Identified visits and orders per (member, channel): two aggregates.

    Spend is the rollups' (:data:`~gateway.database.rollups.SPEND_BASE`): each order's total
    less what was refunded of it, whenever, at its FX snapshot (``base``); an order without a
    snapshot gives its net total in its currency (``unconverted``, :data:`SPEND`), for today's
    rate. It is summed from the orders rather than read from the rollups: a rollup holds a
    member's all-time totals per channel, and the window is on ``placed_at`` (anonymous
    orders count too)."""
    visits = await aggregate(db["visits"], [
        {"$match": scope.restrict({"member_id": {"$ne": None}, **_range("at", window)})},
        {"$group": {"_id": {"m": "$member_id", "ch": "$channel_id"}}},
    ])
    orders = await aggregate(db["orders"], [
        {"$match": scope.restrict({**_range("placed_at", window), **NOT_CANCELLED})},
        {"$group": {
            "_id": {"m": {"$ifNull": ["$member_id", None]}, "ch": "$channel_id",
                    "cur": "$currency"},
            "base": {"$sum": {"$cond": [_NO_SNAPSHOT, 0, SPEND_BASE]}},
            "unconverted": {"$sum": {"$cond": [_NO_SNAPSHOT, SPEND, 0]}},
        }},
    ])
    return ReachRows(
        activity=[row["_id"] for row in visits + orders],
        spend=[{**row["_id"], "base": row["base"], "unconverted": row["unconverted"]}
               for row in orders],
    )
