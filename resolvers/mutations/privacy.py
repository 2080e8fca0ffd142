"""recordConsent, eraseMember and exportMember: a member's consent and personal data."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gateway import ids
from gateway.commerce.consent import record_consent
from gateway.commerce.idempotency import caller_of
from gateway.context import Info
from gateway.errors import Rejected
from resolvers.consent import Consent, ConsentPurpose
from resolvers.members import Member, load_member
from resolvers.mutations.common import IDEMPOTENCY_KEY, UserError, user_errors


@strawberry.input(description="A member's answer about one purpose in one channel.")
class RecordConsentInput:
    member: strawberry.ID = strawberry.field(description="The member (mem_ id).")
    channel: strawberry.ID = strawberry.field(
        description="The channel the consent applies to (ch_ id); a partner key records "
        "consent in its own channels.")
    purpose: ConsentPurpose = strawberry.field(description="The purpose.")
    granted: bool = strawberry.field(description="True: granted; false: withdrawn.")
    source: str = strawberry.field(
        description="How it was given (a signup form, app settings, a cashier...), 1 to 100 "
        "characters.")
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of recordConsent.")
class ConsentPayload:
    consent: Consent | None = strawberry.field(
        description="The record written; null when refused.")
    member: Member | None = strawberry.field(description="The member, with its consent now.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


@strawberry.type
class PrivacyMutation:
    @strawberry.mutation(description=(
        "Record that a member granted or withdrew consent to a purpose in a channel: a new "
        "record in the member's consentHistory, which becomes the consent in force unless a "
        "newer record is. Exactly once per idempotency key. NOT_FOUND for a member or "
        "channel the caller does not see; CONFLICT for an erased member."))
    async def record_consent(
        self, info: Info,
        input: Annotated[RecordConsentInput, strawberry.argument(description="The answer.")],
    ) -> ConsentPayload:
        ctx = info.context
        member_id = ids.check(input.member, "mem_", field="member")
        try:
            once = await record_consent(
                db=ctx.db, loaders=ctx.loaders, settings=ctx.settings,
                caller=caller_of(ctx.scope, ctx.principal), member_id=member_id,
                channel_id=ids.check(input.channel, "ch_", field="channel"),
                purpose=input.purpose.value, granted=input.granted, source=input.source,
                idempotency_key=input.idempotency_key)
        except Rejected as exc:
            return ConsentPayload(consent=None, member=None, user_errors=user_errors(exc))
        member = await load_member(info, member_id)
        records = await ctx.loaders.consents_by_member.load(member.cluster) if member else []
        record = next((r for r in records if r["_id"] == once.result_id), None)
        return ConsentPayload(consent=Consent.from_doc(record) if record else None,
                              member=member, user_errors=[])
