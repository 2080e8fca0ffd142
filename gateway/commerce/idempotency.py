"""Exactly-once creates: an idempotency key per caller and mutation.

The race, and how it is settled without transactions:

1. **Claim first.** The request inserts ``{_id: "<caller>:<mutation>:<key>", status: PENDING,
   fingerprint, result_id, token, lease_until}``. The unique ``_id`` lets exactly one of any
   number of concurrent requests win; the id of the object to create (``result_id``) is
   chosen here.
2. **The winner works under a lease** (reserves stock, inserts the order...) and then marks
   the claim ``DONE``. While it works, a background task renews ``lease_until`` every third
   of ``OMNIGW_IDEMPOTENCY_LEASE_SECONDS``. If the work is refused (a user error) or fails,
   its own steps are undone and the claim is deleted, so the key can be used again: a key is
   spent only by a success.
3. **Losers wait, within their deadline.** A request that finds the key taken compares
   fingerprints (a different input gives ``IDEMPOTENCY_KEY_REUSED``), then polls with a
   growing back-off until the claim is ``DONE`` (and returns the same object: the replay
   writes nothing), gone (it claims again) or out of lease (step 4). It never waits past its
   own request deadline (less a margin) or ``wait_seconds``: then it answers
   ``IDEMPOTENCY_KEY_IN_USE`` (retryable), saying when the holder's lease runs out.
4. **A lease that ran out** belongs to a holder that stopped: killed, or stalled past its
   deadline while the database was gone (so its undo could not run either). A waiting
   request takes the claim over (a conditional update on the old token and the expired
   lease: one winner, and a holder that renewed in time keeps it) and runs the work again
   with the same ``result_id``. If the old holder had already written the object, the work's
   insert of that id fails as a duplicate: the work undoes its own steps and raises
   :class:`AlreadyDone`, and the claim is completed with the existing object. Stock the old
   holder reserved is re-armed by placeOrder, or given back by the reservation sweeper
   (``gateway.commerce.reservations``).

A holder that was only stalled may wake up after it was taken over: both attempts then write
the same result id, so one insert wins and the other finds it written; the old holder's
renewals, completion and undo match its own token, so they change nothing the new holder owns.
Leases compare the clocks of the gateway processes: keep them in sync (NTP).

**Fenced work** (:func:`run_fenced`, for work whose steps another attempt re-uses: stock taken
under the result id, which a retry finds already taken and does not take again). There the
undo of one attempt would give back what the other needs, so:

- **Commit before writing the result.** Once its steps are done, the attempt marks the claim
  ``committed`` with one update conditional on its own token (:meth:`Attempt.commit`); only
  then does it insert the object. An attempt that was taken over cannot commit: it writes
  nothing more and answers ``IDEMPOTENCY_KEY_IN_USE`` (retryable).
- **Release before undoing.** A failed attempt first deletes its claim (conditional on its
  token); only when no claim names the result any more (it released it, or a successor did)
  does it undo, and the undo gives back every step written under the result id, by whichever
  attempt. While a claim still names the result, its holder owns the steps: it will commit
  them or, failing, undo them after releasing. A released result id is never claimed again
  (a new claim chooses a new id), so no attempt can commit it after the undo.
- **Committed means forward only.** An attempt that took over a committed claim never
  releases it and never undoes: the committer may still insert the object. If it fails, the
  claim stays ``PENDING`` until its lease runs out and the next retry finishes the work.
- **Written means handed on.** Once the result stands (past the work's point of no return,
  e.g. an order with its payment), the attempt says so (:meth:`Attempt.written`). A failure
  after that (the steps that follow the result: rollups, points) neither releases the claim
  (a retry would claim a new result id and write the object twice) nor undoes: the attempt
  hands the claim on (:func:`_hand_on`: its lease ends now and its token is replaced, so its
  renewals stop) and the request fails. The retry takes the claim over at once (committed:
  it never undoes), finds the result written and finishes the steps that follow it, each
  idempotent, before answering with the same result id.

Left open: an attempt that takes a step after its result id was released fails to commit
and undoes the step itself; if its process dies in between, that step stays (no retry will
find it).

Keys live at least 48 hours (a TTL index on ``created_at``, see indexes.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from pymongo.errors import PyMongoError

from gateway import deadline
from gateway.clock import now, utc
from gateway.database import Database
from gateway.database.monitoring import current_stats
from gateway.database.scope import Scope
from gateway.database.writes import idempotency as repo
from gateway.errors import AlreadyDone, Rejected, reject

WAIT_SECONDS = 5.0
# A waiter answers IDEMPOTENCY_KEY_IN_USE this long before its own deadline.
DEADLINE_MARGIN = 0.2


async def check_not_done(db: Database, collection: str, result_id: str, resumed: bool) -> None:
    """In a resumed work, raise :class:`AlreadyDone` if ``result_id`` was already written."""
    if resumed and await repo.exists(db, collection=collection, doc_id=result_id):
        raise AlreadyDone(result_id)


def caller_of(scope: Scope, principal: Any = None) -> str:
    """Who is calling, for idempotency scoping and audit entries: the API key's name (unique;
    ``gateway.admission.auth.Principal``), or, for in-process callers without a key, the scope."""
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
    lease_seconds: float,
    key_field: str = "idempotencyKey",
    wait_seconds: float = WAIT_SECONDS,
) -> Once:
    """Run ``work(new_id, resumed)`` once per key; replays get the first call's result id.
    ``resumed`` is True when a claim whose lease ran out was taken over (see the module
    docstring)."""
    async def steps(attempt: Attempt) -> None:
        await work(attempt.result_id, attempt.resumed)

    # A work that never commits: on failure its claim is released (it undoes its own steps).
    return await run_fenced(db, caller=caller, mutation=mutation, key=key, request=request,
                            new_id=new_id, work=steps, undo=_nothing,
                            lease_seconds=lease_seconds, key_field=key_field,
                            wait_seconds=wait_seconds)


async def _nothing(attempt: Attempt) -> None:
    return None


@dataclass
class Attempt:
    """One attempt at a fenced work (:func:`run_fenced`): the result id it writes, whether it
    took over a claim whose lease ran out (``resumed``), whether that claim was already
    committed (``settled``: this attempt may only finish the work, never undo it) and whether
    the result stands (``stands``: see :meth:`written`)."""

    db: Database
    key_id: str
    token: str
    result_id: str
    resumed: bool
    settled: bool
    lease: timedelta
    key_field: str
    stands: bool = False

    def written(self) -> None:
        """The result stands (the work's point of no return is behind): from here a failure
        hands the claim on to the retry, which finishes the work, instead of releasing it."""
        self.stands = True

    async def commit(self) -> None:
        """Commit to writing the result (steps are done): IDEMPOTENCY_KEY_IN_USE when the
        claim is no longer this attempt's (it was stalled and taken over)."""
        if not await repo.commit(self.db, key_id=self.key_id, token=self.token):
            raise reject("IDEMPOTENCY_KEY_IN_USE", "This request stalled and a retry with the "
                         "same idempotency key took it over; retry to get its outcome.",
                         field=self.key_field)


async def run_fenced(
    db: Database,
    *,
    caller: str,
    mutation: str,
    key: str,
    request: Any,
    new_id: str,
    work: Callable[[Attempt], Awaitable[None]],
    undo: Callable[[Attempt], Awaitable[None]],
    lease_seconds: float,
    key_field: str = "idempotencyKey",
    wait_seconds: float = WAIT_SECONDS,
) -> Once:
    """:func:`run_once` for a work whose steps a retry re-uses: ``work`` calls
    :meth:`Attempt.commit` before it writes the result; when it fails, ``undo`` runs only once
    no claim names the result any more, and undoes what any attempt wrote for it (see "Fenced
    work" in the module docstring)."""
    held = await _hold(db, caller=caller, mutation=mutation, key=key, request=request,
                       new_id=new_id, lease_seconds=lease_seconds, key_field=key_field,
                       wait_seconds=wait_seconds)
    if isinstance(held, Once):
        return held
    async with _renewed(db, key_id=held.key_id, token=held.token, lease=held.lease):
        try:
            await work(held)
        except AlreadyDone:
            await repo.complete(db, key_id=held.key_id, token=held.token,
                                result_id=held.result_id)
            return Once(result_id=held.result_id, replayed=True)
        except BaseException:
            if held.stands:
                await _hand_on(db, held)
            elif await _abandoned(db, held):
                await undo(held)
            raise
        await repo.complete(db, key_id=held.key_id, token=held.token, result_id=held.result_id)
    return Once(result_id=held.result_id, replayed=False)


async def _hand_on(db: Database, held: Attempt) -> None:
    """End a failed attempt's lease now, its result standing, so that the next request with
    the key takes the claim over at once and finishes the work. If the database refuses this
    too, the lease runs out by itself (the request's own error is the one that is raised)."""
    with contextlib.suppress(PyMongoError):
        await repo.hand_on(db, key_id=held.key_id, token=held.token,
                           new_token=uuid.uuid4().hex, until=now() - held.lease)


async def _abandoned(db: Database, held: Attempt) -> bool:
    """Give a failed attempt's claim up, unless it is committed to: True when no claim names
    the result any more, so that what was written for it may be undone."""
    if held.settled:
        return False  # a predecessor committed and may still write the result
    if await repo.release(db, key_id=held.key_id, token=held.token):
        return True
    claim = await repo.get(db, key_id=held.key_id)  # taken over, or released by a successor
    return claim is None or claim.get("result_id") != held.result_id


async def _hold(
    db: Database, *, caller: str, mutation: str, key: str, request: Any, new_id: str,
    lease_seconds: float, key_field: str, wait_seconds: float,
) -> Attempt | Once:
    """Claim the key, or take over a claim whose lease ran out: the attempt to run, or the
    replay of a claim that is DONE."""
    key_id = f"{caller}:{mutation}:{key}"
    digest = fingerprint(request)
    token = uuid.uuid4().hex
    lease = timedelta(seconds=lease_seconds)
    left = deadline.remaining()
    ends = time.monotonic() + (wait_seconds if left is None
                               else min(wait_seconds, left - DEADLINE_MARGIN))
    delay = 0.01
    while True:
        existing = await repo.claim(db, key_id=key_id, fingerprint=digest, result_id=new_id,
                                    token=token, now=now(), lease=lease)
        if existing is None:
            return Attempt(db=db, key_id=key_id, token=token, result_id=new_id, resumed=False,
                           settled=False, lease=lease, key_field=key_field)
        while existing is not None:
            if existing.get("fingerprint", digest) != digest:
                raise reject("IDEMPOTENCY_KEY_REUSED", "This idempotency key was used with a "
                             "different input.", field=key_field)
            if existing["status"] == "DONE":
                return Once(result_id=existing["result_id"], replayed=True)
            if existing["status"] == "PENDING" and _lease_left(existing, lease) <= 0:
                taken = await repo.take_over(db, key_id=key_id, old_token=existing["token"],
                                             token=token, now=now(), lease=lease)
                if taken is not None:
                    return Attempt(db=db, key_id=key_id, token=token,
                                   result_id=taken["result_id"], resumed=True,
                                   settled=bool(taken.get("committed")), lease=lease,
                                   key_field=key_field)
            if time.monotonic() > ends:
                raise _in_use(key_field, _lease_left(existing, lease)
                              if existing["status"] == "PENDING" else 0.0)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)
            existing = await repo.get(db, key_id=key_id)


