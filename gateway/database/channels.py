"""Repository functions for channels and locations (FX rates: gateway/database/fx.py)."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.database import Database
from gateway.database.query import Doc, by_ids, find, grouped_by
from gateway.database.scope import Scope


async def channels_by_ids(db: Database, ids: Sequence[str], *, scope: Scope) -> dict[str, Doc]:
    return await by_ids(db["channels"], ids, scope.restrict({}, "_id"))


async def list_channels(db: Database, *, scope: Scope) -> list[Doc]:
    return await find(db["channels"], scope.restrict({}, "_id"), sort=[("_id", 1)])


async def locations_by_ids(db: Database, ids: Sequence[str], *, scope: Scope) -> dict[str, Doc]:
    return await by_ids(db["locations"], ids, scope.restrict({}))


async def locations_by_channels(
    db: Database, channel_ids: Sequence[str], *, scope: Scope
) -> dict[str, list[Doc]]:
    return await grouped_by(db["locations"], "channel_id", channel_ids, scope.restrict({}))
