"""Exactly-once creates: an idempotency key per caller and mutation.

The race, and how it is settled without transactions:

1. **Claim first.** The request inserts ``{_id: "<caller>:<mutation>:<key>", status: PENDING,
   fingerprint, result_id}``. The unique ``_id`` lets exactly one of any number of concurrent
   requests win; the id of the object to create (``result_id``) is chosen here.
2. **The winner works** (reserves stock, inserts the order...) and then marks the claim
   ``DONE``. If the work is refused (a user error) or fails, its own steps are undone and the
   claim is deleted, so the key can be used again: a key is spent only by a success.
3. **Losers wait.** A request that finds the key taken compares fingerprints (a different
   input gives ``IDEMPOTENCY_KEY_REUSED``), then polls with a growing back-off until the claim
   is ``DONE`` (and returns the same object: the replay writes nothing) or gone (it claims
   again). After ``wait_seconds`` it returns ``IDEMPOTENCY_KEY_IN_USE``, which is retryable.

4. **Stale claims.** A claim still PENDING ``STALE_AFTER`` seconds after it was taken belongs
   to a request that died mid-work. A waiting request takes it over (a conditional update on
   the old holder's token: one winner) and runs the work again with the same ``result_id``.
   If the dead holder had already written the object, the work's insert of that id fails as
   a duplicate: the work undoes its own steps and raises :class:`AlreadyDone`, and the claim
   is completed with the existing object. (Stock the dead holder reserved for an order it
   never wrote stays reserved: fix it with ``adjustStock``.)

Keys live at least 48 hours (a TTL index on ``created_at``, see indexes.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from gateway.commerce.errors import reject
from gateway.database import Database
from gateway.database.scope import Scope
from gateway.database.writes import idempotency as repo

WAIT_SECONDS = 5.0
STALE_AFTER = timedelta(seconds=60)


class AlreadyDone(Exception):
    """Raised by a resumed work function whose object already exists."""


async def check_not_done(db: Database, collection: str, result_id: str, resumed: bool) -> None:
    """In a resumed work, raise :class:`AlreadyDone` if ``result_id`` was already written."""
    if resumed and await repo.exists(db, collection=collection, doc_id=result_id):
        raise AlreadyDone(result_id)


def caller_of(scope: Scope, principal: Any = None) -> str:
    """Who is calling, for idempotency scoping and audit entries: the API key's name (unique;
    ``gateway.auth.Principal``), or, for in-process callers without a key, the scope."""
    if principal is not None:
        return str(principal.name)
    if scope.unrestricted:
        return "admin"
    return "partner:" + ",".join(sorted(scope.channels or ()))


def fingerprint(request: Any) -> str:
    """A stable digest of a request's input (keys sorted)."""
    return hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class Once:
    """The outcome: the id of the created object and whether this call was a replay."""

    result_id: str
    replayed: bool


async def run_once(
    db: Database,
    *,
    caller: str,
    mutation: str,
    key: str,
    request: Any,
    new_id: str,
    work: Callable[[str, bool], Awaitable[None]],
    key_field: str = "idempotencyKey",
    wait_seconds: float = WAIT_SECONDS,
) -> Once:
    """Run ``work(new_id, resumed)`` once per key; replays get the first call's result id.
    ``resumed`` is True when a stale claim was taken over (see the module docstring)."""
    key_id = f"{caller}:{mutation}:{key}"
    digest = fingerprint(request)
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait_seconds
    delay = 0.01
    while True:
        existing = await repo.claim(db, key_id=key_id, fingerprint=digest, result_id=new_id,
                                    token=token, now=datetime.now(UTC))
        if existing is None:
            return await _work(db, key_id=key_id, token=token, result_id=new_id, work=work,
                               resumed=False)
        while existing is not None:
            if existing.get("fingerprint", digest) != digest:
                raise reject("IDEMPOTENCY_KEY_REUSED", "This idempotency key was used with a "
                             "different input.", field=key_field)
            if existing["status"] == "DONE":
                return Once(result_id=existing["result_id"], replayed=True)
            if existing["status"] == "PENDING" and _stale(existing):
                taken = await repo.take_over(db, key_id=key_id, old_token=existing["token"],
                                             token=token, now=datetime.now(UTC))
                if taken is not None:
                    return await _work(db, key_id=key_id, token=token,
                                       result_id=taken["result_id"], work=work, resumed=True)
            if time.monotonic() > deadline:
                raise reject("IDEMPOTENCY_KEY_IN_USE", "A request with this idempotency key is "
                             "still in progress; retry shortly.", field=key_field)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)
            existing = await repo.get(db, key_id=key_id)


def _stale(claim: dict[str, Any]) -> bool:
    claimed: datetime = claim.get("claimed_at") or claim["created_at"]
    if claimed.tzinfo is None:
        claimed = claimed.replace(tzinfo=UTC)
    return claimed < datetime.now(UTC) - STALE_AFTER


async def _work(db: Database, *, key_id: str, token: str, result_id: str,
                work: Callable[[str, bool], Awaitable[None]], resumed: bool) -> Once:
    """Run the work as the key's holder; store the result, or free the key on failure."""
    try:
        await work(result_id, resumed)
    except AlreadyDone:
        await repo.complete(db, key_id=key_id, token=token, result_id=result_id)
        return Once(result_id=result_id, replayed=True)
    except BaseException:
        await repo.release(db, key_id=key_id, token=token)
        raise
    await repo.complete(db, key_id=key_id, token=token, result_id=result_id)
    return Once(result_id=result_id, replayed=False)
