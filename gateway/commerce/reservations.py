"""Reservations expire: units held for an order or a transfer that was never written come
back, once.

placeOrder reserves each line (at the store it names, or at the fulfilment location
allocation chose) with one update of the inventory document that also records a *hold* in its
``holds`` array: the owner's id, the quantity, a deadline (``until``, now +
``OMNIGW_RESERVATION_TIMEOUT_SECONDS``) and the attempt's token
(``gateway.database.writes.stock``). Then it inserts the order. createTransfer does the same
at its source, plus a hold of no units at its destination (the units on their way), then
inserts the transfer. A request that dies in between (killed, or past its deadline with the
database gone, so that its own undo could not run) leaves the units reserved for an owner
that does not exist.

The **sweeper** repairs that. Each process runs one (started by the application's lifespan);
every ``OMNIGW_RESERVATION_SWEEP_SECONDS`` it reads the inventory documents with a hold past
its deadline (one ``find``), asks which of their owners exist (one ``find`` on ``orders``,
one on ``transfers``, for those it has), and ends each expired hold with one update:

- the order exists: the hold is dropped and the units stay reserved for it (``cancelOrder``
  gives them back);
- the transfer exists: the hold stays, without a deadline (shipping, receiving or cancelling
  the transfer removes it);
- the owner does not exist: ``reserved -= quantity`` and the hold is removed, in the same
  update.

It also completes the steps of transfers cut half-way (a ship or a cancel whose request died
after the status changed) once they are older than the reservation timeout
(``gateway.commerce.transfers``): one ``find``, then the step's own updates.

That update matches only while the hold is there and still expired, so the units come back
exactly once, whatever the number of sweepers and whoever else gives the hold back (the
request's own undo, which matches only its own token). A retry that takes the idempotency
claim over re-arms the holds (its token, a new deadline) before the sweeper would release them.

What remains open: an insert that the database executes after its request's hold expired
(a request is bounded by ``OMNIGW_REQUEST_TIMEOUT_MS``, 30 times less than the default
reservation timeout, so only a server frozen with the insert in its socket for that long)
leaves an order without reserved units. The sweeper logs every release.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo.errors import PyMongoError

from gateway import deadline
from gateway.clock import now, utc
from gateway.commerce import rollups, transfers
from gateway.database import Database
from gateway.database.writes import stock as stock_writes
from gateway.database.writes import transfers as transfer_writes
from gateway.telemetry import tracing

log = logging.getLogger("gateway.reservations")

BATCH = 500  # inventory documents per pass; the next pass takes the rest


@dataclass(frozen=True)
class Swept:
    """What one pass did: holds given back (no order) and holds dropped (order written)."""

    released: int = 0
    confirmed: int = 0
    settled: int = 0


# The collection of each kind of owner a hold names (by its id's prefix).
OWNERS = {"ord_": "orders", "trf_": "transfers"}


async def sweep(db: Database, *, stale_after: float = 60.0) -> Swept:
    """End every hold past its deadline, and complete the transfer steps cut half-way for
    longer than ``stale_after`` seconds (see the module docstring)."""
    at = now()
    settled = await _settle_transfers(db, before=at - timedelta(seconds=stale_after))
    docs = await stock_writes.expired_holds(db, now=at, limit=BATCH)
    expired = [(doc["_id"], hold) for doc in docs for hold in doc.get("holds", [])
               if hold.get("until") is not None and utc(hold["until"]) < at]
    if not expired:
        return Swept(settled=settled)
    written: set[str] = set()
    for prefix, collection in OWNERS.items():
        owner_ids = sorted({h["order"] for _, h in expired if h["order"].startswith(prefix)})
        if owner_ids:
            written |= {doc["_id"] for doc in await db[collection].find(
                {"_id": {"$in": owner_ids}}, {"_id": 1}).to_list()}
    released = confirmed = 0
    for doc_id, hold in expired:
        owner = hold["order"]
        if owner in written and owner.startswith("trf_"):
            confirmed += await stock_writes.confirm_hold(db, doc_id=doc_id, owner=owner, now=at)
            continue
        give_back = owner not in written
        if await stock_writes.end_hold(db, doc_id=doc_id, order_id=owner,
                                       quantity=hold["quantity"], now=at, give_back=give_back):
            if give_back:
                released += 1
                log.warning("reservation expired: %d of %s given back (%s was never "
                            "written)", hold["quantity"], doc_id, owner,
                            extra={"order_id": owner, "inventory": doc_id})
            else:
                confirmed += 1
    return Swept(released=released, confirmed=confirmed, settled=settled)


async def _settle_transfers(db: Database, *, before: datetime) -> int:
    """Complete the steps of transfers marked pending since before ``before``."""
    docs = await transfer_writes.unsettled(db, before=before, limit=BATCH)
    for doc in docs:
        log.warning("transfer %s: completing its %s step, cut half-way", doc["_id"],
                    doc["pending"], extra={"transfer_id": doc["_id"]})
        await transfers.settle(db, transfer=doc)
    return len(docs)


class Sweeper:
    """Runs :func:`sweep`, then the rollup sweep (:func:`gateway.commerce.rollups.sweep`),
    every ``interval`` seconds, each pass within ``timeout`` seconds; transfer steps cut
    half-way are completed once ``stale_after`` seconds old."""

    def __init__(self, db: Database, *, interval: float, timeout: float,
                 stale_after: float = 60.0) -> None:
        self.db = db
        self.interval = interval
        self.timeout = timeout
        self.stale_after = stale_after
        self.passes = 0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def start(self) -> None:
        # A clean context: the sweeper belongs to no request.
        self._task = asyncio.create_task(self._run(), context=contextvars.Context())

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with deadline.within(self.timeout), tracing.background("reservation sweep"):
                    await sweep(self.db, stale_after=self.stale_after)
                    await rollups.sweep(self.db)
                if self._failing:
                    log.info("reservation sweeps work again")
                self._failing = False
            except PyMongoError as exc:
                if not self._failing:  # once per outage
                    log.warning("reservation sweep failed (%s); retrying every %.1f s",
                                type(exc).__name__, self.interval)
                self._failing = True
            self.passes += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

    async def stop(self) -> None:
        """Stop after the current pass (bounded by its own deadline)."""
        self._stopping.set()
        if self._task is not None:
            await self._task
