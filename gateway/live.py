"""Live queries by multiplexed polling: one poller per process for all subscribers.

The design Hasura uses for its subscriptions. Each subscriber registers its *interests*
(a collection, and a member or a channel). Once per interval the poller sends, for each
collection that anyone watches, ONE ``find`` with the members and channels of all watchers
in ``$in`` lists, oldest first, from its position in that collection: a ``(time, _id)``
keyset (the newest document read so far). It hands each new document to the subscribers
that want it and whose scope allows its channel. So a write by any system reaches
subscribers, and no broker or change stream is needed.

Nothing is missed and nothing is sent twice: documents come in ``(time, _id)`` order, a tick
that finds more than ``batch_limit`` documents leaves the rest to the next one, and the ids
already sent are remembered for a short ``lookback`` window. The window exists because the
time field is the business time (``placed_at``, ``paid_at``, ``at``) that writers set
before their insert becomes visible: with several writers, a document may appear after a
newer one was read. Each tick therefore reads from ``keyset time - lookback`` and skips the
ids it has sent; a document that becomes visible more than ``lookback`` after its own time
is not sent. A collection's position starts when its first subscriber arrives (nothing older
is sent) and is forgotten when its last one leaves.

The poller is created by the application's lifespan, started lazily by the first
subscriber, and stopped by the lifespan (subscribers then complete).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from pymongo.errors import PyMongoError

from gateway import deadline
from gateway.clock import now, utc
from gateway.database import Database, changes
from gateway.database.activity import TIME_FIELD
from gateway.database.monitoring import CommandStats, counting
from gateway.database.query import Doc, Keyset
from gateway.database.scope import ADMIN, Scope
from gateway.errors import Unavailable
from gateway.telemetry import tracing

log = logging.getLogger("gateway.live")

Event = tuple[str, Doc]


@dataclass(frozen=True)
class Interest:
    """One thing a subscriber watches: ``collection`` documents whose ``key`` is ``value``."""

    collection: str
    key: Literal["member_id", "channel_id"]
    value: str


@dataclass(eq=False)
class Feed:
    """One subscriber: its interests, its scope and the queue the poller fills."""

    interests: tuple[Interest, ...]
    scope: Scope
    queue: asyncio.Queue[Event | None]
    lagging: bool = False

    async def next(self) -> Event | None:
        """The next event, or ``None`` when the poller stopped."""
        event = await self.queue.get()
        if self.lagging:
            raise Unavailable("This subscriber fell too far behind; subscribe again.")
        return event


@dataclass
class Track:
    """The poller's position in one collection."""

    floor: datetime  # when its first subscriber arrived: nothing older is sent
    keyset: Keyset  # the newest (time, _id) read so far
    sent: dict[str, datetime] = field(default_factory=dict)  # ids sent within the lookback

    def start(self, lookback: timedelta) -> datetime:
        """The oldest time the next tick reads."""
        assert self.keyset.at is not None
        return max(self.floor, self.keyset.at - lookback)


