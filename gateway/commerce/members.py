"""Enrolling members and linking the identities they use in each channel.

An identity's ``_id`` is ``"<channel>:<external id>"``: linking is an insert, and the unique
``_id`` makes it safe under concurrency (two members can never hold one identity). Linking is
naturally idempotent: re-linking an identity to the member that holds it writes nothing.

One member per phone: enrolling reads the phone as E.164 (international, or national in the
home channel's country, :mod:`gateway.database.contacts`) and claims it with a
``member_keys`` document whose ``_id`` is ``"phone:<E.164>"``, inserted before the member.
The unique ``_id`` lets one of any number of concurrent enrolments win; the others are
refused with ``PHONE_TAKEN`` (the person is already a member: link their new channel's
identity with ``linkIdentity``). The message names the member holding the phone when the
caller may see that member. Erasing a member frees its phone.
"""

from __future__ import annotations

import re

from pymongo.errors import DuplicateKeyError

from gateway.clock import now
from gateway.commerce import loyalty, validation
from gateway.commerce.common import channel_doc, member_id_of, new_id
from gateway.commerce.idempotency import Once, check_not_done, run_once
from gateway.database import Database
from gateway.database.contacts import e164, phone_key_id, search_fields
from gateway.database.query import Doc
from gateway.database.writes import members as member_writes
from gateway.errors import reject
from gateway.ids import identity_key
from gateway.loaders import Loaders
from gateway.settings import Settings

_EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]{1,189}$")
_PHONE = re.compile(r"^\+?[0-9 ()-]{5,32}$")


async def enrol_member(
    *, db: Database, loaders: Loaders, settings: Settings, caller: str, name: str,
    phone: str | None,
    email: str | None, home_channel_id: str, external_id: str | None, source: str,
    idempotency_key: str,
) -> Once:
    """Create a member once per key, BRONZE with the signup bonus; with ``external_id``, also
    link the member's identity in the home channel (IDENTITY_TAKEN if someone holds it)."""
    validation.idempotency_key(idempotency_key)
    validation.text(name, field="name", max_length=100)
    validation.text(source, field="source", max_length=50)
    if phone is not None and not _PHONE.match(phone):
        raise reject("INVALID", "phone must be 5 to 32 digits, spaces, +, - or ().",
                     field="phone")
    if email is not None and not _EMAIL.match(email):
        raise reject("INVALID", "email must look like name@domain.", field="email")

    async def work(member_id: str, resumed: bool) -> None:
        await check_not_done(db, "members", member_id, resumed)
        home = await channel_doc(loaders, home_channel_id, field="homeChannel")
        region = home.get("country")
        normal = None
        if phone is not None and (normal := e164(phone, region=region)) is None:
            raise reject("INVALID", "phone must be a valid number, international (+86 138 "
                         "0013 8000) or national in the home channel's country.",
                         field="phone")
        joined = now()
        claimed = None
        if normal is not None:
            claimed = await _claim_phone(db, loaders, normal=normal, member_id=member_id)
        identity = None
        try:
            if external_id is not None:
                identity = await _insert_identity(db, member_id=member_id,
                                                  channel_id=home_channel_id,
                                                  external_id=external_id, source=source)
            doc = {"_id": member_id, "name": name, "phone": phone, "email": email,
                   "tier": "BRONZE", "points": loyalty.SIGNUP_BONUS, "joined_at": joined,
                   "home_channel_id": home_channel_id, "enrolled_by": caller,
                   "search": search_fields(name=name, phone=phone, email=email,
                                           region=region)}
            await member_writes.insert(db, "members", doc)
        except BaseException:
            if identity is not None:
                await member_writes.delete(db, "identities", identity["_id"])
            if claimed is not None:
                await member_writes.delete(db, "member_keys", claimed)
            raise
        await member_writes.insert(db, loyalty.LEDGER, {
            "_id": f"SIGNUP:{member_id}", "member_id": member_id,
            "channel_id": home_channel_id, "order_id": None,
            "delta": loyalty.SIGNUP_BONUS, "reason": "SIGNUP",
            "balance": loyalty.SIGNUP_BONUS, "at": joined})
        loaders.member_written(doc, created=True)

    return await run_once(
        db, caller=caller, mutation="enrolMember", key=idempotency_key,
        request=[name, phone, email, home_channel_id, external_id, source],
        new_id=new_id("mem_"), work=work, lease_seconds=settings.idempotency_lease_seconds)


async def _claim_phone(db: Database, loaders: Loaders, *, normal: str,
                       member_id: str) -> str | None:
    """Claim the phone for ``member_id``; the key's id when this call claimed it, ``None``
    when it held it already (a resumed enrolment). PHONE_TAKEN when another member holds it."""
    key = phone_key_id(normal)
    try:
        await member_writes.insert(db, "member_keys", {"_id": key, "member_id": member_id,
                                                       "at": now()})
    except DuplicateKeyError:
        holder = await member_writes.find_one(db, "member_keys", key)
        if holder is not None and holder["member_id"] == member_id:
            return None
        seen = holder is not None and await loaders.members_by_id.load(holder["member_id"])
        whose = f"member {holder['member_id']}" if seen and holder else "another member"
        raise reject("PHONE_TAKEN", f"{normal} belongs to {whose}: link this channel's "
                     "identity to that member instead (linkIdentity).", field="phone") from None
    return key


async def _insert_identity(db: Database, *, member_id: str, channel_id: str, external_id: str,
                           source: str) -> Doc:
    doc = {"_id": identity_key(channel_id, external_id), "member_id": member_id,
           "channel_id": channel_id, "external_id": external_id, "linked_at": now(),
           "source": source}
    try:
        await member_writes.insert(db, "identities", doc)
    except DuplicateKeyError:
        raise reject("IDENTITY_TAKEN", f"{external_id} in {channel_id} belongs to another "
                     "member.", field="externalId") from None
    return doc


async def link_identity(
    *, db: Database, loaders: Loaders, member_id: str, channel_id: str, external_id: str,
    source: str,
) -> Doc:
    """Link ``external_id`` in ``channel_id`` to the member (its survivor, if merged)."""
    validation.text(source, field="source", max_length=50)
    await channel_doc(loaders, channel_id)
    holder = await member_id_of(loaders, member_id)
    key = identity_key(channel_id, external_id)
    doc = {"_id": key, "member_id": holder, "channel_id": channel_id,
           "external_id": external_id, "linked_at": now(), "source": source}
    try:
        await member_writes.insert(db, "identities", doc)
    except DuplicateKeyError:
        existing = await member_writes.find_one(db, "identities", key)
        if existing is not None and existing["member_id"] == holder:
            return existing
        raise reject("IDENTITY_TAKEN", f"{external_id} in {channel_id} belongs to another "
                     "member.", field="externalId") from None
    loaders.identities_by_id.prime(key, doc, force=True)
    return doc


async def unlink_identity(
    *, db: Database, loaders: Loaders, channel_id: str, external_id: str
) -> Doc:
    """Remove an identity; the removed document."""
    await channel_doc(loaders, channel_id)  # another channel's is NOT_FOUND to a partner
    removed = await member_writes.delete(db, "identities", identity_key(channel_id, external_id))
    if removed is None:
        raise reject("NOT_FOUND", f"No identity {external_id} in {channel_id}.",
                     field="externalId")
    return removed
