"""Saved segments: reads of the ``segments`` collection.

A segment belongs to its *owner*: ``admin`` for a segment an admin key saved, or the partner's
channels (``partner:<channel ids>``) for one a partner key saved, so that every key of one
partner (a rotated key too) shares its segments, and a partner's segment only ever covers its
channels (``channels`` on the document). Admin keys see every segment and evaluate a
partner's within that partner's channels; a partner sees only its own. Names are unique per
owner: a segment's ``_id`` is made of its owner and name (:func:`segment_id`), so saving a
name again replaces that segment.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from gateway.database import Database
from gateway.database.query import Doc, Paging, by_ids, count, page_by_id
from gateway.database.scope import Scope

COLLECTION = "segments"


def owner_of(scope: Scope) -> str:
    """Who owns what ``scope`` saves."""
    if scope.channels is None:
        return "admin"
    return "partner:" + ",".join(sorted(scope.channels))


def segment_id(owner: str, name: str) -> str:
    """The id of the owner's segment of that name."""
    digest = hashlib.blake2b(f"{owner}\x00{name}".encode(), digest_size=12).hexdigest()
    return f"seg_{digest}"


def _visible(scope: Scope) -> Doc:
    return {} if scope.unrestricted else {"owner": owner_of(scope)}


async def segments_by_ids(db: Database, ids: Sequence[str], *, scope: Scope) -> dict[str, Doc]:
    return await by_ids(db[COLLECTION], ids, _visible(scope))


async def list_segments(db: Database, *, scope: Scope, paging: Paging) -> list[Doc]:
    """A page of the segments the caller sees, in id order (in reading order)."""
    return await page_by_id(db[COLLECTION], _visible(scope), paging=paging)


async def count_segments(db: Database, *, scope: Scope) -> int:
    return await count(db[COLLECTION], _visible(scope))
