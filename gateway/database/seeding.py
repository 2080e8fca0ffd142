"""Load seed documents into a database, idempotently: each batch first deletes the documents
with the same ``_id`` values, then inserts the batch, so loading twice leaves the same data.
(Two plain commands per batch, which both MongoDB and the embedded store run alike; seeding is
an offline step, so the moment between the two does not matter.)"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from gateway.database import Database
from gateway.database.indexes import ensure_indexes
from gateway.database.query import Doc

BATCH = 2_000


def _batches(docs: list[Doc], size: int) -> Iterable[list[Doc]]:
    for start in range(0, len(docs), size):
        yield docs[start : start + size]


async def load(
    db: Database,
    data: dict[str, list[Doc]],
    *,
    progress: Callable[[str, int], Any] | None = None,
) -> dict[str, int]:
    """Upsert every document of ``data`` (collection -> documents) and ensure the indexes.

    ``progress(collection, n)`` is called after each batch of ``n`` documents. Returns the
    number of documents per collection.
    """
    await ensure_indexes(db.db)
    for collection, docs in data.items():
        # An empty collection needs no deletes (a big first load is then inserts only).
        replacing = await db[collection].find_one({}, {"_id": 1}) is not None
        for batch in _batches(docs, BATCH):
            if replacing:
                await db[collection].delete_many({"_id": {"$in": [d["_id"] for d in batch]}})
            await db[collection].insert_many(batch, ordered=False)
            if progress is not None:
                progress(collection, len(batch))
    return {collection: len(docs) for collection, docs in data.items()}
