"""Loaders of the goods: products by SKU, stock by (SKU, location)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from strawberry.dataloader import DataLoader

from gateway.database import products
from gateway.database.query import Doc
from gateway.loaders.batch import by_key

if TYPE_CHECKING:
    from gateway.loaders import Loaders


def products_by_sku(loaders: Loaders) -> DataLoader[str, Doc | None]:
    return by_key(lambda skus: products.products_by_skus(loaders.db, skus, scope=loaders.scope))


def stock_by_sku_location(loaders: Loaders) -> DataLoader[tuple[str, str], Doc | None]:
    async def fetch(keys: list[tuple[str, str]]) -> dict[tuple[str, str], Doc]:
        found = await products.stock_by_keys(loaders.db, keys, scope=loaders.scope)
        return {key: found[products.stock_key(*key)] for key in keys
                if products.stock_key(*key) in found}

    return by_key(fetch)
