"""What every loader is made of: a batch function over the keys of one tick, and a loader
whose cached results survive a cancelled caller.

A batch function sends one query for all the keys of a tick (``$in``) and returns one value per
key, in key order, ``None`` (or an empty list) for a miss.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

K = TypeVar("K")
V = TypeVar("V")


class SharedLoader(DataLoader[K, V]):
    """A DataLoader whose cached results survive a cancelled caller.

    Every load of a key hands out the same cached future. When graphql-core cancels the
    fields of an object (an error in one of them nulls the object), a task awaiting that
    future is cancelled, and asyncio cancels the awaited future with it: every other field
    waiting for the same key then failed with ``CancelledError``, and so did the request.
    Each caller awaits its own shield of the shared future instead.
    """

    def __init__(self, load_fn: Callable[[list[K]], Awaitable[list[Any]]]) -> None:
        super().__init__(load_fn=load_fn)
        self.mapped: dict[tuple[Any, K], Any] = {}
        """What a caller built from a loaded value, by (builder, key): reference data (a
        channel, a product) becomes a GraphQL object once per request, not once per field."""

    def load(self, key: K) -> Awaitable[V]:
        return asyncio.shield(super().load(key))


def by_key(
    fetch: Callable[[list[K]], Awaitable[dict[K, V]]], default: Any = None
) -> DataLoader[K, Any]:
    """A loader over ``fetch``, which returns the found values by key (one query)."""

    async def batch(keys: list[K]) -> list[Any]:
        found = await fetch(keys)
        return [found.get(key, default) for key in keys]

    return SharedLoader(load_fn=batch)
