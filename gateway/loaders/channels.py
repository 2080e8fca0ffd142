"""Loaders of the reference lists: channels, locations, and today's exchange rates."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from strawberry.dataloader import DataLoader

from gateway.database import channels, fx
from gateway.database.query import Doc
from gateway.loaders.batch import SharedLoader, by_key
from gateway.money import Rates

if TYPE_CHECKING:
    from gateway.loaders import Loaders


def every_channel(loaders: Loaders) -> Awaitable[list[Doc]]:
    """Every channel the caller sees, in id order: one command per request, whoever asks (the
    first asker's span holds it), and a cancelled asker does not cancel it for the others."""
    if loaders.every_channel_task is None:
        loaders.every_channel_task = asyncio.ensure_future(
            channels.list_channels(loaders.db, scope=loaders.scope))
    return asyncio.shield(loaders.every_channel_task)


def channels_by_id(loaders: Loaders) -> DataLoader[str, Doc | None]:
    """Channels are a short reference list: one command per request fetches them all
    (:func:`every_channel`), and every later batch (at any level of the query) awaits that
    same command."""

    async def fetch(ids: list[str]) -> dict[str, Doc]:
        return {doc["_id"]: doc for doc in await every_channel(loaders)}

    return by_key(fetch)


def locations_by_id(loaders: Loaders) -> DataLoader[str, Doc | None]:
    return by_key(lambda ids: channels.locations_by_ids(loaders.db, ids, scope=loaders.scope))


def locations_by_channel(loaders: Loaders) -> DataLoader[str, list[Doc]]:
    return by_key(lambda ids: channels.locations_by_channels(loaders.db, ids,
                                                             scope=loaders.scope), default=[])


def fx_rates(loaders: Loaders) -> DataLoader[str, Rates]:
    """Today's rates, keyed by the base currency they convert to (one find, whoever asks)."""

    async def batch(bases: Sequence[str]) -> list[Rates]:
        docs = await fx.current_rates(loaders.db)
        rates = {doc["_id"]: Decimal(doc["rate"]) for doc in docs}
        snapshots = {doc["_id"]: doc["snapshot_id"] for doc in docs if doc.get("snapshot_id")}
        return [Rates(base=base, per_unit=rates, snapshots=snapshots) for base in bases]

    return SharedLoader(load_fn=batch)
