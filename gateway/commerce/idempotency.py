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

Keys live at least 48 hours (a TTL index on ``created_at``, see indexes.py).
A claim left PENDING by a process that died mid-work keeps its key busy until the TTL removes
it (the retryable ``IDEMPOTENCY_KEY_IN_USE`` says so).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.commerce.errors import reject
from gateway.database import Database
from gateway.database.scope import Scope
from gateway.database.writes import idempotency as repo

WAIT_SECONDS = 5.0


def caller_of(scope: Scope) -> str:
    """The id keys are scoped to. Until API keys land every caller is the admin; this is the
    one place to change when they do."""
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
    work: Callable[[str], Awaitable[None]],
    key_field: str = "idempotencyKey",
    wait_seconds: float = WAIT_SECONDS,
) -> Once:
    """Run ``work(new_id)`` once per key; replays get the first call's result id."""
    key_id = f"{caller}:{mutation}:{key}"
    digest = fingerprint(request)
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait_seconds
    delay = 0.01
    while True:
        existing = await repo.claim(db, key_id=key_id, fingerprint=digest, result_id=new_id,
                                    token=token, now=datetime.now(UTC))
        if existing is None:
            try:
                await work(new_id)
            except BaseException:
                await repo.release(db, key_id=key_id, token=token)
                raise
            await repo.complete(db, key_id=key_id, token=token, result_id=new_id)
            return Once(result_id=new_id, replayed=False)
        while existing is not None:
            if existing.get("fingerprint", digest) != digest:
                raise reject("IDEMPOTENCY_KEY_REUSED", "This idempotency key was used with a "
                             "different input.", field=key_field)
            if existing["status"] == "DONE":
                return Once(result_id=existing["result_id"], replayed=True)
            if time.monotonic() > deadline:
                raise reject("IDEMPOTENCY_KEY_IN_USE", "A request with this idempotency key is "
                             "still in progress; retry shortly.", field=key_field)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)
            existing = await repo.get(db, key_id=key_id)