def _in_use(key_field: str, lease_left: float) -> Rejected:
    retry = max(1, math.ceil(lease_left))
    return reject("IDEMPOTENCY_KEY_IN_USE", "A request with this idempotency key is still in "
                  f"progress; retry in {retry} s.", field=key_field)


def _lease_left(claim: dict[str, Any], lease: timedelta) -> float:
    """Seconds until the claim's lease runs out (negative once it has)."""
    until: datetime | None = claim.get("lease_until")
    if until is None:  # a claim taken before leases existed: it counts from claimed_at
        until = (claim.get("claimed_at") or claim["created_at"]) + lease
    return (utc(until) - now()).total_seconds()


class _renewed:
    """Renews the holder's lease every third of it until the block ends or the request's
    deadline has passed (a task that is stopped, not cancelled: a renewal in flight finishes
    under its own deadline)."""

    def __init__(self, db: Database, *, key_id: str, token: str, lease: timedelta) -> None:
        self.db, self.key_id, self.token, self.lease = db, key_id, token, lease
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> None:
        # The request's deadline still applies; its command count does not (a renewal is
        # not part of the request's work).
        context = contextvars.copy_context()
        context.run(current_stats.set, None)
        self.task = asyncio.create_task(self._renew(), context=context)

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        if self.task is not None:
            await self.task

    async def _renew(self) -> None:
        interval = self.lease.total_seconds() / 3
        while True:
            try:
                await asyncio.wait_for(self.stop.wait(), interval)
                return
            except TimeoutError:
                pass
            left = deadline.remaining()
            if left is not None and left <= 0:
                return  # past its request's deadline the holder counts as stopped
            try:
                with deadline.within(interval):
                    if not await repo.renew(self.db, key_id=self.key_id, token=self.token,
                                            until=now() + self.lease):
                        return  # taken over: nothing left to renew
            except PyMongoError:
                pass  # the database is gone: the lease runs out, as it should
