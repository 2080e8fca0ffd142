"""Segments evaluated in the database: one aggregate answers every segment question of a tick.

Each question is a segment (its rules, purpose and channels, :mod:`segment_rules`) evaluated
at a moment ``as_of``, asking either its size or a page of its members' ids. Questions that
share ``as_of`` are answered by ONE aggregate on ``members``:

1. ``$match`` the members not erased;
2. ``$lookup`` each member's orders and visits (by ``member_id``, the shard key of both, so
   each lookup reads one member's documents on one shard) and, when a segment is a
   partner's, its identities; only what the questions need is looked up;
3. per member document and per segment, its facts: spend, order count, latest order and
   visit, activity per channel kind in the window, visits at the locations, consent,
   visibility, each over the segment's channels only;
4. ``$group`` by cluster (a merged member's facts go to its survivor; the tier is the
   survivor's), then one boolean per segment;
5. ``$facet``: every count in one ``$group``, and one branch per page asked (``$match`` the
   segment, keyset on ``_id``, ``$sort``, ``$limit``).

**Spend** (the ``lifetimeValue`` rule, the M of RFM) is, per order, its base total less what
was refunded of it (``total_base - refunded_base``, refunds of returns included): the sum the
member rollups hold, so for a segment evaluated now it is ``Member.lifetimeValue`` exactly
(``gateway.database.rollups.recompute`` sums the same; a write folds its change into the
rollups right after it, or the sweeper within a minute when the request died between). It is
computed from the orders, not read from the rollups, because a rollup holds today's totals
and a segment may be evaluated as of a past moment; an order refunded since that moment
counts net of the refund, as an order cancelled since counts not at all.

Nothing but the counts and the ids of the pages comes back. Relations are DataLoaders
everywhere else; a segment is the one place that joins in the database, because its rules
span members, orders and visits at once and the answer must not load every member into the
gateway.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from gateway.database import Database
from gateway.database.consents import state_key
from gateway.database.query import Doc, Paging, aggregate
from gateway.database.segment_rules import (
    FREQUENCY_ORDERS,
    Definition,
    Scores,
    Window,
    monetary_thresholds,
    recency_starts,
)

FACET_COUNTS: Final = "counts"


@dataclass(frozen=True)
class Spec:
    """A segment as it is evaluated: rules, purpose, the channels it covers (``None``: every
    channel, an admin's segment read by an admin), and the minor units of a major unit of the
    base currency (the M thresholds are in major units)."""

    definition: Definition
    purpose: str
    channels: tuple[str, ...] | None
    minor_per_major: int = 100


@dataclass(frozen=True)
class Question:
    """A segment's size (``paging`` None) or a page of its members, at ``as_of``."""

    spec: Spec
    as_of: datetime
    paging: Paging | None = None


@dataclass(frozen=True)
class Catalogue:
    """What the rules need to know of the channels the caller sees: their kinds."""

    kinds: dict[str, tuple[str, ...]]  # kind -> channel ids
    channels: tuple[str, ...]


async def answer(db: Database, questions: Sequence[Question], *,
                 catalogue: Catalogue) -> list[Any]:
    """The count (``int``) or the page of member ids (``list[str]``, reading order) of each
    question: one aggregate per distinct ``as_of``."""
    by_time: dict[datetime, list[int]] = defaultdict(list)
    for n, question in enumerate(questions):
        by_time[question.as_of].append(n)
    answers: list[Any] = [None] * len(questions)
    for as_of, positions in by_time.items():
        asked = [questions[n] for n in positions]
        specs = list(dict.fromkeys(q.spec for q in asked))
        pipeline = _pipeline(specs, asked, as_of, catalogue)
        (result,) = await aggregate(db["members"], pipeline)
        counts = (result[FACET_COUNTS] or [{}])[0]
        for slot, (n, question) in enumerate(zip(positions, asked, strict=True)):
            k = specs.index(question.spec)
            answers[n] = (counts.get(f"s{k}", 0) if question.paging is None
                          else [d["_id"] for d in result[f"p{slot}"]])
    return answers


def _pipeline(specs: list[Spec], asked: list[Question], as_of: datetime,
              catalogue: Catalogue) -> list[Doc]:
    orders = any(s.definition.needs_orders() for s in specs)
    visits = any(s.definition.needs_visits() for s in specs)
    identities = any(s.channels is not None for s in specs)
    stages: list[Doc] = [{"$match": {"erased_at": {"$exists": False}}}]
    compact: Doc = {}
    if orders:
        stages.append(_lookup("orders", "o"))
        live = {"$and": [{"$ne": ["$$x.status", "CANCELLED"]}, {"$lt": ["$$x.placed_at", as_of]}]}
        compact["o"] = {"$map": {"input": _filter("$o", live), "as": "x", "in": {
            "c": "$$x.channel_id", "t": "$$x.placed_at", "b": {"$subtract": [
                "$$x.total_base", {"$ifNull": ["$$x.refunded_base", 0]}]}}}}
    if visits:
        stages.append(_lookup("visits", "v"))
        compact["v"] = {"$map": {"input": _filter("$v", {"$lt": ["$$x.at", as_of]}), "as": "x",
                                 "in": {"c": "$$x.channel_id", "t": "$$x.at",
                                        "l": "$$x.location_id"}}}
    if identities:
        stages.append(_lookup("identities", "i"))
        compact["i"] = {"$map": {"input": "$i", "as": "x", "in": "$$x.channel_id"}}
    root = {"$eq": [{"$ifNull": ["$merged_into", None]}, None]}
    stages.append({"$project": {
        "root": {"$ifNull": ["$merged_into", "$_id"]},
        "tier": {"$cond": [root, "$tier", None]},
        "consented": {"$ifNull": ["$consented", []]},
        **compact}})
    scoped: Doc = {}
    for k, spec in enumerate(specs):
        if spec.channels is not None:
            if orders:
                scoped[f"o{k}"] = _filter("$o", {"$in": ["$$x.c", list(spec.channels)]})
            if visits:
                scoped[f"v{k}"] = _filter("$v", {"$in": ["$$x.c", list(spec.channels)]})
    if scoped:
        stages.append({"$addFields": scoped})
    facts: Doc = {}
    group: Doc = {"_id": "$root", "tier": {"$max": "$tier"}}
    for k, spec in enumerate(specs):
        for name, (expression, accumulator) in _facts(k, spec, as_of, catalogue).items():
            facts[name] = expression
            group[name] = {accumulator: f"${name}"}
    stages += [{"$project": facts | {"root": 1, "tier": 1}}, {"$group": group}]
    stages.append({"$addFields": {f"s{k}": _rules(k, spec, as_of, catalogue)
                                  for k, spec in enumerate(specs)}})
    facets: Doc = {FACET_COUNTS: [{"$group": {
        "_id": None, **{f"s{k}": {"$sum": {"$cond": [f"$s{k}", 1, 0]}}
                        for k in range(len(specs))}}}]}
    for slot, question in enumerate(asked):
        if question.paging is not None:
            facets[f"p{slot}"] = _page(f"s{specs.index(question.spec)}", question.paging)
    stages.append({"$facet": facets})
    return stages


def _lookup(collection: str, name: str) -> Doc:
    return {"$lookup": {"from": collection, "localField": "_id", "foreignField": "member_id",
                        "as": name}}


def _filter(array: Any, cond: Any) -> Doc:
    return {"$filter": {"input": array, "as": "x", "cond": cond}}


def _any(array: Any, cond: Any) -> Doc:
    """1 when an element of ``array`` meets ``cond`` (``$$x``), else 0."""
    return {"$cond": [{"$gt": [{"$size": _filter(array, cond)}, 0]}, 1, 0]}


def _in_window(window: Window, as_of: datetime) -> list[Doc]:
    start, end = window.bounds(as_of)
    bounds: list[Doc] = [{"$lt": ["$$x.t", end]}]
    if start is not None:
        bounds.append({"$gte": ["$$x.t", start]})
    return bounds


def _facts(k: int, spec: Spec, as_of: datetime, catalogue: Catalogue
           ) -> dict[str, tuple[Any, str]]:
    """Per member document: each fact of segment ``k`` and how its cluster combines it."""
    rules = spec.definition
    orders, visits = (f"$o{k}", f"$v{k}") if spec.channels is not None else ("$o", "$v")
    channels = spec.channels or catalogue.channels
    keys = [state_key(spec.purpose, ch) for ch in channels]
    facts: dict[str, tuple[Any, str]] = {
        f"k{k}c": (_any("$consented", {"$in": ["$$x", keys]}), "$max")}
    if spec.channels is not None:
        facts[f"k{k}see"] = (_any("$i", {"$in": ["$$x", list(spec.channels)]}), "$max")
    if rules.needs_orders():
        facts[f"k{k}m"] = ({"$sum": f"{orders}.b"}, "$sum")
        facts[f"k{k}n"] = ({"$size": orders}, "$sum")
        facts[f"k{k}lo"] = ({"$max": f"{orders}.t"}, "$max")
    if rules.needs_visits():
        facts[f"k{k}lv"] = ({"$max": f"{visits}.t"}, "$max")
    if rules.active_in is not None:
        both = {"$concatArrays": [orders, visits]}
        for kind in rules.active_in.kinds:
            of_kind = [ch for ch in catalogue.kinds.get(kind, ()) if ch in channels]
            facts[f"k{k}a{kind}"] = (_any(both, {"$and": [
                {"$in": ["$$x.c", of_kind]}, *_in_window(rules.active_in.window, as_of)]}),
                "$max")
    if rules.visited is not None:
        facts[f"k{k}vis"] = (_any(visits, {"$and": [
            {"$in": ["$$x.l", list(rules.visited.locations)]},
            *_in_window(rules.visited.window, as_of)]}), "$max")
    return facts


def _scored(value: Any, thresholds: Sequence[Any]) -> Doc:
    """5 when ``value`` reaches the first threshold, 4 the second... else 1."""
    expression: Any = 1
    for n, threshold in reversed(list(enumerate(thresholds))):
        expression = {"$cond": [{"$gte": [value, threshold]}, 5 - n, expression]}
    return expression  # type: ignore[no-any-return]


def _between(value: Any, scores: Scores) -> list[Doc]:
    return [{"$gte": [value, scores.min]}, {"$lte": [value, scores.max]}]


def _rules(k: int, spec: Spec, as_of: datetime, catalogue: Catalogue) -> Doc:
    """The boolean of segment ``k`` over a cluster's facts."""
    rules = spec.definition
    clauses: list[Any] = [{"$eq": [f"$k{k}c", 1]}]
    if spec.channels is not None:
        clauses.append({"$eq": [f"$k{k}see", 1]})
    if rules.tiers is not None:
        clauses.append({"$in": ["$tier", list(rules.tiers)]})
    if rules.lifetime_value is not None:
        if rules.lifetime_value.at_least is not None:
            clauses.append({"$gte": [f"$k{k}m", rules.lifetime_value.at_least]})
        if rules.lifetime_value.below is not None:
            clauses.append({"$lt": [f"$k{k}m", rules.lifetime_value.below]})
    if rules.active_in is not None:
        clauses += [{"$eq": [f"$k{k}a{kind}", 1]} for kind in rules.active_in.kinds]
    if rules.visited is not None:
        clauses.append({"$eq": [f"$k{k}vis", 1]})
    if rules.last_activity is not None:
        last = {"$max": [f"$k{k}lo", f"$k{k}lv"]}
        clauses.append({"$ne": [last, None]})
        window = rules.last_activity
        if window.within_days is not None:
            clauses.append({"$gte": [last, Window(within_days=window.within_days).bounds(
                as_of)[0]]})
        if window.not_within_days is not None:
            clauses.append({"$lt": [last, Window(within_days=window.not_within_days).bounds(
                as_of)[0]]})
        if window.since is not None:
            clauses.append({"$gte": [last, window.since]})
        if window.before is not None:
            clauses.append({"$lt": [last, window.before]})
    if rules.rfm is not None:
        clauses.append({"$gt": [f"$k{k}n", 0]})
        measures = (
            (rules.rfm.recency, f"$k{k}lo", recency_starts(as_of)),
            (rules.rfm.frequency, f"$k{k}n", FREQUENCY_ORDERS),
            (rules.rfm.monetary, f"$k{k}m", monetary_thresholds(spec.minor_per_major)),
        )
        for scores, value, thresholds in measures:
            if scores is not None:
                clauses += _between(_scored(value, thresholds), scores)
    return {"$and": clauses}


def _page(flag: str, paging: Paging) -> list[Doc]:
    keyset: Doc = {}
    if paging.after is not None:
        keyset["$gt"] = paging.after.id
    if paging.before is not None:
        keyset["$lt"] = paging.before.id
    match: Doc = {flag: True, **({"_id": keyset} if keyset else {})}
    return [{"$match": match}, {"$sort": {"_id": -1 if paging.backward else 1}},
            {"$limit": paging.limit}, {"$project": {"_id": 1}}]
