"""A leaky bucket of query cost per API key, shared by every process through MongoDB.

Each key's bucket holds up to ``throttle_bucket_size`` points and regains
``throttle_restore_rate`` points per second. A query is charged before it runs and refunded the
difference once its actual cost is known (Shopify's model). A query that costs more than is
available is refused with ``THROTTLED`` and the seconds to wait.

The bucket is kept as the generic cell rate algorithm keeps it: one number per key, its
*theoretical arrival time* ``tat`` (seconds since the epoch). With ``T = 1 / rate`` seconds per
point and ``tau = size / rate``, the bucket holds ``(tau - (max(tat, now) - now)) / T`` points;
charging ``c`` points is allowed when ``max(tat, now) + c * T <= now + tau`` and sets
``tat = max(tat, now) + c * T``.

Stores (``throttle_store``):

- ``mongodb`` (the default with ``MONGODB_URI``): the collection ``rate_limits`` holds
  ``{_id: key id, tat}``, and every charge is ONE conditional ``findAndModify``, so concurrent
  processes never lose a charge (no read-modify-write): while a key is busy (``tat >= now``)
  ``{tat: {$gte: now, $lte: now + tau - c*T}}`` with ``$inc: {tat: c*T}``; after it idled
  (``tat < now``) ``{tat: {$lt: now}}`` with ``$set: {tat: now + c*T}`` and ``upsert`` (the
  first charge of a key creates its document). The process remembers the last ``tat`` it saw
  per key and tries the form that fits first; a wrong guess costs a second conditional update,
  a refusal one ``find`` for the accurate wait (and, when that finds room after all because a
  concurrent charge moved the key between the two forms, one more busy form).
  mongo-java-server (the test server) has no pipeline updates, hence two forms rather than one
  ``$max``-then-``$inc`` pipeline.
  Clocks: ``now`` is each process's wall clock, so hosts are expected to run NTP; a skew of
  ``s`` seconds lets a key spend at most ``s * rate`` extra points.
- ``memory``: each process keeps its own buckets (with N processes a key may spend N times
  its rate); the embedded store always uses it.

Refunds and the small charge every refused request pays (``owe``) are kept in the process and
settled in the key's next update (at once when they reach a tenth of the bucket), so a refused
request costs no database command. The charge runs outside the request's ``extensions.db``
count, like the key lookup: a request that updates the bucket costs one more command, on
``rate_limits``.

Leases (``mongodb`` store, buckets of at least 1,000 points): a charge that goes to MongoDB also
takes ``LEASE_FRACTION`` of the bucket ahead, in the same conditional update and under the
same ceiling, and the process spends it on the key's next charges without a command until it
is used up or ``LEASE_SECONDS`` old; what is left then goes back with the key's next update.
Every point spent was taken from the shared bucket first, so the processes together never
spend more than was taken; a leased point is only spent up to ``LEASE_SECONDS`` after it was
taken, so in any window a key may spend at most ``min(lease, rate * LEASE_SECONDS)`` points
more than its bucket and rate allow, per process (what a clock skew of ``LEASE_SECONDS``
allows; with the defaults, 1,000 points at 100 per second: 5 points). Meanwhile the other
processes see up to one lease per process fewer points than the key has. A charge the bucket
cannot pay with the lease is asked again without it, so a nearly empty bucket still pays to
its last point. Smaller buckets (the lease would be under ``MIN_LEASE`` points) take no lease.
While one charge of a key is taking a lease from MongoDB, the key's other charges in the process
wait for it and spend that lease (one command in flight per key and process, rather than one
per concurrent request whenever a lease runs out).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from gateway.database import Database
from gateway.database.monitoring import current_stats

MAX_KEYS = 100_000  # keys remembered per process (least recently used forgotten first)
STALE_CLOCK = 0.05  # seconds: a refusal that took longer than this is asked again
COLLECTION = "rate_limits"
LEASE_FRACTION = 0.01  # of the bucket: points taken ahead per key and process (shared store)
LEASE_SECONDS = 0.05  # a lease older than this is not spent; what is left goes back
MIN_LEASE = 10  # points: a smaller lease would pay for few charges


class Store(Protocol):
    """Where the ``tat`` of each key lives."""

    async def take(self, key: str, seconds: float, *, now: float, ceiling: float | None,
                   hint: float | None) -> tuple[bool, float]:
        """Atomically: ``base = max(tat, now)``; when ``base + seconds <= ceiling`` (or no
        ceiling) set ``tat = base + seconds`` and return ``(True, tat)``, else ``(False, tat)``.
        ``hint`` is the last ``tat`` this process saw for the key (None: unknown)."""
        ...


class MemoryStore:
    """The buckets of this process only."""

    def __init__(self) -> None:
        self.tat: OrderedDict[str, float] = OrderedDict()

    async def take(self, key: str, seconds: float, *, now: float, ceiling: float | None,
                   hint: float | None) -> tuple[bool, float]:
        base = max(self.tat.get(key, now), now)
        if ceiling is not None and base + seconds > ceiling:
            return False, base
        self.tat[key] = base + seconds
        self.tat.move_to_end(key)
        if len(self.tat) > MAX_KEYS:
            self.tat.popitem(last=False)  # a forgotten key starts full: errs on its side
        return True, base + seconds


@contextmanager
def _uncounted() -> Iterator[None]:
    """The bucket's commands are not the operation's (``extensions.db``)."""
    token = current_stats.set(None)
    try:
        yield
    finally:
        current_stats.reset(token)


class MongoStore:
    """The buckets of every process, in the ``rate_limits`` collection."""

    def __init__(self, db: Database) -> None:
        self.collection = db[COLLECTION]

    async def take(self, key: str, seconds: float, *, now: float, ceiling: float | None,
                   hint: float | None) -> tuple[bool, float]:
        # Shielded: a request cancelled meanwhile (a closed socket) must not cut a command in
        # the middle, which could leave the driver's connection pool waiting.
        with _uncounted():
            task = asyncio.ensure_future(self._take(key, seconds, now, ceiling, hint))
        return await asyncio.shield(task)

    async def _take(self, key: str, seconds: float, now: float, ceiling: float | None,
                    hint: float | None) -> tuple[bool, float]:
        with _uncounted():
            if hint is not None and hint >= now:
                found = await self._busy(key, seconds, now, ceiling)
                if found is None:
                    found = await self._idle(key, seconds, now)
            else:
                found = await self._idle(key, seconds, now)
                if found is None:
                    found = await self._busy(key, seconds, now, ceiling)
            if found is not None:
                return True, found
            doc = await self.collection.find_one({"_id": key})
            tat = float(doc["tat"]) if doc else now
            if tat >= now and (ceiling is None or tat + seconds <= ceiling):
                # Room after all: the key was idle for the busy form and busy again for the
                # idle form (a concurrent charge moved it in between). Busy it is now.
                found = await self._busy(key, seconds, now, ceiling)
                if found is not None:
                    return True, found
        return False, tat

    async def _busy(self, key: str, seconds: float, now: float,
                    ceiling: float | None) -> float | None:
        bounds: dict[str, float] = {"$gte": now}
        if ceiling is not None:
            bounds["$lte"] = ceiling - seconds
        doc = await self.collection.find_one_and_update(
            {"_id": key, "tat": bounds}, {"$inc": {"tat": seconds}},
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else float(doc["tat"])

    async def _idle(self, key: str, seconds: float, now: float) -> float | None:
        try:
            doc = await self.collection.find_one_and_update(
                {"_id": key, "tat": {"$lt": now}}, {"$set": {"tat": now + max(seconds, 0.0)}},
                upsert=True, return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return None  # the key's tat is in the future: the busy form applies
        return None if doc is None else float(doc["tat"])


class Throttle:
    """The cost buckets, with this process's view of each key (see the module docstring)."""

    def __init__(self, size: int, rate: float, store: Store | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.size = size
        self.rate = rate
        self.store: Store = store or MemoryStore()
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()  # last tat seen per key
        self._owed: dict[str, float] = {}  # points not yet written (refunds negative)
        # points taken ahead per key (see the module docstring): (left, spendable until)
        lease = math.floor(size * LEASE_FRACTION)
        self.lease = 0 if isinstance(self.store, MemoryStore) or lease < MIN_LEASE else lease
        self._leases: dict[str, tuple[float, float]] = {}
        # per key, the charge taking a lease from the store now, done when it is
        self._taking: dict[str, asyncio.Event] = {}

    @property
    def window(self) -> float:
        """``tau``: the seconds a full bucket lasts at the restore rate."""
        return self.size / self.rate

    def _remember(self, key: str, tat: float) -> None:
        self._seen[key] = tat
        self._seen.move_to_end(key)
        if len(self._seen) > MAX_KEYS:
            forgotten, _ = self._seen.popitem(last=False)
            self._owed.pop(forgotten, None)
            self._leases.pop(forgotten, None)  # its points stay spent: errs on the safe side

    def available(self, key: str) -> float:
        """The points this process believes the key has (no I/O); never more than the size."""
        now = self.clock()
        tat = self._seen.get(key, now)
        level = (self.window - (max(tat, now) - now)) * self.rate
        leased = self._leases.get(key, (0.0, 0.0))[0]
        return min(float(self.size), level - self._owed.get(key, 0.0) + leased)

    async def charge(self, key: str, cost: int) -> float | None:
        """Take ``cost`` points (plus what the key owes), from the key's lease when it holds
        them, else from the store; ``None`` on success, else the seconds to wait before
        retrying. While a charge of the key is taking a lease from the store, the key's other
        charges wait for it and spend that lease rather than each sending a command."""
        while (taking := self._taking.get(key)) is not None and not self._covers(key, cost):
            await taking.wait()
        now = self.clock()
        points = cost + self._owed.pop(key, 0.0)
        lease = self._leases.pop(key, None)
        if lease is not None:
            left, until = lease
            if now <= until and left >= points:
                self._leases[key] = (left - points, until)
                return None
            points -= left  # what is left of the lease pays first, or goes back when too old
        ahead = self.lease if self.lease and self.available(key) >= points + self.lease else 0
        if not ahead:
            return await self._charge(key, cost, points, 0, now)
        taken = self._taking[key] = asyncio.Event()
        try:
            return await self._charge(key, cost, points, ahead, now)
        finally:
            del self._taking[key]
            taken.set()

    def _covers(self, key: str, cost: int) -> bool:
        """Whether the key's lease pays ``cost`` (and what the key owes) now."""
        left, until = self._leases.get(key, (0.0, 0.0))
        return self.clock() <= until and left >= cost + self._owed.get(key, 0.0)

    async def _charge(self, key: str, cost: int, points: float, ahead: int,
                      now: float) -> float | None:
        """``points`` (``cost`` and what was owed, less a lease's remainder) and ``ahead``
        from the store."""
        ok, tat = await self.store.take(key, (points + ahead) / self.rate, now=now,
                                        ceiling=now + self.window, hint=self._seen.get(key))
        if not ok and ahead:
            ahead = 0  # the bucket cannot pay the lease too: the charge alone
            ok, tat = await self.store.take(key, points / self.rate, now=now,
                                            ceiling=now + self.window, hint=tat)
        if not ok and self.clock() - now > STALE_CLOCK:
            # The store answered late (a loaded server): the refusal measured the bucket
            # against a moment long gone, while other charges moved it on. Ask again, now.
            now = self.clock()
            ok, tat = await self.store.take(key, points / self.rate, now=now,
                                            ceiling=now + self.window, hint=tat)
        self._remember(key, tat)
        if ok:
            if ahead:  # the one charge of the key taking a lease, which popped the last one
                self._leases[key] = (float(ahead), now + LEASE_SECONDS)
            return None
        if points != cost:
            self._owed[key] = points - cost  # still owed (or, negative, still to give back)
        wait = max(tat, now) + points / self.rate - (now + self.window)
        return max(0.01, math.ceil(round(wait * 100, 6)) / 100)

    async def owe(self, key: str, points: float) -> None:
        """Charge ``points`` whatever is available (a refused request's admission charge, or a
        refund when negative), settled with the key's next charge or once they reach a tenth of
        the bucket."""
        owed = self._owed.get(key, 0.0) + points
        if abs(owed) < self.size / 10 and not isinstance(self.store, MemoryStore):
            self._owed[key] = owed
            return
        self._owed.pop(key, None)
        now = self.clock()
        _, tat = await self.store.take(key, owed / self.rate, now=now, ceiling=None,
                                       hint=self._seen.get(key))
        self._remember(key, tat)

    async def refund(self, key: str, points: int) -> None:
        """Give back points charged but not spent (requested minus actual cost)."""
        if points > 0:
            await self.owe(key, -points)

    def status(self, key: str | None) -> dict[str, Any]:
        """``throttleStatus`` of ``extensions.cost``."""
        current = self.size if key is None else max(0.0, self.available(key))
        return {"maximumAvailable": float(self.size),
                "currentlyAvailable": math.floor(current),
                "restoreRate": float(self.rate)}


def create_throttle(settings: Any, db: Database | None) -> Throttle:
    """The throttle ``settings`` ask for: in MongoDB (shared) unless ``throttle_store`` is
    ``memory`` or the store is the embedded one."""
    shared = settings.throttle_store == "mongodb" and db is not None and db.kind != "embedded"
    return Throttle(settings.throttle_bucket_size, settings.throttle_restore_rate,
                    MongoStore(db) if shared and db is not None else None)
