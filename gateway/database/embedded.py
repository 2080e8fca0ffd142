"""The embedded store: mongomock behind a thin adapter with the async surface of PyMongo.

It implements the part of ``AsyncMongoClient`` that the repository layer uses: ``find`` (a
cursor with ``to_list``), ``aggregate`` (awaitable, returns a cursor), and the awaitable write
and index methods. Calls run synchronously on the event loop, so each one is atomic, and each
counts as one command, as a MongoDB command would, and is traced as one (a span as long as
the call, see :data:`gateway.database.monitoring.command_span`). It is meant for demos and first
steps;
known gaps of mongomock 4.3: ``$dateToString`` with ``timezone`` is not implemented (the
adapter computes it, see :mod:`gateway.database.embedded_dates`), and unique indexes on array
fields are not enforced.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import mongomock

from gateway.database import embedded_dates, monitoring
from gateway.database.monitoring import record

# PyMongo method -> the MongoDB command it sends.
_COMMANDS = {
    "find_one": "find",
    "insert_one": "insert",
    "insert_many": "insert",
    "update_one": "update",
    "update_many": "update",
    "replace_one": "update",
    "delete_one": "delete",
    "delete_many": "delete",
    "bulk_write": "bulkWrite",
    "find_one_and_update": "findAndModify",
    "find_one_and_delete": "findAndModify",
    "count_documents": "aggregate",
    "estimated_document_count": "count",
    "distinct": "distinct",
    "create_indexes": "createIndexes",
    "create_index": "createIndexes",
    "index_information": "listIndexes",
    "drop": "drop",
}


class EmbeddedCursor:
    """A cursor whose query runs when ``to_list`` is awaited."""

    def __init__(
        self, run: Callable[[], list[dict[str, Any]]], command: str, collection: EmbeddedCollection
    ) -> None:
        self._run = run
        self._command = command
        self._collection = collection

    async def to_list(self, length: int | None = None) -> list[dict[str, Any]]:
        collection = self._collection
        record(self._command, collection.name)
        with monitoring.command_span(collection.database, self._command, collection.name):
            docs = self._run()
        return docs if length is None else docs[:length]


class EmbeddedCollection:
    """One collection of the embedded store."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self.name: str = collection.name
        self.database: str = collection.database.name

    def find(self, *args: Any, **kwargs: Any) -> EmbeddedCursor:
        kwargs.pop("batch_size", None)
        return EmbeddedCursor(
            lambda: list(self._collection.find(*args, **kwargs)), "find", self
        )

    async def aggregate(self, pipeline: list[dict[str, Any]], **kwargs: Any) -> EmbeddedCursor:
        kwargs.pop("batchSize", None)
        return EmbeddedCursor(
            lambda: embedded_dates.aggregate(self._collection, pipeline, **kwargs),
            "aggregate",
            self,
        )

    def __getattr__(self, attr: str) -> Callable[..., Awaitable[Any]]:
        if attr not in _COMMANDS:
            raise AttributeError(f"the embedded store does not offer {attr!r}")
        method = getattr(self._collection, attr)
        command = _COMMANDS[attr]

        async def call(*args: Any, **kwargs: Any) -> Any:
            record(command, self.name)
            with monitoring.command_span(self.database, command, self.name):
                return method(*args, **kwargs)

        return call


class EmbeddedDatabase:
    """A database of the embedded store."""

    def __init__(self, database: Any) -> None:
        self._database = database
        self._collections: dict[str, EmbeddedCollection] = {}
        self.name: str = database.name

    def __getitem__(self, name: str) -> EmbeddedCollection:
        if name not in self._collections:
            self._collections[name] = EmbeddedCollection(self._database[name])
        return self._collections[name]

    def __getattr__(self, name: str) -> EmbeddedCollection:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    async def command(self, name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        record(name, None)
        with monitoring.command_span(self.name, name, None):
            if name == "ping":
                return {"ok": 1.0}
            result: dict[str, Any] = self._database.command(name, *args, **kwargs)
        return result


class EmbeddedClient:
    """The in-process stand-in for ``pymongo.AsyncMongoClient``."""

    def __init__(self) -> None:
        self._client: Any = mongomock.MongoClient(tz_aware=True)

    def __getitem__(self, name: str) -> EmbeddedDatabase:
        return EmbeddedDatabase(self._client[name])

    async def close(self) -> None:
        self._client.close()
