"""Recording a member's consent to a purpose in a channel.

Consent is a history: each call appends a record (who, which channel and purpose, granted or
withdrawn, when, from what source, by which key) and makes it the member's current consent
for that channel and purpose unless a newer record is already in force
(:mod:`gateway.database.writes.privacy`). A partner records consent in its own channels, for
members it sees. Exactly once per idempotency key.
"""

from __future__ import annotations

from gateway.clock import now
from gateway.commerce import validation
from gateway.commerce.common import channel_doc, new_id
from gateway.commerce.idempotency import Once, check_not_done, run_once
from gateway.database import Database
from gateway.database.consents import COLLECTION, PURPOSES
from gateway.database.writes import privacy
from gateway.errors import reject
from gateway.loaders import Loaders
from gateway.settings import Settings


async def record_consent(
    *, db: Database, loaders: Loaders, settings: Settings, caller: str, member_id: str,
    channel_id: str, purpose: str, granted: bool, source: str, idempotency_key: str,
) -> Once:
    """Append a consent record; its id is the result. NOT_FOUND for a member or channel the
    caller does not see."""
    validation.idempotency_key(idempotency_key)
    validation.text(source, field="source", max_length=100)
    if purpose not in PURPOSES:
        raise reject("INVALID", f"purpose must be one of {', '.join(PURPOSES)}.",
                     field="purpose")

    async def work(record_id: str, resumed: bool) -> None:
        await check_not_done(db, COLLECTION, record_id, resumed)
        await channel_doc(loaders, channel_id)
        member = await loaders.members_by_id.load(member_id)
        if member is None:
            raise reject("NOT_FOUND", f"Unknown member {member_id}.", field="member")
        holder = member.get("merged_into") or member["_id"]
        if member.get("erased_at") is not None:
            raise reject("CONFLICT", f"Member {member_id} was erased.", field="member")
        at = now()
        await privacy.insert_consent(db, {
            "_id": record_id, "member_id": holder, "channel_id": channel_id,
            "purpose": purpose, "granted": granted, "source": source, "at": at,
            "recorded_by": caller})
        await privacy.apply_consent(db, member_id=holder, purpose=purpose,
                                    channel_id=channel_id, granted=granted, at=at,
                                    record_id=record_id)

    return await run_once(
        db, caller=caller, mutation="recordConsent", key=idempotency_key,
        request=[member_id, channel_id, purpose, granted, source], new_id=new_id("cns_"),
        work=work, lease_seconds=settings.idempotency_lease_seconds)
