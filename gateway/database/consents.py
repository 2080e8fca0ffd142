"""Reads of consent: each member's history of consent records, per channel and purpose.

A consent record says that, at ``at``, the member granted or withdrew consent to one purpose
(``MARKETING``, ``ANALYTICS``) in one channel, and how the gateway learnt it (``source``: a
signup form, an app setting, a cashier...). Records are never changed (erasure blanks their
``source``); the member's current consent per channel and purpose is the latest record (ties:
the greater record id). The member document keeps that current state too (``consented``, see
:mod:`gateway.database.writes.privacy`), for segments to match on.

Consent records are channel-bound: a partner reads those of its channels, without the name of
the key that recorded them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from gateway.database import Database
from gateway.database.query import Doc, grouped_by
from gateway.database.scope import Scope

PURPOSES: Final = ("MARKETING", "ANALYTICS")
COLLECTION: Final = "consents"


def state_key(purpose: str, channel_id: str) -> str:
    """An entry of the member document's ``consented`` list: a purpose granted in a channel."""
    return f"{purpose}:{channel_id}"


def state_field(purpose: str, channel_id: str) -> str:
    """The key of ``consent_at`` (when the consent in force was recorded) on the member
    document for a purpose in a channel (a field name holds no dot; a channel id may)."""
    return state_key(purpose, channel_id).replace(".", "%2E")


async def consents_by_members(
    db: Database, member_ids: Sequence[str], *, scope: Scope
) -> dict[str, list[Doc]]:
    """Each member's consent records in the caller's channels, oldest first: one find. A
    partner does not read which key recorded them."""
    found = await grouped_by(db[COLLECTION], "member_id", member_ids, scope.restrict({}),
                             sort=[("at", 1), ("_id", 1)])
    if scope.unrestricted:
        return found
    return {member: [{**d, "recorded_by": None} for d in docs] for member, docs in found.items()}


def current(records: Sequence[Doc]) -> list[Doc]:
    """The latest record per (channel, purpose) of records in time order, by channel then
    purpose."""
    latest: dict[tuple[str, str], Doc] = {}
    for record in records:
        latest[(record["channel_id"], record["purpose"])] = record
    return [latest[key] for key in sorted(latest)]
