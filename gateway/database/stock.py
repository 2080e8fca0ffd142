"""Repository functions for stock: levels per location, availability, movements, transfers.

Scope (see :mod:`gateway.database.scope`): inventory and movements name a location, not a
channel, so a partner reads them only at the locations of its channels: a location's lists
are read under a location the caller already sees, and lists across locations (a product's
movements, a movement by id) are limited to the partner's locations, read through the scoped
location query. A partner reads no movement's ``by`` (the name of the key that made it). A
transfer names two locations: a partner sees it only when both are at its channels
(``from_channel_id`` and ``to_channel_id``), without the names of the keys that made its
steps.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.database import Database
from gateway.database.channels import locations_by_channels, locations_by_ids
from gateway.database.latest import latest_per_key
from gateway.database.products import stock_key
from gateway.database.query import (
    Doc,
    Paging,
    by_ids,
    combine,
    find,
    first_by_id_per_key,
    page_by_time,
)
from gateway.database.scope import Scope

LEVEL_FIELDS = {"sku": 1, "location_id": 1, "on_hand": 1, "reserved": 1, "holds": 1}


async def levels(
    db: Database, *, skus: Sequence[str], location_ids: Sequence[str]
) -> dict[str, Doc]:
    """The levels of ``skus`` at ``location_ids`` (every pair that exists), keyed by ``_id``:
    one ``find``. Not scoped: allocation and availability read the levels of a channel's
    fulfilment locations whoever asks, and show no location's own level."""
    keys = [stock_key(sku, loc) for sku in dict.fromkeys(skus) for loc in location_ids]
    docs = await find(db["inventory"], {"_id": {"$in": keys}}, projection=LEVEL_FIELDS)
    return {doc["_id"]: doc for doc in docs}


def low_stock_filter(low: bool, threshold: int) -> Doc:
    """Levels whose available units (on hand less reserved) are at most ``threshold`` (or,
    with ``low`` False, above it)."""
    available = {"$subtract": ["$on_hand", "$reserved"]}
    return {"$expr": {"$lte" if low else "$gt": [available, threshold]}}


async def skus_in_category(db: Database, category: str) -> list[str]:
    """The SKUs of one category (not scoped: they only narrow a list the caller may read)."""
    docs = await find(db["products"], {"category": category}, projection={"_id": 1})
    return [doc["_id"] for doc in docs]


async def inventory_pages(
    db: Database, location_ids: Sequence[str], *, query: Doc, paging: Paging
) -> dict[str, list[Doc]]:
    """For each location (one the caller sees), a page of its levels in the order of their
    ids (by SKU) matching ``query``: one aggregate for all locations."""
    return await first_by_id_per_key(db["inventory"], key_field="location_id",
                                     keys=location_ids, query=query, paging=paging)


def _movement(doc: Doc, scope: Scope) -> Doc:
    return doc if scope.unrestricted else {**doc, "by": None}


def _transfer(doc: Doc, scope: Scope) -> Doc:
    if scope.unrestricted:
        return doc
    return {k: v for k, v in doc.items()
            if k not in ("created_by", "shipped_by", "received_by", "cancelled_by")}


async def _partner_locations(db: Database, scope: Scope) -> list[str] | None:
    """The locations of a partner's channels (``None`` for an admin: every location)."""
    if scope.channels is None:
        return None
    found = await locations_by_channels(db, sorted(scope.channels), scope=scope)
    return sorted(doc["_id"] for docs in found.values() for doc in docs)


async def movements_by_location(
    db: Database, location_ids: Sequence[str], *, paging: Paging, scope: Scope
) -> dict[str, list[Doc]]:
    """For each location (one the caller sees), a page of its movements, newest first: one
    aggregate for all locations."""
    found = await latest_per_key(db["stock_movements"], key_field="location_id",
                                 keys=location_ids, query={}, time_field="at", paging=paging,
                                 union=(await db.features()).union_with)
    return {key: [_movement(d, scope) for d in docs] for key, docs in found.items()}


async def movements_by_sku(
    db: Database, skus: Sequence[str], *, location_id: str | None, paging: Paging, scope: Scope
) -> dict[str, list[Doc]]:
    """For each SKU, a page of its movements (at one location, or at every location the
    caller sees), newest first: one aggregate, plus one ``find`` of a partner's locations."""
    visible = await _partner_locations(db, scope)
    places: list[str] | None = visible
    if location_id is not None:
        places = [location_id] if visible is None or location_id in visible else []
    if places == []:
        return {}
    query = {} if places is None else {"location_id": {"$in": places}}
    found = await latest_per_key(db["stock_movements"], key_field="sku", keys=skus, query=query,
                                 time_field="at", paging=paging,
                                 union=(await db.features()).union_with)
    return {key: [_movement(d, scope) for d in docs] for key, docs in found.items()}


async def movements_by_ids(db: Database, ids: Sequence[str], *, scope: Scope) -> dict[str, Doc]:
    """Movements by id, at locations the caller sees."""
    found = await by_ids(db["stock_movements"], ids)
    if scope.unrestricted or not found:
        return found
    visible = await locations_by_ids(db, sorted({d["location_id"] for d in found.values()}),
                                     scope=scope)
    return {key: _movement(doc, scope) for key, doc in found.items()
            if doc["location_id"] in visible}


def _transfer_scope(scope: Scope, query: Doc) -> Doc:
    return scope.restrict(scope.restrict(query, "from_channel_id"), "to_channel_id")


async def transfers_by_ids(db: Database, ids: Sequence[str], *, scope: Scope) -> dict[str, Doc]:
    """Transfers by id, when both their locations are the caller's."""
    found = await by_ids(db["transfers"], ids, _transfer_scope(scope, {}))
    return {key: _transfer(doc, scope) for key, doc in found.items()}


async def list_transfers(
    db: Database, *, scope: Scope, paging: Paging, location_id: str | None,
    statuses: Sequence[str] | None,
) -> list[Doc]:
    """A page of transfers, newest first, in reading order: from or to one location, in some
    statuses."""
    query = combine(
        {"$or": [{"from_location_id": location_id}, {"to_location_id": location_id}]}
        if location_id is not None else {},
        {"status": {"$in": list(statuses)}} if statuses is not None else {},
    )
    docs = await page_by_time(db["transfers"], _transfer_scope(scope, query),
                              time_field="created_at", paging=paging)
    return [_transfer(doc, scope) for doc in docs]
