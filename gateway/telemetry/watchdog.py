"""Liveness: tell a database client that cannot recover from a database that is down.

Every second the watchdog pings MongoDB under a one-second deadline (``pymongo.timeout``). A
working client always comes back within about that deadline: with ``ok``, or with an error
when MongoDB is down, restarting or frozen. That is readiness's business (``/readyz``), and
the client recovers by itself when MongoDB returns. A ping that has not come back *at all*
for ``OMNIGW_LIVENESS_STUCK_SECONDS`` means the client itself is stuck (a lock that is never
released, as in ``gateway.database.cancellation``): ``/healthz`` then answers 503 and the
orchestrator replaces the process, which is the only cure.

Pings are never cancelled; a stuck one is awaited by the next check instead of piling up.
:func:`settled` is the same rule for one-off waits: it stops waiting, never the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from opentelemetry.instrumentation.utils import suppress_instrumentation

from gateway.database import Database

log = logging.getLogger("gateway.watchdog")

T = TypeVar("T")
PING_SECONDS = 1.0
_pending: set[asyncio.Future[Any]] = set()  # waits given up on, kept until they end


async def settled(work: Awaitable[T], *, seconds: float) -> tuple[bool, T | None]:
    """Wait up to ``seconds`` for ``work`` without ever cancelling it: (True, its result) or
    (False, None). Work still running is left to finish on its own."""
    future = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({future}, timeout=seconds)
    if not done:
        _pending.add(future)
        future.add_done_callback(_pending.discard)
        future.add_done_callback(_consume)
        return False, None
    return True, future.result()


def _consume(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved, so asyncio does not log it


class Watchdog:
    """Pings the database every ``interval`` seconds; see the module docstring."""

    def __init__(self, db: Database, *, stuck_after: float, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.stuck_after = stuck_after
        self.interval = interval
        self.clock = clock
        self.pings = 0
        self._since: float | None = None
        self._ping: asyncio.Future[bool] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        # A clean context: the watchdog belongs to no request (no deadline, stats or span).
        self._task = asyncio.create_task(self._run(), context=contextvars.Context())

    @property
    def stuck_for(self) -> float:
        """How long the current ping has gone unanswered (0 when none is out)."""
        return 0.0 if self._since is None else self.clock() - self._since

    @property
    def stuck(self) -> bool:
        return self.stuck_for > self.stuck_after

    async def _run(self) -> None:
        while not self._stopping.is_set():
            self._since = self.clock()
            with suppress_instrumentation():  # a ping a second is not worth a trace
                self._ping = asyncio.ensure_future(self.db.ping(seconds=PING_SECONDS))
            reported = False
            while not self._ping.done():
                await asyncio.wait({self._ping}, timeout=self.interval)
                if self.stuck and not reported:
                    log.error("the database client is stuck: a ping has not come back for "
                              "%.0f s; /healthz now fails", self.stuck_for)
                    reported = True
            if reported:
                log.warning("the database client answers again")
            self._since = None
            self.pings += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

    async def stop(self, *, seconds: float) -> None:
        """Stop pinging; wait up to ``seconds`` for a ping that is out."""
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()  # it waits on the ping or the event, never inside PyMongo
            await asyncio.gather(self._task, return_exceptions=True)
        if self._ping is not None and not self._ping.done():
            await settled(self._ping, seconds=seconds)
