"""Consent: a member's consent to a purpose in a channel, as a history of records."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from gateway.clock import utc
from gateway.context import Info
from gateway.database.consents import current
from gateway.database.query import Doc
from resolvers.channels import Channel, load_channel


@strawberry.enum(description="What a member may consent to, per channel.")
class ConsentPurpose(Enum):
    MARKETING = strawberry.enum_value(
        "MARKETING", description="Being contacted with offers; a MARKETING segment counts and "
        "lists only members who grant it in at least one channel it covers.")
    ANALYTICS = strawberry.enum_value(
        "ANALYTICS", description="Their data being used to profile them (RFM, cohorts of "
        "named members); an ANALYTICS segment counts only members who grant it.")


@strawberry.type(description="One consent record: a member granted or withdrew consent to a "
                 "purpose in a channel, at a time, from a source. Records are never changed; "
                 "the latest per channel and purpose is the consent in force.")
class Consent:
    id: strawberry.ID = strawberry.field(description="Record id, prefix cns_.")
    purpose: ConsentPurpose = strawberry.field(description="The purpose.")
    granted: bool = strawberry.field(description="True: granted; false: withdrawn.")
    at: datetime = strawberry.field(description="When it was recorded (UTC).")
    source: str = strawberry.field(
        description="How it was given: a signup form, app settings, a cashier... (\"erased\" "
        "once the member was erased).")
    recorded_by: str | None = strawberry.field(
        description="The name of the key that recorded it; null for a partner key.")
    member_id: strawberry.ID = strawberry.field(
        description="The member account it was recorded for (a merged member's own id).")
    channel_id: strawberry.Private[str]

    @strawberry.field(description="The channel the consent applies to.")
    async def channel(self, info: Info) -> Channel | None:
        return await load_channel(info, self.channel_id)

    @classmethod
    def from_doc(cls, doc: Doc) -> Consent:
        return cls(id=strawberry.ID(doc["_id"]), purpose=ConsentPurpose(doc["purpose"]),
                   granted=doc["granted"], at=utc(doc["at"]), source=doc["source"],
                   recorded_by=doc.get("recorded_by"),
                   member_id=strawberry.ID(doc["member_id"]), channel_id=doc["channel_id"])


async def consents_of(info: Info, cluster: tuple[str, ...], *, history: bool) -> list[Consent]:
    """The consent in force per channel and purpose (``history``: every record, newest
    first) of a member's cluster, in the caller's channels."""
    records = await info.context.loaders.consents_by_member.load(cluster)
    chosen = list(reversed(records)) if history else current(records)
    return [Consent.from_doc(doc) for doc in chosen]
