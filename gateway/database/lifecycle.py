"""Repository reads of an order's life: order events, refunds and returns (scoped by their
``channel_id``, the order's channel)."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.database import Database
from gateway.database.latest import latest_per_key
from gateway.database.query import Doc, Paging, by_ids, grouped_by
from gateway.database.scope import Scope

LIFECYCLE_COLLECTIONS = ("order_events", "refunds", "returns")


async def by_ids_in(
    db: Database, collection: str, ids: Sequence[str], *, scope: Scope
) -> dict[str, Doc]:
    return await by_ids(db[collection], ids, scope.restrict({}))


async def refunds_by_payments(
    db: Database, payment_ids: Sequence[str], *, scope: Scope
) -> dict[str, list[Doc]]:
    """Each payment's refunds, oldest first: one ``find``."""
    return await grouped_by(db["refunds"], "payment_id", payment_ids, scope.restrict({}),
                            sort=[("at", 1), ("_id", 1)])


async def events_by_orders(
    db: Database, order_ids: Sequence[str], *, scope: Scope, paging: Paging
) -> dict[str, list[Doc]]:
    """A page of each order's events (newest first): one aggregate for all."""
    return await latest_per_key(db["order_events"], union=(await db.features()).union_with,
                                key_field="order_id", keys=order_ids,
                                query=scope.restrict({}), time_field="at", paging=paging)
