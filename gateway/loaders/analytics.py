"""Loaders of the analytics fields: the same field on many parents is one aggregate
(:mod:`gateway.database.analytics`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from strawberry.dataloader import DataLoader

from gateway.database import analytics
from gateway.database.query import Doc
from gateway.loaders.batch import SharedLoader

if TYPE_CHECKING:
    from gateway.loaders import Loaders


def footfall_by_location(loaders: Loaders) -> DataLoader[analytics.SeriesKey, list[Doc]]:
    return SharedLoader(load_fn=lambda keys: analytics.footfall_batch(loaders.db, keys,
                                                                      scope=loaders.scope))


def sales_by_channel(loaders: Loaders) -> DataLoader[analytics.SeriesKey, list[Doc]]:
    return SharedLoader(load_fn=lambda keys: analytics.sales_batch(loaders.db, keys,
                                                                   scope=loaders.scope))


def top_products_by_channel(loaders: Loaders) -> DataLoader[analytics.PlainKey, list[Doc]]:
    return SharedLoader(load_fn=lambda keys: analytics.top_products_batch(
        loaders.db, keys, scope=loaders.scope))


def conversion_by_channel(
    loaders: Loaders,
) -> DataLoader[analytics.PlainKey, analytics.ActivityRows]:
    return SharedLoader(load_fn=lambda keys: analytics.conversion_batch(
        loaders.db, keys, scope=loaders.scope))
