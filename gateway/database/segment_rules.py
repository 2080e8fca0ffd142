"""What a segment is: its typed definition, the windows it speaks of, and the RFM scores.

A segment is a saved, named set of rules over members; :mod:`gateway.database.segment_query`
evaluates it in the database. Every rule is optional; the rules given are combined with AND.

Activity
    An *order* is a non-cancelled order; an *activity* is an order or an identified visit.
    An order's *value* is its base-currency total (its FX snapshot) less what was refunded of
    it (returns included), as the member rollups and ``Member.lifetimeValue`` count it.
    Only activity in the segment's channels counts (every channel for an admin's segment; a
    partner's segment, its channels), and only activity before the evaluation time ``asOf``
    (by default now): a segment evaluated ``asOf`` a past moment sees the data as it was
    then, orders since cancelled or refunded aside (they count as they are now).

Windows
    A window is either ``withinDays`` (the ``N`` days up to ``asOf``) or ``since`` and/or
    ``until`` (absolute, ``[since, until)``); neither means all time up to ``asOf``.

Rules
    - ``tiers``: the member's tier is one of these (admin segments only: a tier counts every
      channel).
    - ``activeIn``: the member has activity in *every* listed channel kind within the window.
    - ``lifetimeValue``: the sum of the values of the member's orders (net of refunds, as
      ``Member.lifetimeValue``) is at least ``atLeast`` and below ``below`` (base-currency
      minor units).
    - ``lastActivity``: the member's latest activity is within the last ``withinDays``,
      and/or not within the last ``notWithinDays`` (lapsed members), and/or at or after
      ``since``, and/or before ``before``. A member with no activity never matches it.
    - ``visited``: an identified visit at one of these locations within the window.
    - ``rfm``: recency, frequency and monetary scores, each between its ``min`` and ``max``.

RFM
    Scores from 1 (low) to 5 (high), over the member's orders before ``asOf``:

    ========  ==========================================  =====  =====  =====  =====
    score     measure                                       5      4      3      2
    ========  ==========================================  =====  =====  =====  =====
    R         days from the latest order to ``asOf``       <=30   <=90   <=180  <=365
    F         number of orders                             >=20   >=10   >=5    >=2
    M         sum of the orders' values (major units)      >=10k  >=5k   >=2k   >=500
    ========  ==========================================  =====  =====  =====  =====

    Anything below the ``2`` column scores 1. The M thresholds are in the base currency
    (``OMNIGW_BASE_CURRENCY``), in major units (10,000.00 CNY by default). A member without an
    order has no RFM scores and never matches an ``rfm`` rule. The thresholds are fixed, not
    quantiles of the population, so a member's scores do not move when other members buy.

Members
    Merged members count through their survivor (the activity and the consent of its whole
    cluster); erased members are in no segment. A partner's segment holds only members the
    partner may see (an identity in one of its channels).

Purpose and consent
    A segment has a purpose, ``MARKETING`` or ``ANALYTICS``, and holds only members whose
    consent to that purpose is in force in at least one of the segment's channels (a partner:
    one of its own). No consent record means no consent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from gateway.database.query import Doc

KINDS: Final = ("ONLINE_SHOP", "SUPERMARKET", "RURAL_OUTLET", "OVERSEAS")
TIERS: Final = ("BRONZE", "SILVER", "GOLD", "PLATINUM")
MAX_DAYS: Final = 3650
MAX_LOCATIONS: Final = 50
# Score 5, 4, 3, 2 thresholds (below the last: 1).
RECENCY_DAYS: Final = (30, 90, 180, 365)
FREQUENCY_ORDERS: Final = (20, 10, 5, 2)
MONETARY_MAJOR_UNITS: Final = (10_000, 5_000, 2_000, 500)


@dataclass(frozen=True)
class Window:
    """``withinDays``, or ``since`` and/or ``until``; nothing: all time."""

    within_days: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def bounds(self, as_of: datetime) -> tuple[datetime | None, datetime]:
        """``[start, end)`` at evaluation time ``as_of`` (``start`` None: no lower bound)."""
        if self.within_days is not None:
            return as_of - timedelta(days=self.within_days), as_of
        end = as_of if self.until is None else min(self.until, as_of)
        return self.since, end

    def doc(self) -> Doc:
        return {"within_days": self.within_days, "since": self.since, "until": self.until}

    @classmethod
    def from_doc(cls, doc: Doc | None) -> Window:
        doc = doc or {}
        return cls(doc.get("within_days"), doc.get("since"), doc.get("until"))


@dataclass(frozen=True)
class ActiveIn:
    kinds: tuple[str, ...]
    window: Window


@dataclass(frozen=True)
class Visited:
    locations: tuple[str, ...]
    window: Window


@dataclass(frozen=True)
class LastActivity:
    within_days: int | None = None
    not_within_days: int | None = None
    since: datetime | None = None
    before: datetime | None = None


@dataclass(frozen=True)
class Range:
    """``[at_least, below)``; either side may be open."""

    at_least: int | None = None
    below: int | None = None


@dataclass(frozen=True)
class Scores:
    """Inclusive score range, 1 to 5."""

    min: int = 1
    max: int = 5


@dataclass(frozen=True)
class Rfm:
    recency: Scores | None = None
    frequency: Scores | None = None
    monetary: Scores | None = None


@dataclass(frozen=True)
class Definition:
    """A segment's rules (see the module docstring); every one optional."""

    tiers: tuple[str, ...] | None = None
    active_in: ActiveIn | None = None
    lifetime_value: Range | None = None
    last_activity: LastActivity | None = None
    visited: Visited | None = None
    rfm: Rfm | None = None

    def needs_orders(self) -> bool:
        return any(x is not None for x in (self.active_in, self.lifetime_value,
                                           self.last_activity, self.rfm))

    def needs_visits(self) -> bool:
        return any(x is not None for x in (self.active_in, self.last_activity, self.visited))

    def doc(self) -> Doc:
        """As stored in the segment document."""
        def scores(s: Scores | None) -> Any:
            return None if s is None else [s.min, s.max]

        return {
            "tiers": list(self.tiers) if self.tiers is not None else None,
            "active_in": None if self.active_in is None else {
                "kinds": list(self.active_in.kinds), **self.active_in.window.doc()},
            "lifetime_value": None if self.lifetime_value is None else {
                "at_least": self.lifetime_value.at_least, "below": self.lifetime_value.below},
            "last_activity": None if self.last_activity is None else {
                "within_days": self.last_activity.within_days,
                "not_within_days": self.last_activity.not_within_days,
                "since": self.last_activity.since, "before": self.last_activity.before},
            "visited": None if self.visited is None else {
                "locations": list(self.visited.locations), **self.visited.window.doc()},
            "rfm": None if self.rfm is None else {
                "recency": scores(self.rfm.recency), "frequency": scores(self.rfm.frequency),
                "monetary": scores(self.rfm.monetary)},
        }

    @classmethod
    def from_doc(cls, doc: Doc) -> Definition:
        def scores(pair: list[int] | None) -> Scores | None:
            return None if pair is None else Scores(pair[0], pair[1])

        active, ltv, last = doc.get("active_in"), doc.get("lifetime_value"), doc.get(
            "last_activity")
        visited, rfm = doc.get("visited"), doc.get("rfm")
        return cls(
            tiers=tuple(doc["tiers"]) if doc.get("tiers") is not None else None,
            active_in=None if active is None else ActiveIn(tuple(active["kinds"]),
                                                           Window.from_doc(active)),
            lifetime_value=None if ltv is None else Range(ltv.get("at_least"), ltv.get("below")),
            last_activity=None if last is None else LastActivity(
                last.get("within_days"), last.get("not_within_days"), last.get("since"),
                last.get("before")),
            visited=None if visited is None else Visited(tuple(visited["locations"]),
                                                         Window.from_doc(visited)),
            rfm=None if rfm is None else Rfm(scores(rfm.get("recency")),
                                             scores(rfm.get("frequency")),
                                             scores(rfm.get("monetary"))),
        )


def monetary_thresholds(minor_per_major: int) -> tuple[int, ...]:
    """The M thresholds in base-currency minor units."""
    return tuple(t * minor_per_major for t in MONETARY_MAJOR_UNITS)


def recency_starts(as_of: datetime) -> tuple[datetime, ...]:
    """The earliest latest-order time of scores 5, 4, 3 and 2 at ``as_of``."""
    return tuple(as_of - timedelta(days=d) for d in RECENCY_DAYS)


def score(value: Any, thresholds: tuple[Any, ...]) -> int:
    """The score (5 down to 1) of ``value`` against descending ``thresholds`` (plain Python,
    for tests and documentation: the database computes the same with ``$cond``)."""
    for n, threshold in enumerate(thresholds):
        if value >= threshold:
            return 5 - n
    return 1
