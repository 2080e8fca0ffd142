"""Repeat-purchase cohorts, computed in the database: one aggregate on ``orders``.

A member's *first order* is their earliest non-cancelled order in the caller's channels (a
merged member's orders count for its survivor: the person is the unit). Members whose first
order falls in ``[since, until)`` form cohorts by the period (calendar month, or ISO week
from Monday) of that order and by its channel kind. For the cohort's own period (offset 0)
and each later period up to ``until`` in which they ordered again, the cohort counts the
members who ordered, and of those, the members who ordered through each channel kind.

Periods are read in one time zone for every order (the brand's, ``OMNIGW_BRAND_TIME_ZONE``)
or each in its channel's zone. Orders at the same instant: the lower id is the first.

The pipeline: match the orders before ``until``; label each with its member (the survivor
for a merged one), period and kind; group by (member, period) in time order, keeping the
first order's time and kind and the set of kinds; group by member, keeping the first period
as the cohort; keep members whose first order is inside the window; unwind their periods and
count by (cohort, first kind, period). Only the counts come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Literal

from gateway.analytics import CHANNEL_KINDS, Window
from gateway.database import Database
from gateway.database.analytics import NOT_CANCELLED, zone_expression
from gateway.database.query import Doc, aggregate, find
from gateway.database.scope import Scope

Period = Literal["MONTH", "WEEK"]
FORMAT: Final[dict[str, str]] = {"MONTH": "%Y-%m", "WEEK": "%G-W%V"}


@dataclass(frozen=True)
class CohortRow:
    """Members of cohort (``cohort``, ``first_kind``) who ordered in ``period``, by kind."""

    cohort: str
    first_kind: str
    period: str
    members: int
    returned: int  # on the cohort's own period: members who ordered in a later one
    by_kind: dict[str, int]


async def cohort_rows(db: Database, window: Window, *, period: Period,
                      zones: dict[str, str] | str, kinds: dict[str, str],
                      scope: Scope) -> list[CohortRow]:
    """The counts of every (cohort, first kind, period). ``zones``: one IANA zone for every
    order, or each channel's; ``kinds``: each channel's kind. Two commands: the merged
    members (to count their orders for their survivor), then the aggregate."""
    merged = await find(db["members"], {"merged_into": {"$exists": True}},
                        projection={"merged_into": 1}, sort=[("_id", 1)])
    member: Any = "$member_id"
    survivors: dict[str, list[str]] = {}
    for doc in merged:
        survivors.setdefault(doc["merged_into"], []).append(doc["_id"])
    for survivor, ids in sorted(survivors.items(), reverse=True):
        member = {"$cond": [{"$in": ["$member_id", ids]}, survivor, member]}
    zone = zones if isinstance(zones, str) else zone_expression("channel_id", zones)
    counts = {kind: {"$sum": {"$cond": [{"$in": [kind, "$periods.kinds"]}, 1, 0]}}
              for kind in CHANNEL_KINDS}
    own = {"$eq": ["$periods.p", "$cohort"]}
    pipeline: list[Doc] = [
        {"$match": scope.restrict({"member_id": {"$ne": None}, "placed_at": {
            "$lt": window.until}, **NOT_CANCELLED})},
        {"$project": {"m": member, "t": "$placed_at",
                      "p": {"$dateToString": {"format": FORMAT[period], "date": "$placed_at",
                                              "timezone": zone}},
                      "k": zone_expression("channel_id", kinds)}},
        {"$sort": {"m": 1, "t": 1, "_id": 1}},
        {"$group": {"_id": {"m": "$m", "p": "$p"}, "t": {"$first": "$t"},
                    "k": {"$first": "$k"}, "kinds": {"$addToSet": "$k"}}},
        {"$sort": {"_id.m": 1, "t": 1}},
        {"$group": {"_id": "$_id.m", "cohort": {"$first": "$_id.p"},
                    "first_kind": {"$first": "$k"}, "t0": {"$first": "$t"},
                    "periods": {"$push": {"p": "$_id.p", "kinds": "$kinds"}}}},
        {"$match": {"t0": {"$gte": window.since, "$lt": window.until}}},
        {"$addFields": {"n": {"$size": "$periods"}}},
        {"$unwind": "$periods"},
        {"$group": {"_id": {"c": "$cohort", "k": "$first_kind", "p": "$periods.p"},
                    "members": {"$sum": 1},
                    "returned": {"$sum": {"$cond": [{"$and": [own, {"$gt": ["$n", 1]}]},
                                                    1, 0]}},
                    **counts}},
    ]
    rows = await aggregate(db["orders"], pipeline)
    return sorted((CohortRow(cohort=r["_id"]["c"], first_kind=r["_id"]["k"],
                             period=r["_id"]["p"], members=r["members"],
                             returned=r["returned"],
                             by_kind={k: r[k] for k in CHANNEL_KINDS if r[k]})
                   for r in rows), key=lambda r: (r.cohort, r.first_kind, r.period))


def label(key: str, period: Period) -> str:
    """A period's label: ``2026-03`` for a month, the Monday's date for an ISO week."""
    if period == "MONTH":
        return key
    year, week = key.split("-W")
    return date.fromisocalendar(int(year), int(week), 1).isoformat()


def offset(cohort: str, key: str, period: Period) -> int:
    """How many periods ``key`` comes after ``cohort`` (0: the cohort's own)."""
    if period == "MONTH":
        (y0, m0), (y1, m1) = (map(int, k.split("-")) for k in (cohort, key))
        return (y1 - y0) * 12 + (m1 - m0)
    start, end = (date.fromisoformat(label(k, "WEEK")) for k in (cohort, key))
    return (end - start).days // 7
