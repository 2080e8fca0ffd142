"""Repository functions for the activity collections: orders, payments, visits and order
events (shipments, pick-ups, refunds, returns... see ``gateway.commerce.operations``).

They share one shape: a channel, a member (visits may be anonymous), a time field, and
lists ordered newest first with a ``(time, _id)`` keyset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from gateway.database import Database
from gateway.database.latest import latest_per_key
from gateway.database.query import (
    Doc,
    Paging,
    by_ids,
    combine,
    grouped_by,
    page_by_time,
)
from gateway.database.scope import Scope

TIME_FIELD: Final = {"orders": "placed_at", "payments": "paid_at", "visits": "at",
                     "order_events": "at"}
ACTIVITY_COLLECTIONS: Final = tuple(TIME_FIELD)


@dataclass(frozen=True)
class ActivityFilter:
    """Typed filter of an activity list; every field optional."""

    channel_ids: tuple[str, ...] | None = None
    member_id: str | None = None
    location_id: str | None = None
    statuses: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    methods: tuple[str, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None

    def query(self, collection: str) -> Doc:
        time_field = TIME_FIELD[collection]
        time_range: Doc = {}
        if self.since is not None:
            time_range["$gte"] = self.since
        if self.until is not None:
            time_range["$lt"] = self.until
        return combine(
            {"channel_id": {"$in": list(self.channel_ids)}} if self.channel_ids is not None else {},
            {"member_id": self.member_id} if self.member_id is not None else {},
            {"location_id": self.location_id} if self.location_id is not None else {},
            {"status": {"$in": list(self.statuses)}} if self.statuses is not None else {},
            {"kind": {"$in": list(self.kinds)}} if self.kinds is not None else {},
            {"method": {"$in": list(self.methods)}} if self.methods is not None else {},
            {time_field: time_range} if time_range else {},
        )


async def by_ids_in(
    db: Database, collection: str, ids: Sequence[str], *, scope: Scope
) -> dict[str, Doc]:
    return await by_ids(db[collection], ids, scope.restrict({}))


async def page(
    db: Database,
    collection: str,
    *,
    scope: Scope,
    where: ActivityFilter,
    paging: Paging,
) -> list[Doc]:
    """A page of one activity collection (newest first), in reading order."""
    return await page_by_time(
        db[collection],
        scope.restrict(where.query(collection)),
        time_field=TIME_FIELD[collection],
        paging=paging,
    )


async def payments_by_orders(
    db: Database, order_ids: Sequence[str], *, scope: Scope
) -> dict[str, list[Doc]]:
    return await grouped_by(
        db["payments"], "order_id", order_ids, scope.restrict({}), sort=[("paid_at", 1), ("_id", 1)]
    )


async def latest_by_member(
    db: Database,
    collection: str,
    *,
    scope: Scope,
    member_ids: Sequence[str],
    where: ActivityFilter,
    paging: Paging,
) -> dict[str, list[Doc]]:
    """A page of each member's ``collection`` (newest first): one aggregate for all, in the
    shape the engine runs best (:mod:`gateway.database.latest`)."""
    return await latest_per_key(
        db[collection], union=(await db.features()).union_with,
        key_field="member_id",
        keys=member_ids,
        query=scope.restrict(where.query(collection)),
        time_field=TIME_FIELD[collection],
        paging=paging,
    )
