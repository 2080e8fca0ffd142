"""Repository functions for members and their channel identities.

A partner sees only members who hold an identity in one of its channels (and a member merged
into one of those by a merge that moved an identity of its channels: that member stands for
its survivor), with personal data (name, phone, email) masked and without the member-wide
``points`` and ``tier`` (both count every channel), and only the identities of its channels.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.database import Database
from gateway.database.member_records import merged_members_seen
from gateway.database.query import (
    Doc,
    Paging,
    by_ids,
    combine,
    count,
    find,
    grouped_by,
    page_by_id,
)
from gateway.database.scope import Scope
from gateway.errors import Forbidden

PERSONAL_FIELDS = ("name", "phone", "email")
MEMBER_WIDE_FIELDS = ("points", "tier")
# What no answer shows: the normalised contact data (gateway.database.contacts) and the
# consent state segments match on (Member.consents reads the records).
INTERNAL_FIELDS = ("search", "consented", "consent_at", "consent_id")
MASK = "***"


def seen_by(doc: Doc, scope: Scope) -> Doc:
    """A member document as ``scope`` may read it: without its internal fields; for a partner,
    also with personal data masked and the member-wide fields ``None``."""
    seen = {k: v for k, v in doc.items() if k not in INTERNAL_FIELDS}
    if scope.unrestricted:
        return seen
    return {**seen, **{field: MASK for field in PERSONAL_FIELDS if doc.get(field) is not None},
            **dict.fromkeys(MEMBER_WIDE_FIELDS)}


async def _visible_member_ids(db: Database, docs: dict[str, Doc], scope: Scope) -> set[str]:
    holders = await find(
        db["identities"],
        scope.restrict({"member_id": {"$in": list(docs)}}),
        projection={"member_id": 1},
    )
    visible = {doc["member_id"] for doc in holders}
    merged = [k for k, doc in docs.items() if k not in visible and doc.get("merged_into")]
    if merged:  # its identities moved to the survivor: it is seen through the merge
        visible |= await merged_members_seen(db, merged, scope=scope)
    return visible


async def members_by_ids(db: Database, ids: Sequence[str], *, scope: Scope) -> dict[str, Doc]:
    found = await by_ids(db["members"], ids)
    if not scope.unrestricted and found:
        visible = await _visible_member_ids(db, found, scope)
        found = {k: v for k, v in found.items() if k in visible}
    return {k: seen_by(v, scope) for k, v in found.items()}


async def members_query(
    db: Database,
    *,
    scope: Scope,
    tier: str | None = None,
    home_channel_id: str | None = None,
    channel_id: str | None = None,
) -> Doc | None:
    """The query of a member list (``None``: the list is empty); merged members are left out.

    ``channel_id`` keeps members holding an identity in that channel. For a partner the
    visibility rule is applied by the same identity query (one find), and a home channel it
    may not see gives an empty list (a partner cannot learn other channels' members' home
    channels). A tier counts every channel: filtering by it needs an admin key.
    """
    if tier is not None and not scope.unrestricted:
        raise Forbidden("Filtering members by tier needs an admin key (a tier counts every "
                        "channel).", field="tier")
    if home_channel_id is not None and not scope.allows(home_channel_id):
        return None
    query = combine(
        {"merged_into": {"$exists": False}},  # a merged member lives on in its survivor
        {"tier": tier} if tier is not None else {},
        {"home_channel_id": home_channel_id} if home_channel_id is not None else {},
    )
    if channel_id is not None or not scope.unrestricted:
        ident_query = scope.restrict({"channel_id": channel_id} if channel_id else {})
        member_ids = sorted(
            {d["member_id"] for d in await find(db["identities"], ident_query,
                                                projection={"member_id": 1})}
        )
        query = combine(query, {"_id": {"$in": member_ids}})
    return query


async def list_members(db: Database, query: Doc | None, *, scope: Scope,
                       paging: Paging) -> list[Doc]:
    """A page of the member list ``query`` names, in id order (in reading order)."""
    if query is None:
        return []
    docs = await page_by_id(db["members"], query, paging=paging)
    return [seen_by(doc, scope) for doc in docs]


async def count_members(db: Database, query: Doc | None) -> int:
    """How many members the list ``query`` names holds (one count)."""
    return 0 if query is None else await count(db["members"], query)


async def identities_by_ids(db: Database, ids: Sequence[str], *, scope: Scope) -> dict[str, Doc]:
    """Identities by ``"<channel>:<external id>"``."""
    return await by_ids(db["identities"], ids, scope.restrict({}))


async def identities_by_members(
    db: Database, member_ids: Sequence[str], *, scope: Scope
) -> dict[str, list[Doc]]:
    return await grouped_by(
        db["identities"], "member_id", member_ids, scope.restrict({}),
        sort=[("channel_id", 1), ("_id", 1)],
    )