@dataclass
class Poller:
    """The process's poller (see the module docstring)."""

    db: Database
    interval: float = 0.5
    batch_limit: int = 1000
    queue_limit: int = 1000
    lookback: timedelta = timedelta(seconds=2)
    timeout: float = 2.0  # each poll's deadline (gateway.deadline)
    feeds: set[Feed] = field(default_factory=set)
    tracks: dict[str, Track] = field(default_factory=dict)
    ticks: int = 0
    recent: deque[CommandStats] = field(default_factory=lambda: deque(maxlen=20))
    _watchers: dict[Interest, set[Feed]] = field(default_factory=lambda: defaultdict(set))
    _task: asyncio.Task[None] | None = None
    _stopped: bool = False
    _ticking: asyncio.Lock = field(default_factory=asyncio.Lock)
    _failing: bool = False

    @asynccontextmanager
    async def subscribe(
        self, interests: Iterable[Interest], scope: Scope = ADMIN
    ) -> AsyncIterator[Feed]:
        """Register a feed for the duration of the block."""
        if self._stopped:
            raise Unavailable("The gateway is shutting down.")
        feed = Feed(tuple(interests), scope, asyncio.Queue(self.queue_limit + 1))
        for interest in feed.interests:
            if interest.collection not in self.tracks:
                start = now()
                self.tracks[interest.collection] = Track(floor=start,
                                                         keyset=Keyset(id="", at=start))
            self._watchers[interest].add(feed)
        self.feeds.add(feed)
        self._ensure_running()
        try:
            yield feed
        finally:
            self.feeds.discard(feed)
            for interest in feed.interests:
                watchers = self._watchers.get(interest)
                if watchers is not None:
                    watchers.discard(feed)
                    if not watchers:
                        del self._watchers[interest]
            watched = {i.collection for i in self._watchers}
            for collection in [c for c in self.tracks if c not in watched]:
                del self.tracks[collection]

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            # A clean context: the poller belongs to no request (no request id, span, stats).
            self._task = asyncio.create_task(self._run(), context=contextvars.Context())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopped:
            started = loop.time()
            if self.feeds:
                await self.tick()
            await asyncio.sleep(max(0.0, self.interval - (loop.time() - started)))

    async def tick(self) -> CommandStats:
        """One poll: one ``find`` per watched collection; returns its command stats."""
        async with self._ticking:  # one tick at a time moves the keysets
            with tracing.background("live poll"):
                return await self._tick()

    async def _tick(self) -> CommandStats:
        by_collection: dict[str, dict[str, set[str]]] = defaultdict(
            lambda: {"member_id": set(), "channel_id": set()}
        )
        for interest in self._watchers:
            by_collection[interest.collection][interest.key].add(interest.value)
        with counting() as stats:
            for collection, keys in sorted(by_collection.items()):
                track = self.tracks.get(collection)
                if track is None:
                    continue
                try:
                    with deadline.within(self.timeout):
                        docs = await changes.since(
                            self.db, collection, member_ids=keys["member_id"],
                            channel_ids=keys["channel_id"], start=track.start(self.lookback),
                            limit=self.batch_limit + len(track.sent),
                        )
                except PyMongoError as exc:
                    if not self._failing:  # once per outage, not once per tick
                        log.warning("live poll of %s failed (%s); retrying every tick",
                                    collection, type(exc).__name__)
                    self._failing = True
                    continue
                if self._failing:
                    log.info("live poll of %s works again", collection)
                    self._failing = False
                self._dispatch(collection, track, docs)
        self.ticks += 1
        self.recent.append(stats)
        return stats

    def _dispatch(self, collection: str, track: Track, docs: list[Doc]) -> None:
        time_field = TIME_FIELD[collection]
        for doc in docs:
            if doc["_id"] in track.sent:
                continue
            at = utc(doc[time_field])
            track.sent[doc["_id"]] = at
            track.keyset = max(track.keyset, Keyset(id=doc["_id"], at=at),
                               key=lambda k: (k.at, k.id))
            targets: set[Feed] = set()
            for key in ("member_id", "channel_id"):
                value = doc.get(key)
                if isinstance(value, str):
                    targets |= self._watchers.get(Interest(collection, key, value), set())
            for feed in targets:
                if feed.scope.allows(doc.get("channel_id")):
                    _offer(feed, (collection, doc), self.queue_limit)
        start = track.start(self.lookback)
        track.sent = {k: at for k, at in track.sent.items() if at >= start}

    async def stop(self) -> None:
        """Stop polling and complete every subscriber (called by the lifespan)."""
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for feed in self.feeds:
            if not feed.queue.full():
                feed.queue.put_nowait(None)


def _offer(feed: Feed, event: Event, limit: int) -> None:
    if feed.queue.qsize() >= limit:
        feed.lagging = True
        if not feed.queue.full():
            feed.queue.put_nowait(None)
        return
    feed.queue.put_nowait(event)
