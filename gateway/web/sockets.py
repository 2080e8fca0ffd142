"""WebSocket admission after the handshake (graphql-transport-ws), in each process.

- ``connection_init`` must come within ``ws_init_timeout_seconds`` (else closed 4408, by
  strawberry); its key, when the handshake had none, is checked by the view's
  ``on_ws_connect`` (else closed 4403).
- A key holds at most ``max_sockets_per_key`` sockets (the next is closed 4429) and
  ``max_subscriptions_per_key`` operations over all of them (the next gets an ``error``
  message with code ``THROTTLED``), besides ``live_max_subscriptions_per_connection`` per
  socket.
- Every ``key_cache_ttl_seconds`` (at least every second) an open socket looks its key up
  again, as a new request would; a revoked or deleted key closes it with 4403, and no new
  operation starts meanwhile. A database that cannot be reached keeps the socket open.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from pymongo.errors import PyMongoError
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)

from gateway.admission.auth import Authenticator
from gateway.context import Context
from gateway.errors import Unauthenticated
from gateway.settings import Settings

log = logging.getLogger("gateway.sockets")


def connection_key(context: Context) -> str | None:
    """The ``Authorization`` value a socket authenticated with (handshake or payload)."""
    request = context.request
    header = request.headers.get("authorization") if request is not None else None
    if header:
        return str(header)
    params = context.connection_params or {}
    value = params.get("Authorization") or params.get("authorization")
    return value if isinstance(value, str) else None


class Sockets:
    """The open sockets of each key in this process."""

    def __init__(self, settings: Settings, authenticator: Authenticator) -> None:
        self.settings = settings
        self.authenticator = authenticator
        self.by_key: defaultdict[str, set[Handler]] = defaultdict(set)

    def join(self, key: str, handler: Handler) -> bool:
        if len(self.by_key[key]) >= self.settings.max_sockets_per_key:
            return False
        self.by_key[key].add(handler)
        return True

    def leave(self, key: str, handler: Handler) -> None:
        self.by_key[key].discard(handler)
        if not self.by_key[key]:
            del self.by_key[key]

    def operations(self, key: str) -> int:
        return sum(len(h.operations) for h in self.by_key.get(key, ()))

    @property
    def recheck_seconds(self) -> float:
        return max(1.0, self.authenticator.ttl)


class Handler(BaseGraphQLTransportWSHandler[Context, None]):
    """strawberry's graphql-transport-ws handler with the per-key limits and the key re-check."""

    sockets: Sockets  # set on the subclass the view makes (``handler_for``)
    key_id: str | None = None
    revoked = False
    watcher: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self.connection_timed_out:
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        payload = message.get("payload", {})
        if not isinstance(payload, dict):
            await self.websocket.close(code=4400, reason="Invalid connection init payload")
            return
        if self.connection_init_received:
            await self.websocket.close(code=4429, reason="Too many initialisation requests")
            return
        self.connection_init_received = True
        self.context.connection_params = payload
        try:
            await self.view.on_ws_connect(self.context)
        except ConnectionRejectionError:
            await self.websocket.close(code=4403, reason="Forbidden")
            return
        principal = self.context.principal
        assert principal is not None
        if not self.sockets.join(principal.key_id, self):
            await self.websocket.close(
                code=4429, reason="Too many sockets for this key (max_sockets_per_key)"
            )
            return
        self.key_id = principal.key_id
        self.watcher = asyncio.create_task(self._watch())
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True

    async def _watch(self) -> None:
        """Look the key up again every ``recheck_seconds``; close the socket once it is gone."""
        header = connection_key(self.context)
        while True:
            await asyncio.sleep(self.sockets.recheck_seconds)
            try:
                await self.sockets.authenticator.authenticate(self.context.db, header)
            except Unauthenticated:
                self.revoked = True
                log.info("closing a WebSocket: its key was revoked")
                await self.websocket.close(code=4403, reason="Forbidden")
                return
            except PyMongoError as exc:
                log.warning("cannot re-check a WebSocket's key: %s", type(exc).__name__)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.revoked:
            return
        key = self.key_id
        limit = self.sockets.settings.max_subscriptions_per_key
        if key is not None and self.sockets.operations(key) >= limit:
            await self.send_message({"id": message["id"], "type": "error", "payload": [{
                "message": f"This key has {limit} operations open, the most allowed "
                           "(limit max_subscriptions_per_key).",
                "extensions": {"code": "THROTTLED"}}]})
            return
        await super().handle_subscribe(message)

    async def shutdown(self) -> None:
        if self.watcher is not None:
            self.watcher.cancel()
        if self.key_id is not None:
            self.sockets.leave(self.key_id, self)
        await super().shutdown()


def handler_for(sockets: Sockets) -> type[Handler]:
    """The handler class of one view (bound to its registry of sockets)."""
    attributes: dict[str, Any] = {"sockets": sockets}
    return type("GatewayHandler", (Handler,), attributes)
