"""enrolMember, linkIdentity and unlinkIdentity."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gateway import ids
from gateway.commerce.idempotency import caller_of
from gateway.commerce.members import enrol_member, link_identity, unlink_identity
from gateway.context import Info
from gateway.errors import Rejected
from resolvers.members import Identity, Member, load_member
from resolvers.mutations.common import IDEMPOTENCY_KEY, UserError, user_errors


@strawberry.input(description="A new loyalty member.")
class EnrolMemberInput:
    name: str = strawberry.field(description="Full name, 1 to 100 characters.")
    home_channel: strawberry.ID = strawberry.field(description="Where they join (ch_ id).")
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY)
    phone: str | None = strawberry.field(
        default=None, description="Phone, 5 to 32 characters: international (+86 138 0013 "
        "8000) or national in the home channel's country. One member per phone: a phone "
        "another member has is refused with PHONE_TAKEN.")
    email: str | None = strawberry.field(default=None, description="Email address.")
    external_id: str | None = strawberry.field(
        default=None, description="Their id in the home channel, linked as an identity.")
    source: str = strawberry.field(default="signup",
                                   description="How they joined, 1 to 50 characters.")


@strawberry.type(description="The result of enrolMember.")
class EnrolMemberPayload:
    member: Member | None = strawberry.field(description="The new member; null when refused.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


@strawberry.type(description="The result of linkIdentity or unlinkIdentity.")
class IdentityPayload:
    identity: Identity | None = strawberry.field(
        description="The identity linked (or removed); null when refused.")
    member: Member | None = strawberry.field(description="The member who holds (held) it.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


@strawberry.type
class MemberMutation:
    @strawberry.mutation(
        description="Enrol a member exactly once: tier BRONZE and a signup bonus of 100 points. "
        "A phone another member has is refused (PHONE_TAKEN; link the identity instead)."
    )
    async def enrol_member(
        self, info: Info,
        input: Annotated[EnrolMemberInput, strawberry.argument(description="The member.")],
    ) -> EnrolMemberPayload:
        ctx = info.context
        try:
            once = await enrol_member(
                db=ctx.db, loaders=ctx.loaders, settings=ctx.settings,
                caller=caller_of(ctx.scope, ctx.principal),
                name=input.name,
                phone=input.phone, email=input.email,
                home_channel_id=ids.check(input.home_channel, "ch_",
                                                 field="homeChannel"),
                external_id=ids.check_external_id(input.external_id, field="externalId")
                if input.external_id is not None else None,
                source=input.source, idempotency_key=input.idempotency_key,
            )
        except Rejected as exc:
            return EnrolMemberPayload(member=None, user_errors=user_errors(exc))
        return EnrolMemberPayload(member=await load_member(info, once.result_id),
                                  user_errors=[])

    @strawberry.mutation(
        description="Link a channel identity to a member. The identity's id "
        "(`channel:externalId`) is its own idempotency key: linking it again to the same "
        "member writes nothing; held by another member gives IDENTITY_TAKEN."
    )
    async def link_identity(
        self, info: Info,
        member: Annotated[strawberry.ID, strawberry.argument(description="mem_ id.")],
        channel: Annotated[strawberry.ID, strawberry.argument(description="ch_ id.")],
        external_id: Annotated[str, strawberry.argument(description="The channel's own id.")],
        source: Annotated[str, strawberry.argument(description="How it was linked.")] = "api",
    ) -> IdentityPayload:
        ctx = info.context
        try:
            doc = await link_identity(
                db=ctx.db, loaders=ctx.loaders,
                member_id=ids.check(member, "mem_", field="member"),
                channel_id=ids.check(channel, "ch_", field="channel"),
                external_id=ids.check_external_id(external_id, field="externalId"),
                source=source,
            )
        except Rejected as exc:
            return IdentityPayload(identity=None, member=None, user_errors=user_errors(exc))
        return IdentityPayload(identity=Identity.from_doc(doc),
                               member=await load_member(info, doc["member_id"]), user_errors=[])

    @strawberry.mutation(description="Remove a channel identity from its member.")
    async def unlink_identity(
        self, info: Info,
        channel: Annotated[strawberry.ID, strawberry.argument(description="ch_ id.")],
        external_id: Annotated[str, strawberry.argument(description="The channel's own id.")],
    ) -> IdentityPayload:
        ctx = info.context
        try:
            doc = await unlink_identity(
                db=ctx.db, loaders=ctx.loaders,
                channel_id=ids.check(channel, "ch_", field="channel"),
                external_id=ids.check_external_id(external_id, field="externalId"),
            )
        except Rejected as exc:
            return IdentityPayload(identity=None, member=None, user_errors=user_errors(exc))
        return IdentityPayload(identity=Identity.from_doc(doc),
                               member=await load_member(info, doc["member_id"]), user_errors=[])
