"""recordConsent, eraseMember and exportMember: a member's consent and personal data."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import orjson
import strawberry

from gateway import ids
from gateway.clock import now, utc
from gateway.commerce.consent import record_consent
from gateway.commerce.erasure import EXPORTED, erase_member, export_document, export_member
from gateway.commerce.idempotency import caller_of
from gateway.context import Info
from gateway.database.writes.privacy import AUDIT, records_of
from gateway.errors import Forbidden, Rejected
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


@strawberry.input(description="The member whose personal data to erase or export.")
class MemberDataInput:
    member: strawberry.ID = strawberry.field(
        description="The member (mem_ id); a merged member stands for its survivor, and the "
        "person is the survivor with every member merged into it.")
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY)


@strawberry.enum(description="What an audit entry records.")
class AuditAction(Enum):
    ERASE = strawberry.enum_value("ERASE", description="eraseMember.")
    EXPORT = strawberry.enum_value("EXPORT", description="exportMember.")


@strawberry.type(description="One entry of the member audit trail: an erasure or an export.")
class AuditEntry:
    id: strawberry.ID = strawberry.field(description="Entry id, prefix aud_.")
    action: AuditAction = strawberry.field(description="What was done.")
    member_id: strawberry.ID = strawberry.field(description="The member (the survivor).")
    by: str = strawberry.field(description="The name of the key that did it.")
    at: datetime = strawberry.field(description="When (UTC).")


@strawberry.type(description="The result of eraseMember.")
class ErasePayload:
    audit: AuditEntry | None = strawberry.field(description="The audit entry; null when "
                                                "refused.")
    member: Member | None = strawberry.field(description="The member as it is now: a "
                                             "pseudonym with its activity, nothing personal.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


@strawberry.type(description="Everything the gateway stores about one person.")
class MemberExport:
    id: strawberry.ID = strawberry.field(description="The export's audit entry id (aud_).")
    generated_at: datetime = strawberry.field(description="When the document was read.")
    document: str = strawberry.field(description=(
        "A JSON object: `format` (\"omnigw-member-export/1\"), `memberId`, `generatedAt`, "
        f"and `collections`, every stored document of the person by collection "
        f"({', '.join(EXPORTED)}), with times in RFC 3339 and amounts in minor units. A "
        "replay of the same idempotency key reads the data again under the same export id."))
    audit: AuditEntry = strawberry.field(description="The audit entry of the export.")


@strawberry.type(description="The result of exportMember.")
class ExportPayload:
    export: MemberExport | None = strawberry.field(description="The export; null when "
                                                   "refused.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


def _admin_only(info: Info, mutation: str) -> None:
    """Erasing and exporting reach every channel's data: an admin's decision."""
    if not info.context.scope.unrestricted:
        raise Forbidden(f"{mutation} needs an admin key.")


async def _audit(info: Info, entry_id: str) -> AuditEntry:
    (doc,) = await records_of(info.context.db, AUDIT, {"_id": entry_id})
    return AuditEntry(id=strawberry.ID(doc["_id"]), action=AuditAction(doc["action"]),
                      member_id=strawberry.ID(doc["member_id"]), by=doc["by"], at=utc(doc["at"]))


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
                purpose=input.purpose.name, granted=input.granted, source=input.source,
                idempotency_key=input.idempotency_key)
        except Rejected as exc:
            return ConsentPayload(consent=None, member=None, user_errors=user_errors(exc))
        member = await load_member(info, member_id)
        records = await ctx.loaders.consents_by_member.load(member.cluster) if member else []
        record = next((r for r in records if r["_id"] == once.result_id), None)
        return ConsentPayload(consent=Consent.from_doc(record) if record else None,
                              member=member, user_errors=[])

    @strawberry.mutation(description=(
        "Erase a person's personal data (PIPL, GDPR): the member and every member merged into "
        "it keep their id as a pseudonym and all their activity, so every aggregate stays "
        "exact, while name, phone, e-mail, identities (channel account ids), search fields "
        "and request fingerprints go, and every free text typed about the person becomes "
        "\"erased\": consent sources, refund and return reasons, write-off reasons, "
        "shipments' carrier and tracking number, visit sources (money, ids, codes and times "
        "stay; docs/members.md lists each collection). Audited; exactly once per idempotency "
        "key, and erasing again changes nothing more. Needs an admin key (FORBIDDEN "
        "otherwise)."))
    async def erase_member(
        self, info: Info,
        input: Annotated[MemberDataInput, strawberry.argument(description="Whom.")],
    ) -> ErasePayload:
        _admin_only(info, "eraseMember")
        ctx = info.context
        member_id = ids.check(input.member, "mem_", field="member")
        try:
            once = await erase_member(db=ctx.db, settings=ctx.settings,
                                      caller=caller_of(ctx.scope, ctx.principal),
                                      member_id=member_id,
                                      idempotency_key=input.idempotency_key)
        except Rejected as exc:
            return ErasePayload(audit=None, member=None, user_errors=user_errors(exc))
        audit = await _audit(info, once.result_id)
        return ErasePayload(audit=audit, member=await load_member(info, audit.member_id),
                            user_errors=[])

    @strawberry.mutation(description=(
        "Export everything stored about a person (the member and every member merged into "
        "it) as one JSON document. Audited; exactly once per idempotency key (a replay reads "
        "the data again under the same export id). Needs an admin key (FORBIDDEN "
        "otherwise)."))
    async def export_member(
        self, info: Info,
        input: Annotated[MemberDataInput, strawberry.argument(description="Whom.")],
    ) -> ExportPayload:
        _admin_only(info, "exportMember")
        ctx = info.context
        member_id = ids.check(input.member, "mem_", field="member")
        try:
            once = await export_member(db=ctx.db, settings=ctx.settings,
                                       caller=caller_of(ctx.scope, ctx.principal),
                                       member_id=member_id,
                                       idempotency_key=input.idempotency_key)
        except Rejected as exc:
            return ExportPayload(export=None, user_errors=user_errors(exc))
        audit = await _audit(info, once.result_id)
        generated = now()
        collections = await export_document(ctx.db, audit.member_id)
        document = orjson.dumps({"format": "omnigw-member-export/1", "memberId": audit.member_id,
                                 "generatedAt": generated, "collections": collections},
                                option=orjson.OPT_UTC_Z).decode()
        return ExportPayload(export=MemberExport(id=audit.id, generated_at=generated,
                                                 document=document, audit=audit),
                             user_errors=[])
