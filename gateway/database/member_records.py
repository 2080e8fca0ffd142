"""Reads of what happened to member accounts: the points ledger and merge records."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.database import Database
from gateway.database.query import Doc, Paging, find, latest_per_key


async def ledger_by_members(
    db: Database, member_ids: Sequence[str], *, paging: Paging
) -> dict[str, list[Doc]]:
    """A page of each member's ledger entries (newest first): one aggregate."""
    return await latest_per_key(
        db["points_ledger"], key_field="member_id", keys=member_ids, query={},
        time_field="at", paging=paging,
    )


async def merges_by_members(db: Database, member_ids: Sequence[str]) -> dict[str, list[Doc]]:
    """Merge records in which each member survived or was merged, oldest first: one find."""
    ids = list(dict.fromkeys(member_ids))
    docs = await find(
        db["merges"],
        {"$or": [{"survivor_id": {"$in": ids}}, {"merged_id": {"$in": ids}}]},
        sort=[("merged_at", 1), ("_id", 1)],
    )
    grouped: dict[str, list[Doc]] = {member_id: [] for member_id in ids}
    for doc in docs:
        for member_id in {doc["survivor_id"], doc["merged_id"]}:
            if member_id in grouped:
                grouped[member_id].append(doc)
    return grouped
