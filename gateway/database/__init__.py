"""The one seam for all I/O: :func:`connect` returns the database every repository uses.

With ``MONGODB_URI`` set it is a ``pymongo.AsyncMongoClient``; without, the embedded store.
Timeouts are short on purpose: an unreachable MongoDB becomes ``UNAVAILABLE`` within the
request deadline (``gateway.deadline``) instead of a hang; the connection timeouts below bound
the work done outside requests (start-up, seeding, the command line).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from gateway import deadline
from gateway.database import cancellation, engine
from gateway.database.embedded import EmbeddedClient
from gateway.database.monitoring import CommandCounter
from gateway.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Database:
    """An open connection: the client, the database the gateway uses, and which kind it is."""

    client: Any
    db: Any
    kind: Literal["mongodb", "embedded"]
    _features: asyncio.Future[engine.Features] | None = field(default=None, repr=False)

    async def features(self) -> engine.Features:
        """What this engine runs (asked once, by the first caller; the application's start-up
        asks first; a failed question is asked again next time)."""
        if self._features is None or (self._features.done()
                                      and self._features.exception() is not None):
            self._features = asyncio.ensure_future(engine.probe(self.db))
        return await asyncio.shield(self._features)

    def __getitem__(self, collection: str) -> Any:
        return self.db[collection]

    async def ping(self, *, seconds: float) -> bool:
        """True when the database answers ``ping`` within ``seconds`` (its own deadline:
        nothing is cancelled)."""
        try:
            with deadline.within(seconds):
                await self.db.command("ping")
        except PyMongoError:
            return False
        return True

    async def close(self) -> None:
        await self.client.close()


def connect(settings: Settings) -> Database:
    """Open (lazily) the database named by the settings; no I/O happens here."""
    if settings.mongodb_uri is None:
        client: Any = EmbeddedClient()
        return Database(client=client, db=client[settings.database], kind="embedded")
    cancellation.install()
    client = AsyncMongoClient(
        settings.mongodb_uri,
        tz_aware=True,
        serverSelectionTimeoutMS=settings.server_selection_timeout_ms,
        connectTimeoutMS=settings.connect_timeout_ms,
        socketTimeoutMS=settings.socket_timeout_ms,
        event_listeners=[CommandCounter()],
        appname="omnigw",
    )
    return Database(client=client, db=client[settings.database], kind="mongodb")
