"""The gate in front of ``/graphql``: body limits, batch refusal, then the caller's API key.

Checked in this order, each before any other work: the body size (HTTP 413), a JSON array body
(HTTP 400), then ``Authorization: Bearer <key>`` (HTTP 401 with ``WWW-Authenticate: Bearer``).
Every refusal has a GraphQL-shaped body with ``extensions.code``. A database that cannot be
reached while a key is looked up gives HTTP 503 ``UNAVAILABLE``.

``GET /graphql`` without a ``query`` parameter (the GraphiQL page) needs no key; the page sends
the key the user sets in its headers pane. A WebSocket presents the header in its handshake
or in connection_init's payload.
The principal goes to ``scope["omnigw.principal"]``, where ``get_context`` reads it.
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo.errors import PyMongoError
from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.auth import Authenticator, Principal, Unauthorized
from gateway.limits import Refused, check_batch, read_body
from gateway.settings import Settings

log = logging.getLogger("gateway.auth")
PRINCIPAL = "omnigw.principal"


class Gate:
    """ASGI wrapper of the GraphQL app."""

    def __init__(self, app: ASGIApp, settings: Settings, authenticator: Authenticator) -> None:
        self.app = app
        self.settings = settings
        self.authenticator = authenticator

    async def _principal(self, scope: Scope, headers: Headers) -> Principal:
        try:
            return await self.authenticator.authenticate(
                scope["app"].state.db, headers.get("authorization")
            )
        except Unauthorized as exc:
            raise Refused(401, "UNAUTHENTICATED", exc.message,
                          {"WWW-Authenticate": 'Bearer realm="omnigw"'}) from exc
        except PyMongoError as exc:
            log.error("cannot look up an API key: %s", type(exc).__name__)
            raise Refused(503, "UNAVAILABLE",
                          "The database is unavailable; try again shortly.") from exc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        params = QueryParams(scope["query_string"])
        if scope["method"] == "GET" and "query" not in params and "extensions" not in params:
            await self.app(scope, receive, send)  # the GraphiQL page (no operation to run)
            return
        try:
            body = await read_body(headers, receive, self.settings)
            check_batch(body, self.settings)
            principal = await self._principal(scope, headers)
        except Refused as refusal:
            await refusal.response(headers.get("accept"))(scope, receive, send)
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app({**scope, PRINCIPAL: principal}, replay, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        if "authorization" not in headers:
            # No key in the handshake (browsers cannot send one): the view authenticates the
            # connection from connection_init's payload instead.
            await self.app(scope, receive, send)
            return
        try:
            principal = await self._principal(scope, headers)
        except Refused:
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 4401})
            return
        await self.app({**scope, PRINCIPAL: principal}, receive, send)
