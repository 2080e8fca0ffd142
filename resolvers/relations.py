"""Relations resolved from the request's loaders, synchronously when already loaded.

A relation field (an activity's channel, an order line's product...) asks a DataLoader for its
value. Written as ``async def``, every such field costs graphql-core a coroutine and, beside
its siblings, an asyncio task (about 11,500 of them for a page of 50 member 360s), even when
the loader has held the value since the start of the request. A field resolved with
:func:`relation` returns the value itself when the loader holds it, and an awaitable only when
it must wait for a batch; each value is made into its GraphQL object once per request.

:func:`prime` loads, before a page's items are resolved, what their selected relation fields
will ask for (:func:`selected` reads the selection): the same keys in the same batches (one
query per loader and tick) as the fields would have sent, and no query for a relation the
client did not select. The items' relation fields then all find their values loaded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final, TypeAlias, TypeVar

import strawberry
from graphql import FieldNode
from graphql.execution.values import VariableValues
from strawberry.dataloader import DataLoader

from gateway.admission.cost import LOADS
from gateway.admission.walker import Walker
from gateway.context import Info
from gateway.loaders.batch import SharedLoader

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")

MaybeAwaitable: TypeAlias = T | Awaitable[T]
_MISSING: Final[Any] = object()


# The metadata key of a field whose resolver is ``def field(self, info)`` and reads nothing of
# ``info`` but ``info.context``: resolvers/schema/execution.py may call it with the request's
# context alone, without building a ResolveInfo.
CONTEXT_ONLY: Final = "omnigw.context_only"


def relation_field(*, description: str, graphql_type: Any) -> Any:
    """A field whose resolver returns a :func:`relation` (a value or an awaitable): its GraphQL
    type is ``graphql_type``, and the cost counts it as database-backed (``LOADS``), as an
    ``async`` resolver would be. Its resolver takes ``(self, info)`` and reads only
    ``info.context`` (``CONTEXT_ONLY``)."""
    return strawberry.field(description=description, graphql_type=graphql_type,
                            metadata={LOADS: True, CONTEXT_ONLY: True})


def peek(loader: DataLoader[K, V], key: K) -> Any:
    """The loaded value of ``key``, or :data:`_MISSING` while it is not loaded (or failed)."""
    future = loader.cache_map.get(key)
    if future is None or not future.done() or future.cancelled() or future.exception():
        return _MISSING
    return future.result()


def relation(loader: DataLoader[K, V], key: K, make: Callable[[V], T]) -> MaybeAwaitable[T]:
    """``make`` of the loaded value of ``key``: at once when loaded, else once loaded. With a
    :class:`SharedLoader`, each key's value is made once per request and shared by every
    field that asks for it (``make`` must be one function, not a new lambda per call)."""
    memo: dict[tuple[Any, Any], T] = loader.mapped if isinstance(loader, SharedLoader) else {}
    if (make, key) in memo:
        return memo[(make, key)]
    value = peek(loader, key)
    if value is not _MISSING:
        made = memo[(make, key)] = make(value)
        return made
    return _later(loader, key, make, memo)


async def _later(loader: DataLoader[K, V], key: K, make: Callable[[V], T],
                 memo: dict[tuple[Any, Any], T]) -> T:
    value = await loader.load(key)
    if (make, key) not in memo:
        memo[(make, key)] = make(value)
    return memo[(make, key)]


async def resolved(value: MaybeAwaitable[T]) -> T:
    """The value of a :func:`relation`, for callers that await."""
    if isinstance(value, Awaitable):
        return await value
    return value


async def prime(*loads: tuple[DataLoader[Any, Any], Iterable[Any]]) -> None:
    """Load every key of each (loader, keys) pair, in one batch per loader, and wait for them.

    The loaders' shared futures are awaited under one shield: a cancelled caller does not
    cancel them for the other fields that wait for the same keys.
    """
    pending = [DataLoader.load(loader, key) for loader, keys in loads for key in set(keys)
               if peek(loader, key) is _MISSING]
    if pending:
        await asyncio.shield(asyncio.gather(*pending))


def selected(info: Info, *path: str) -> frozenset[str]:
    """The names of the fields selected below the current field at ``path`` (field names, not
    aliases), through fragments and inline fragments of every type condition, leaving out what
    ``@skip`` or ``@include`` leave out. Under a connection, ``selected(info, "edges", "node")``
    names the fields asked of its nodes."""
    raw = info._raw_info
    # strawberry hands resolvers the coerced values alone; the walker wants graphql-core's form
    variables = VariableValues(sources={}, coerced=raw.variable_values)  # type: ignore[arg-type]
    walker = Walker(raw.fragments)
    nodes: list[FieldNode] = list(raw.field_nodes)
    for name in path:
        nodes = [field for node in nodes
                 for field in walker.fields(node.selection_set, name, variables=variables)]
    return frozenset(field.name.value for node in nodes
                     for field in walker.fields(node.selection_set, variables=variables))
