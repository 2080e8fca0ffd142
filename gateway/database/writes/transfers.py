"""Transfer writes: the ``transfers`` collection (one document per transfer between two
locations; its stock side is in :mod:`gateway.database.writes.stock`).

A transfer holds ``from_location_id``/``to_location_id`` and their channels (for scope),
``lines`` (``sku``, ``quantity``), ``status`` (``CREATED``, ``IN_TRANSIT``, ``RECEIVED``,
``CANCELLED``), who did each step and when, and, while a step is under way, ``pending`` (the
step: ``SHIP`` or ``CANCEL``) and ``pending_since``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from gateway.database import Database
from gateway.database.query import Doc, find
from gateway.database.scope import Scope


async def insert(db: Database, doc: Doc) -> None:
    """Insert one transfer (its ``_id`` chosen by the caller)."""
    await db["transfers"].insert_one(doc)


async def delete(db: Database, *, transfer_id: str) -> None:
    """Remove a transfer whose creation is being undone (no claim names it any more)."""
    await db["transfers"].delete_one({"_id": transfer_id})


async def move(
    db: Database, *, scope: Scope, transfer_id: str, from_status: str, to: str,
    extra: Doc, pending: str | None = None, at: datetime,
) -> Doc | None:
    """Move a transfer (both of whose channels the caller may see) from ``from_status`` to
    ``to``, marking ``pending`` when a step follows; the document after the change, or
    ``None`` when it was in another status (one conditional findAndModify)."""
    update: dict[str, Any] = {"$set": {"status": to, **extra}}
    if pending is not None:
        update["$set"].update(pending=pending, pending_since=at)
    query = scope.restrict(scope.restrict({"_id": transfer_id, "status": from_status},
                                          "from_channel_id"), "to_channel_id")
    found: Doc | None = await db["transfers"].find_one_and_update(
        query, update, return_document=ReturnDocument.AFTER)
    return found


async def settled(db: Database, *, transfer_id: str, step: str) -> None:
    """The step ``step`` is complete: remove the mark (only if it is still that step's)."""
    await db["transfers"].update_one({"_id": transfer_id, "pending": step},
                                     {"$unset": {"pending": "", "pending_since": ""}})


async def unsettled(db: Database, *, before: datetime, limit: int) -> list[Doc]:
    """Transfers with a step under way since before ``before`` (cut half-way)."""
    return await find(db["transfers"], {"pending_since": {"$lt": before}}, limit=limit)
