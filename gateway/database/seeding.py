"""Load seed documents into a database, idempotently: each batch first deletes the documents
with the same ``_id`` values, then inserts the batch, so loading twice leaves the same data.
(Two plain commands per batch, which both MongoDB and the embedded store run alike; seeding is
an offline step, so the moment between the two does not matter.)

Seed files (``seeds/``, written by ``python -m gateway.demo.generator``) are MongoDB Extended
JSON in relaxed mode, one file per collection of :data:`COLLECTIONS` with one document per
line; :func:`read_seed_files` gives the documents back with UTC-aware datetimes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC
from pathlib import Path
from typing import Any

from bson import json_util
from bson.json_util import JSONMode, JSONOptions

from gateway.database import Database, rollups
from gateway.database.indexes import ensure_indexes
from gateway.database.query import Doc

BATCH = 2_000
COLLECTIONS: tuple[str, ...] = (
    "channels", "locations", "fx_rates", "products", "inventory",
    "members", "identities", "orders", "payments", "visits", "order_events", "refunds",
    "returns", "transfers", "stock_movements",
    "member_keys", "consents", "segments", "fx_history", "campaigns", "coupons",
    "coupon_redemptions",
)


def _batches(docs: list[Doc], size: int) -> Iterable[list[Doc]]:
    for start in range(0, len(docs), size):
        yield docs[start : start + size]


async def load(
    db: Database,
    data: dict[str, list[Doc]],
    *,
    progress: Callable[[str, int], Any] | None = None,
) -> dict[str, int]:
    """Upsert every document of ``data`` (collection -> documents), ensure the indexes, and
    rebuild the member rollups when orders or visits were loaded.

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
    if "orders" in data or "visits" in data:
        await rollups.rebuild(db)  # the loaded activity, rolled up per member and channel
    return {collection: len(docs) for collection, docs in data.items()}


_JSON_OPTIONS = JSONOptions(json_mode=JSONMode.RELAXED, tz_aware=True, tzinfo=UTC)


def write_seed_files(directory: Path, data: dict[str, list[Doc]]) -> None:
    """Write ``<name>.json`` per collection: a JSON array, one document per line, sorted by _id."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in COLLECTIONS:
        docs = sorted(data.get(name, []), key=lambda doc: doc["_id"])
        lines = ",\n".join(json_util.dumps(doc, json_options=_JSON_OPTIONS) for doc in docs)
        text = f"[\n{lines}\n]\n" if docs else "[]\n"
        (directory / f"{name}.json").write_text(text, encoding="utf-8", newline="\n")


def read_seed_files(directory: Path) -> dict[str, list[Doc]]:
    """Read the files written by :func:`write_seed_files`; datetimes come back UTC-aware."""
    result: dict[str, list[Doc]] = {}
    for name in COLLECTIONS:
        text = (directory / f"{name}.json").read_text(encoding="utf-8")
        result[name] = json_util.loads(text, json_options=_JSON_OPTIONS)
    return result
