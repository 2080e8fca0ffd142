"""mergeMembers and unmergeMembers."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import strawberry

from gateway import ids
from gateway.commerce.idempotency import caller_of
from gateway.commerce.merges import merge_members, unmerge_members
from gateway.context import Info
from gateway.database.scope import Scope
from gateway.errors import Forbidden, Rejected
from resolvers.loyalty import Merge
from resolvers.members import Member, load_member
from resolvers.mutations.common import UserError, user_errors


@strawberry.type(description="The result of mergeMembers or unmergeMembers.")
class MergePayload:
    merge: Merge | None = strawberry.field(description="The merge record; null when refused.")
    survivor: Member | None = strawberry.field(description="The surviving member, as now.")
    merged: Member | None = strawberry.field(
        description="The merged member as now: the survivor while merged, itself once undone.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


@strawberry.type
class MergeMutation:
    @strawberry.mutation(
        description="Fold the `merged` member into `survivor`: identities and points move, "
        "the merged member is marked mergedInto the survivor (member(id:) of it returns the "
        "survivor), and the survivor's history, channelSummaries, lifetimeValue and "
        "pointsLedger include the merged member's activity, which is not rewritten. Recorded "
        "(what moved, when, by whom) so that unmergeMembers can undo it; retrying returns "
        "the same record. A member that holds merged members cannot itself be merged. "
        "Needs an admin key (FORBIDDEN otherwise)."
    )
    async def merge_members(
        self, info: Info,
        survivor: Annotated[strawberry.ID, strawberry.argument(description="mem_ id kept.")],
        merged: Annotated[strawberry.ID, strawberry.argument(description="mem_ id folded.")],
    ) -> MergePayload:
        ctx = info.context
        _admin_only(ctx.scope, "mergeMembers")
        try:
            record = await merge_members(
                db=ctx.db, loaders=ctx.loaders, settings=ctx.settings,
                caller=caller_of(ctx.scope, ctx.principal),
                survivor_id=ids.check(survivor, "mem_", field="survivor"),
                merged_id=ids.check(merged, "mem_", field="merged"),
            )
        except Rejected as exc:
            return MergePayload(merge=None, survivor=None, merged=None,
                                user_errors=user_errors(exc))
        return await _payload(info, record)

    @strawberry.mutation(
        description="Undo a merge: identities, points and tier go back and both members are "
        "exactly as before it. Undoing an undone merge returns it unchanged. Needs an admin "
        "key (FORBIDDEN otherwise)."
    )
    async def unmerge_members(
        self, info: Info,
        merge_id: Annotated[strawberry.ID, strawberry.argument(description="mrg_ id.")],
    ) -> MergePayload:
        ctx = info.context
        _admin_only(ctx.scope, "unmergeMembers")
        try:
            record = await unmerge_members(db=ctx.db, caller=caller_of(ctx.scope, ctx.principal),
                                           merge_id=ids.check(merge_id, "mrg_", field="mergeId"))
        except Rejected as exc:
            return MergePayload(merge=None, survivor=None, merged=None,
                                user_errors=user_errors(exc))
        return await _payload(info, record)


async def _payload(info: Info, record: dict[str, Any]) -> MergePayload:
    # The writes changed both members and their identities: read them afresh.
    info.context.loaders.members_by_id.clear_all()
    info.context.loaders.identities_by_member.clear_all()
    survivor, merged = await asyncio.gather(load_member(info, record["survivor_id"]),
                                            load_member(info, record["merged_id"]))
    return MergePayload(merge=Merge.from_doc(record), survivor=survivor, merged=merged,
                        user_errors=[])


def _admin_only(scope: Scope, mutation: str) -> None:
    """Merges move a member's identities in every channel: an admin's decision."""
    if not scope.unrestricted:
        raise Forbidden(f"{mutation} needs an admin key.")
