"""The gate in front of ``/graphql``: nothing is read before it is allowed.

HTTP, in this order, each before any other work:

1. an address with too many failed authentications: HTTP 429 ``THROTTLED`` with
   ``Retry-After``, before its key is hashed or looked up (``auth_failures_per_minute``);
2. ``Authorization: Bearer <key>`` from the headers (HTTP 401 with ``WWW-Authenticate:
   Bearer``), before a byte of the body is read; then the key's bucket must hold the admission
   charge of a document as long as the declared body (HTTP 429 ``THROTTLED`` otherwise, see
   :mod:`resolvers.schema.guard`), so a key that cannot pay sends no body we read;
3. the body: at most ``max_body_bytes`` (HTTP 413), whole within ``body_timeout_seconds``
   (HTTP 408); then a JSON array (HTTP 400 unless ``batch_requests``), and JSON that would
   hurt a parser (:func:`gateway.admission.limits.check_json`, HTTP 400), in the body or in the GET
   parameters ``variables`` and ``extensions``.

Every refusal is a :class:`gateway.errors.Refused`, answered with a GraphQL-shaped body with
``extensions.code``; a refusal after the key is
known also costs the key a point of its bucket (:mod:`gateway.admission.throttle`). A database that
cannot be reached while a key is looked up gives HTTP 503 ``UNAVAILABLE``.

``GET /graphql`` without a ``query`` parameter (the GraphiQL page) needs no key.

A WebSocket: at most ``max_connections_per_client`` open per client address (else closed 1013);
a key in the handshake is checked here (else the view checks connection_init's payload); every
message is at most ``max_body_bytes`` (else closed 1009) and passes ``check_json`` (else
closed 4400). The principal goes to ``scope["omnigw.principal"]``, where ``get_context``
reads it.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from typing import Any

from pymongo.errors import PyMongoError
from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.admission.auth import Authenticator, Principal
from gateway.admission.limits import check_batch, check_json, read_body
from gateway.errors import Refused, Throttled
from gateway.settings import Settings
from gateway.web.media import refusal_response

log = logging.getLogger("gateway.auth")
PRINCIPAL = "omnigw.principal"
REFUSAL_POINTS = 1  # what a request refused at the gate costs its key


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


class Gate:
    """ASGI wrapper of the GraphQL app."""

    def __init__(self, app: ASGIApp, settings: Settings, authenticator: Authenticator) -> None:
        self.app = app
        self.settings = settings
        self.authenticator = authenticator
        self.sockets_per_client: Counter[str] = Counter()

    async def _principal(self, scope: Scope, headers: Headers) -> Principal:
        """The caller's principal; :class:`Unauthenticated` (401), :class:`Throttled` (429), or
        HTTP 503 when the database cannot be reached."""
        try:
            return await self.authenticator.admit(
                scope["app"].state.db, headers.get("authorization"), client_address(scope)
            )
        except PyMongoError as exc:
            log.error("cannot look up an API key: %s", type(exc).__name__)
            raise Refused(503, "UNAVAILABLE",
                          "The database is unavailable; try again shortly.") from exc

    def _can_pay(self, scope: Scope, principal: Principal, headers: Headers) -> None:
        """HTTP 429 ``THROTTLED``, before the body is read, when the key's bucket (as this
        process sees it) cannot pay the admission charge of a document as long as the body."""
        throttle = scope["app"].state.throttle
        declared = headers.get("content-length", "")
        length = min(int(declared) if declared.isdigit() else 0,
                     self.settings.max_document_length)
        needed = max(1, math.ceil(length / self.settings.admission_chars_per_point))
        if needed > throttle.size:
            raise Refused(413, "QUERY_TOO_COMPLEX", f"A body of {length} bytes needs {needed} "
                          f"points, more than a bucket holds ({throttle.size}, limit "
                          "throttle_bucket_size).", {"Connection": "close"})
        available = throttle.available(principal.key_id)
        if available < needed:
            wait = max(0.01, math.ceil((needed - available) / throttle.rate * 100) / 100)
            raise Throttled(f"Throttled: a body of {length} bytes needs {needed} points and "
                            f"{max(0, int(available))} are available; retry in {wait} seconds.",
                            wait)

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
            principal = await self._principal(scope, headers)
            self._can_pay(scope, principal, headers)
        except Refused as refusal:
            await refusal_response(refusal, headers.get("accept"))(scope, receive, send)
            return
        try:
            body = await read_body(headers, receive, self.settings)
            check_batch(body, self.settings)
            if body and "json" in headers.get("content-type", ""):
                check_json(body, self.settings)
            for name in ("variables", "extensions"):
                if name in params:
                    check_json(params[name].encode(), self.settings, f"parameter {name}")
        except Refused as refusal:
            await scope["app"].state.throttle.owe(principal.key_id, REFUSAL_POINTS)
            await refusal_response(refusal, headers.get("accept"))(scope, receive, send)
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
        address = client_address(scope)
        cap = self.settings.max_connections_per_client
        if cap and self.sockets_per_client[address] >= cap:
            await receive()  # websocket.connect
            offered = scope.get("subprotocols") or []
            await send({"type": "websocket.accept",
                        "subprotocol": offered[0] if offered else None})
            await send({"type": "websocket.close", "code": 1013,
                        "reason": "Too many connections from this address"})
            return
        self.sockets_per_client[address] += 1
        try:
            await self._admitted_websocket(scope, receive, send)
        finally:
            self.sockets_per_client[address] -= 1
            if self.sockets_per_client[address] <= 0:
                del self.sockets_per_client[address]

    async def _admitted_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        frames = Frames(self.settings, receive, send)
        if "authorization" not in headers:
            # No key in the handshake (browsers cannot send one): the view authenticates the
            # connection from connection_init's payload instead.
            await self.app(scope, frames.receive, frames.send)
            return
        try:
            principal = await self._principal(scope, headers)
        except Refused:
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 4401})
            return
        await self.app({**scope, PRINCIPAL: principal}, frames.receive, frames.send)


class Frames:
    """A WebSocket's messages, each at most ``max_body_bytes`` and JSON a parser may see; the
    socket is closed (1009 or 4400) at the first that is not."""

    def __init__(self, settings: Settings, receive: Receive, send: Send) -> None:
        self.settings = settings
        self._receive = receive
        self._send = send
        self.closed = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] != "websocket.receive" or self.closed:
            return message
        text, data = message.get("text"), message.get("bytes")
        raw = data if data is not None else (text or "").encode("utf-8", "surrogatepass")
        if len(raw) > self.settings.max_body_bytes:
            return await self._close(1009, "Message larger than max_body_bytes")
        if text is not None:
            try:
                check_json(raw, self.settings, "message")
            except Refused as refusal:
                return await self._close(4400, refusal.message[:120])
        return message

    async def _close(self, code: int, reason: str) -> Message:
        self.closed = True
        await self._send({"type": "websocket.close", "code": code, "reason": reason})
        return {"type": "websocket.disconnect", "code": code}

    async def send(self, message: Message) -> None:
        if not self.closed:
            if message["type"] == "websocket.close":
                self.closed = True
            await self._send(message)
