"""Merging two member accounts and undoing it, without multi-document transactions.

A merge never rewrites the merged member's orders, payments or visits. It records what moves
(a ``merges`` document), marks the merged member ``merged_into`` the survivor, adds the merged
id to the survivor's ``merged_ids`` (its *cluster*: history, summaries, lifetime value and the
points ledger read every id of it), moves the points balance and the identities. Each step is
one conditional single-document update (or an ``update_many`` over the recorded identity ids),
in an order that a failed step can undo; the merge record goes PENDING -> ACTIVE -> PENDING
-> UNDONE, and only one request can move it at each step.

``unmergeMembers`` reverses every step from the record, so both members are exactly as before
(activity recorded for the survivor in between stays with the survivor).
"""

from __future__ import annotations

from gateway.clock import now
from gateway.commerce import loyalty
from gateway.commerce.common import new_id
from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.writes import members as member_writes
from gateway.errors import reject
from gateway.loaders import Loaders
from gateway.loaders.members import cluster_of
from gateway.settings import Settings

TIERS = ("BRONZE", "SILVER", "GOLD", "PLATINUM")


async def merge_members(
    *, db: Database, loaders: Loaders, settings: Settings, caller: str, survivor_id: str,
    merged_id: str,
) -> Doc:
    """Fold ``merged_id`` into ``survivor_id``; the merge record. Merging again a member
    already merged into the same survivor returns the existing record (safe to retry)."""
    if survivor_id == merged_id:
        raise reject("INVALID", "A member cannot be merged into itself.", field="merged")
    survivor, merged = await loaders.members_by_id.load_many([survivor_id, merged_id])
    if survivor is None:
        raise reject("NOT_FOUND", f"Unknown member {survivor_id}.", field="survivor")
    if merged is None:
        raise reject("NOT_FOUND", f"Unknown member {merged_id}.", field="merged")
    if merged.get("merged_into") == survivor_id:
        existing = await member_writes.find_one(db, "merges", merged["merge_id"])
        if existing is not None:
            return existing
    if survivor.get("merged_into"):
        raise reject("CONFLICT", f"{survivor_id} was merged into {survivor['merged_into']}.",
                     field="survivor")
    if merged.get("merged_into"):
        raise reject("CONFLICT", f"{merged_id} was merged into {merged['merged_into']}.",
                     field="merged")
    if merged.get("merged_ids"):
        raise reject("CONFLICT", f"{merged_id} holds merged members; unmerge them first.",
                     field="merged")
    identities = await loaders.identities_by_member.load(merged_id)
    lifetime = await loyalty.lifetime_spend(db, cluster=[*cluster_of(survivor), merged_id])
    tier = max(survivor["tier"], merged["tier"], loyalty.tier_for(lifetime, settings),
               key=TIERS.index)
    record = {
        "_id": new_id("mrg_"), "survivor_id": survivor_id, "merged_id": merged_id,
        "status": "PENDING", "identity_ids": [i["_id"] for i in identities],
        "channel_ids": sorted({i["channel_id"] for i in identities}),
        "points": merged["points"], "survivor_tier_before": survivor["tier"],
        "survivor_tier_after": tier, "merged_by": caller, "merged_at": now(),
    }
    await member_writes.insert(db, "merges", record)
    marked = await member_writes.update_member(
        db, query={"_id": merged_id, "merged_into": {"$exists": False},
                   "merged_ids.0": {"$exists": False}},
        update={"$set": {"merged_into": survivor_id, "merge_id": record["_id"]}})
    if not marked:
        await member_writes.delete(db, "merges", record["_id"])
        raise reject("CONFLICT", f"{merged_id} changed while merging; try again.",
                     field="merged")
    grown = await member_writes.update_member(
        db, query={"_id": survivor_id, "merged_into": {"$exists": False}},
        update={"$addToSet": {"merged_ids": merged_id}, "$inc": {"points": record["points"]},
                "$set": {"tier": tier}})
    if not grown:
        await member_writes.update_member(
            db, query={"_id": merged_id},
            update={"$unset": {"merged_into": "", "merge_id": ""}})
        await member_writes.delete(db, "merges", record["_id"])
        raise reject("CONFLICT", f"{survivor_id} changed while merging; try again.",
                     field="survivor")
    await member_writes.move_identities(db, ids=record["identity_ids"], from_member=merged_id,
                                        to_member=survivor_id)
    await member_writes.set_merge_status(db, merge_id=record["_id"], from_status="PENDING",
                                         to="ACTIVE")
    return {**record, "status": "ACTIVE"}


async def unmerge_members(*, db: Database, caller: str, merge_id: str) -> Doc:
    """Undo an ACTIVE merge from its record; undoing an undone merge returns it unchanged."""
    record = await member_writes.set_merge_status(db, merge_id=merge_id, from_status="ACTIVE",
                                                  to="PENDING")
    if record is None:
        current = await member_writes.find_one(db, "merges", merge_id)
        if current is None:
            raise reject("NOT_FOUND", f"Unknown merge {merge_id}.", field="mergeId")
        if current["status"] == "UNDONE":
            return current
        raise reject("CONFLICT", f"Merge {merge_id} is {current['status']}; retry shortly.",
                     field="mergeId")
    survivor_id, merged_id = record["survivor_id"], record["merged_id"]
    await member_writes.move_identities(db, ids=record["identity_ids"], from_member=survivor_id,
                                        to_member=merged_id)
    await member_writes.update_member(
        db, query={"_id": survivor_id},
        update={"$pull": {"merged_ids": merged_id}, "$inc": {"points": -record["points"]},
                "$set": {"tier": record["survivor_tier_before"]}})
    await member_writes.update_member(
        db, query={"_id": merged_id, "merge_id": merge_id},
        update={"$unset": {"merged_into": "", "merge_id": ""}})
    done = {"unmerged_by": caller, "unmerged_at": now()}
    await member_writes.set_merge_status(db, merge_id=merge_id, from_status="PENDING",
                                         to="UNDONE", extra=done)
    return {**record, "status": "UNDONE", **done}
