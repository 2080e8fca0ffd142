"""Loaders of the three activity collections: orders, payments and visits by id, and an
order's payments."""

from __future__ import annotations

from typing import TYPE_CHECKING

from strawberry.dataloader import DataLoader

from gateway.database import activity
from gateway.database.query import Doc
from gateway.loaders.batch import by_key

if TYPE_CHECKING:
    from gateway.loaders import Loaders


def _by_ids(loaders: Loaders, collection: str) -> DataLoader[str, Doc | None]:
    return by_key(lambda ids: activity.by_ids_in(loaders.db, collection, ids,
                                                 scope=loaders.scope))


def orders_by_id(loaders: Loaders) -> DataLoader[str, Doc | None]:
    return _by_ids(loaders, "orders")


def payments_by_id(loaders: Loaders) -> DataLoader[str, Doc | None]:
    return _by_ids(loaders, "payments")


def visits_by_id(loaders: Loaders) -> DataLoader[str, Doc | None]:
    return _by_ids(loaders, "visits")


def payments_by_order(loaders: Loaders) -> DataLoader[str, list[Doc]]:
    """An order's payments, oldest first."""
    return by_key(lambda ids: activity.payments_by_orders(loaders.db, ids, scope=loaders.scope),
                  default=[])
