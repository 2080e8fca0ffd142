"""The aggregates of ``Campaign.results``: two per window, for any number of campaigns.

An order counts for a campaign when the campaign took something off it (its ``promotions``
name the campaign) and it was not cancelled. Keys are ``(campaign id, window)``; keys that
share a window are answered together:

1. ``orders``: one row per (campaign, channel, local day, member) with the orders, units,
   revenue (order totals less their refunds, channel currency and base: ``refunded`` and
   ``refunded_base``, whenever refunded), discount given by the campaign
   (channel currency and base) and the first of those orders; the day is the order's date in
   its channel's zone (``$dateToString`` with a ``$cond`` on the channel);
2. ``orders`` again: the first order (not cancelled) of each member found, to tell new
   members from returning ones (gateway/analytics.py, ``campaign_table``).

Both are restricted to the caller's channels: a partner's new member is new to its channels.
The channels (for their zones) are read once per batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from gateway.analytics import Window
from gateway.database import Database
from gateway.database.analytics import NOT_CANCELLED, zone_expression
from gateway.database.channels import list_channels
from gateway.database.query import Doc, aggregate
from gateway.database.scope import Scope

Key = tuple[str, Window]
DAY: Final = "%Y-%m-%d"


@dataclass(frozen=True)
class CampaignRows:
    """What the two aggregates found for one campaign."""

    rows: list[Doc]  # {ch, d, m, orders, units, revenue, revenue_base, discount, ...}
    first_order: dict[str, datetime]  # member -> their first order (in scope)
    channels: dict[str, Doc]  # the caller's channels by id (kind, currency, zone)


async def results_batch(db: Database, keys: Sequence[Key], *, scope: Scope
                        ) -> list[CampaignRows]:
    """One :class:`CampaignRows` per key, in key order."""
    channels = {doc["_id"]: doc for doc in await list_channels(db, scope=scope)}
    zones = {channel_id: doc["time_zone"] for channel_id, doc in channels.items()}
    by_window: dict[Window, list[str]] = defaultdict(list)
    for campaign_id, window in keys:
        by_window[window].append(campaign_id)
    answers: dict[tuple[str, Window], CampaignRows] = {}
    for window, campaign_ids in by_window.items():
        rows = await _rows(db, sorted(set(campaign_ids)), window, zones, scope) if zones else []
        members = sorted({row["m"] for row in rows if row["m"] is not None})
        first = await _first_orders(db, members, scope) if members else {}
        grouped: dict[str, list[Doc]] = defaultdict(list)
        for row in rows:
            grouped[row["c"]].append(row)
        for campaign_id in campaign_ids:
            answers[(campaign_id, window)] = CampaignRows(grouped.get(campaign_id, []), first,
                                                          channels)
    return [answers[key] for key in keys]


async def _rows(db: Database, campaign_ids: list[str], window: Window, zones: dict[str, str],
                scope: Scope) -> list[Doc]:
    day = {"$dateToString": {"format": DAY, "date": "$placed_at",
                             "timezone": zone_expression("channel_id", zones)}}
    pipeline: list[Doc] = [
        {"$match": scope.restrict({"promotions.campaign_id": {"$in": campaign_ids},
                                   "placed_at": {"$gte": window.since, "$lt": window.until},
                                   **NOT_CANCELLED})},
        {"$unwind": "$promotions"},
        {"$match": {"promotions.campaign_id": {"$in": campaign_ids}}},
        {"$group": {
            "_id": {"c": "$promotions.campaign_id", "ch": "$channel_id", "d": day,
                    "m": {"$ifNull": ["$member_id", None]}},
            "orders": {"$sum": 1},
            "units": {"$sum": {"$sum": "$lines.quantity"}},
            "revenue": {"$sum": {"$subtract": ["$total", {"$ifNull": ["$refunded", 0]}]}},
            "revenue_base": {"$sum": {"$subtract": [
                "$total_base", {"$ifNull": ["$refunded_base", 0]}]}},
            "discount": {"$sum": "$promotions.amount"},
            "discount_base": {"$sum": "$promotions.amount_base"},
            "first": {"$min": "$placed_at"},
        }},
    ]
    return [{**row["_id"], **{k: v for k, v in row.items() if k != "_id"}}
            for row in await aggregate(db["orders"], pipeline)]


async def _first_orders(db: Database, members: list[str], scope: Scope
                        ) -> dict[str, datetime]:
    pipeline: list[Doc] = [
        {"$match": scope.restrict({"member_id": {"$in": members}, **NOT_CANCELLED})},
        {"$group": {"_id": "$member_id", "first": {"$min": "$placed_at"}}},
    ]
    return {row["_id"]: row["first"] for row in await aggregate(db["orders"], pipeline)}
