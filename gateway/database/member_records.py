"""Reads of what happened to member accounts: the points ledger and merge records.

Both are channel-bound (see ``gateway.database.scope``): a ledger entry carries the channel it
was booked in, a merge record the channels of the identities it moved. A partner reads only
its channels' entries and the merges in effect that moved one of its identities, without the
member-wide values (the running balance, the points a merge moved, who merged).
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.database import Database
from gateway.database.latest import latest_per_key
from gateway.database.query import Doc, Paging, find
from gateway.database.scope import Scope

# What a partner never reads of a ledger entry or a merge record: values that count every
# channel, and the names of the keys that merged.
LEDGER_MEMBER_WIDE = ("balance",)
MERGE_MEMBER_WIDE = ("points", "merged_by", "unmerged_by")


def _entry_seen_by(doc: Doc, scope: Scope) -> Doc:
    if scope.unrestricted:
        return doc
    return {**doc, **dict.fromkeys(LEDGER_MEMBER_WIDE)}


def _merge_seen_by(doc: Doc, scope: Scope) -> Doc:
    if scope.unrestricted:
        return doc
    identity_ids = [i for i in doc["identity_ids"] if scope.allows(i.split(":", 1)[0])]
    return {**doc, "identity_ids": identity_ids, **dict.fromkeys(MERGE_MEMBER_WIDE)}


def _merges_scope(query: Doc, scope: Scope) -> Doc:
    """A partner sees merges in effect that moved an identity of its channels."""
    if scope.unrestricted:
        return query
    return scope.restrict({**query, "status": "ACTIVE"}, "channel_ids")


async def ledger_by_members(
    db: Database, member_ids: Sequence[str], *, scope: Scope, paging: Paging
) -> dict[str, list[Doc]]:
    """A page of each member's ledger entries (newest first): one aggregate."""
    found = await latest_per_key(
        db["points_ledger"], union=(await db.features()).union_with, key_field="member_id",
        keys=member_ids, query=scope.restrict({}), time_field="at", paging=paging,
    )
    return {member: [_entry_seen_by(d, scope) for d in docs] for member, docs in found.items()}


async def merges_by_members(
    db: Database, member_ids: Sequence[str], *, scope: Scope
) -> dict[str, list[Doc]]:
    """Merge records in which each member survived or was merged, oldest first: one find."""
    ids = list(dict.fromkeys(member_ids))
    docs = await find(
        db["merges"],
        _merges_scope({"$or": [{"survivor_id": {"$in": ids}}, {"merged_id": {"$in": ids}}]},
                      scope),
        sort=[("merged_at", 1), ("_id", 1)],
    )
    grouped: dict[str, list[Doc]] = {member_id: [] for member_id in ids}
    for doc in docs:
        for member_id in {doc["survivor_id"], doc["merged_id"]}:
            if member_id in grouped:
                grouped[member_id].append(_merge_seen_by(doc, scope))
    return grouped


async def merged_members_seen(
    db: Database, merged_ids: Sequence[str], *, scope: Scope
) -> set[str]:
    """Which of these merged members the caller sees: those of a merge it sees (one find)."""
    docs = await find(
        db["merges"], _merges_scope({"merged_id": {"$in": list(dict.fromkeys(merged_ids))}},
                                    scope),
        projection={"merged_id": 1},
    )
    return {doc["merged_id"] for doc in docs}
