"""Reservations expire: units held for an order that was never written come back, once.

placeOrder reserves each line with one update of the inventory document that also records a
*hold* in its ``holds`` array: the order's id, the quantity, a deadline (``until``, now +
``OMNIGW_RESERVATION_TIMEOUT_SECONDS``) and the attempt's token
(``gateway.database.writes.stock``). Then it inserts the order. A request that dies in
between (killed, or past its deadline with the database gone, so that its own undo could not
run) leaves the units reserved for an order that does not exist.

The **sweeper** repairs that. Each process runs one (started by the application's lifespan);
every ``OMNIGW_RESERVATION_SWEEP_SECONDS`` it reads the inventory documents with a hold past
its deadline (one ``find``), asks which of their orders exist (one ``find`` on ``orders``),
and ends each expired hold with one update:

- the order exists: the hold is dropped and the units stay reserved for it (``cancelOrder``
  gives them back);
- it does not: ``reserved -= quantity`` and the hold is removed, in the same update.

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

from pymongo.errors import PyMongoError

from gateway import deadline
from gateway.clock import now, utc
from gateway.commerce import rollups
from gateway.database import Database
from gateway.database.writes import stock as stock_writes
from gateway.telemetry import tracing

log = logging.getLogger("gateway.reservations")

BATCH = 500  # inventory documents per pass; the next pass takes the rest


@dataclass(frozen=True)
class Swept:
    """What one pass did: holds given back (no order) and holds dropped (order written)."""

    released: int = 0
    confirmed: int = 0


async def sweep(db: Database) -> Swept:
    """End every hold past its deadline (see the module docstring)."""
    at = now()
    docs = await stock_writes.expired_holds(db, now=at, limit=BATCH)
    expired = [(doc["_id"], hold) for doc in docs for hold in doc.get("holds", [])
               if utc(hold["until"]) < at]
    if not expired:
        return Swept()
    order_ids = sorted({hold["order"] for _, hold in expired})
    written = {doc["_id"] for doc in await db["orders"].find(
        {"_id": {"$in": order_ids}}, {"_id": 1}).to_list()}
    released = confirmed = 0
    for doc_id, hold in expired:
        give_back = hold["order"] not in written
        if await stock_writes.end_hold(db, doc_id=doc_id, order_id=hold["order"],
                                       quantity=hold["quantity"], now=at, give_back=give_back):
            if give_back:
                released += 1
                log.warning("reservation expired: %d of %s given back (order %s was never "
                            "written)", hold["quantity"], doc_id, hold["order"],
                            extra={"order_id": hold["order"], "inventory": doc_id})
            else:
                confirmed += 1
    return Swept(released=released, confirmed=confirmed)



class Sweeper:
    """Runs :func:`sweep`, then the rollup sweep (:func:`gateway.commerce.rollups.sweep`),
    every ``interval`` seconds, each pass within ``timeout`` seconds."""

    def __init__(self, db: Database, *, interval: float, timeout: float) -> None:
        self.db = db
        self.interval = interval
        self.timeout = timeout
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
                    await sweep(self.db)
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
