"""Loaders of an order's life: events, refunds and returns by id, a payment's refunds, and a
page of each order's events."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from strawberry.dataloader import DataLoader

from gateway.database import lifecycle
from gateway.database.query import Doc, Paging
from gateway.loaders.batch import SharedLoader, by_key

if TYPE_CHECKING:
    from gateway.loaders import Loaders


def _by_ids(loaders: Loaders, collection: str) -> DataLoader[str, Doc | None]:
    return by_key(lambda ids: lifecycle.by_ids_in(loaders.db, collection, ids,
                                                  scope=loaders.scope))


def events_by_id(loaders: Loaders) -> DataLoader[str, Doc | None]:
    return _by_ids(loaders, "order_events")


def refunds_by_id(loaders: Loaders) -> DataLoader[str, Doc | None]:
    return _by_ids(loaders, "refunds")


def returns_by_id(loaders: Loaders) -> DataLoader[str, Doc | None]:
    return _by_ids(loaders, "returns")


def refunds_by_payment(loaders: Loaders) -> DataLoader[str, list[Doc]]:
    """A payment's refunds, oldest first."""
    return by_key(lambda ids: lifecycle.refunds_by_payments(loaders.db, ids,
                                                            scope=loaders.scope), default=[])


def events_by_order(loaders: Loaders) -> DataLoader[tuple[str, Paging], list[Doc]]:
    """A page of an order's events; the orders of a tick that ask for the same page share one
    aggregate."""
    async def batch(keys: list[tuple[str, Paging]]) -> list[list[Doc]]:
        orders: dict[Paging, list[str]] = defaultdict(list)
        for order_id, paging in keys:
            orders[paging].append(order_id)
        found = {paging: await lifecycle.events_by_orders(loaders.db, ids, scope=loaders.scope,
                                                           paging=paging)
                 for paging, ids in orders.items()}
        return [found[paging].get(order_id, []) for order_id, paging in keys]

    return SharedLoader(load_fn=batch)
