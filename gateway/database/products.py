"""Repository functions for products (with per-channel offers) and stock levels."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.database import Database
from gateway.database.channels import locations_by_ids
from gateway.database.query import Doc, Paging, by_ids, combine, count, page_by_id
from gateway.database.scope import Scope


def _visible_offers(doc: Doc, scope: Scope) -> Doc:
    if scope.unrestricted:
        return doc
    return {**doc, "offers": [o for o in doc.get("offers", []) if scope.allows(o["channel_id"])]}


async def products_by_skus(db: Database, skus: Sequence[str], *, scope: Scope) -> dict[str, Doc]:
    """Products by SKU; a partner sees only products offered in its channels, and only those
    offers."""
    found = await by_ids(db["products"], skus, scope.restrict({}, "offers.channel_id"))
    return {sku: _visible_offers(doc, scope) for sku, doc in found.items()}


def products_query(
    *, scope: Scope, category: str | None = None, brand: str | None = None,
    channel_id: str | None = None,
) -> Doc | None:
    """The query of a product list (``None``: the list is empty). A partner filtering by a
    channel it may not see gets an empty list (not the products that channel shares with its
    own)."""
    if channel_id is not None and not scope.allows(channel_id):
        return None
    query = combine(
        {"category": category} if category is not None else {},
        {"brand": brand} if brand is not None else {},
        {"offers.channel_id": channel_id} if channel_id is not None else {},
    )
    return scope.restrict(query, "offers.channel_id")


async def list_products(db: Database, query: Doc | None, *, scope: Scope,
                        paging: Paging) -> list[Doc]:
    """A page of the product list ``query`` names, in SKU order (in reading order)."""
    if query is None:
        return []
    docs = await page_by_id(db["products"], query, paging=paging)
    return [_visible_offers(doc, scope) for doc in docs]


async def count_products(db: Database, query: Doc | None) -> int:
    """How many products the list ``query`` names holds (one count)."""
    return 0 if query is None else await count(db["products"], query)


def stock_key(sku: str, location_id: str) -> str:
    """The ``_id`` of an inventory document."""
    return f"{sku}@{location_id}"


async def stock_by_keys(
    db: Database, keys: Sequence[tuple[str, str]], *, scope: Scope
) -> dict[str, Doc]:
    """Inventory documents for ``(sku, location_id)`` pairs, keyed by their ``_id``.

    Inventory documents name a location, not a channel: for a partner, the locations are
    read first through the scoped location query (one more command), and only stock at
    those of its channels is read.
    """
    if not scope.unrestricted:
        visible = await locations_by_ids(db, [loc for _, loc in keys], scope=scope)
        keys = [key for key in keys if key[1] in visible]
        if not keys:
            return {}
    return await by_ids(db["inventory"], [stock_key(sku, loc) for sku, loc in keys])
