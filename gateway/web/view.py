"""GraphQL over HTTP, by the book: strawberry's ASGI view plus what the specification asks.

- Content negotiation by ``Accept`` (``gateway.web.media``): ``application/graphql-response+json``
  when the client prefers it; ``application/json`` (the classic behaviour: 200 with
  ``errors``) when it asks for that, sends ``*/*`` or no ``Accept``; 406 when it accepts
  neither.
- With ``application/graphql-response+json``, a request that never reached execution (a
  document that does not parse or validate, variables that do not coerce, an unknown or
  missing operation name, a subscription sent over HTTP) answers 400 with no ``data`` entry;
  errors during execution answer 200.
- Every HTTP-level failure has a GraphQL-shaped JSON body with ``extensions.code``
  (``BAD_REQUEST`` unless said otherwise), in the negotiated media type: a mutation by GET is
  405 with ``Allow: POST``, another method 405 with ``Allow: GET, POST``, a POST body that is
  not ``application/json`` 415, a body that is not JSON 400.
- Persisted queries (APQ and the safelist) are resolved before anything runs
  (:mod:`gateway.web.persisted`).
- Over WebSocket, graphql-transport-ws messages go out as text frames, as the protocol says.

:class:`GraphQLApp` is the view the gateway serves: our context, WebSocket authentication,
GraphiQL page and orjson responses.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, cast

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException, parse_content_type
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema.exceptions import (
    CannotGetOperationTypeError,
    InvalidOperationTypeError,
)
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from gateway.admission.auth import Authenticator, Principal
from gateway.context import Context, make_context
from gateway.database import Database
from gateway.database.scope import Scope
from gateway.errors import Refused
from gateway.loaders import Loaders
from gateway.manifest import Manifest
from gateway.settings import Settings
from gateway.web import graphiql
from gateway.web.gate import PRINCIPAL, client_address
from gateway.web.media import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    error_body,
    error_response,
    negotiate,
    refusal_response,
)
from gateway.web.persisted import PersistedQueries
from gateway.web.sockets import Sockets, handler_for

__all__ = ["GRAPHQL_RESPONSE_JSON", "JSON", "GraphQLApp", "SpecView", "error_body", "negotiate"]


def is_request_error(result: ExecutionResult) -> bool:
    """True when the operation failed before execution: no data, no error with a path."""
    return result.data is None and bool(result.errors) and all(
        e.path is None for e in result.errors or []
    )


class TextFrames(ASGIWebSocketAdapter):
    """graphql-transport-ws messages as text frames: the protocol's messages are JSON text,
    and its clients (graphql-ws, browsers) refuse binary frames."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        encoded = self.view.encode_json(message)
        try:
            await self.ws.send_text(encoded.decode() if isinstance(encoded, bytes) else encoded)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class SpecView(GraphQL[Any, None]):
    """Strawberry's ASGI view with content negotiation, HTTP status codes, persisted queries
    and text frames."""

    websocket_adapter_class = TextFrames

    def __init__(
        self, schema: Any, *, persisted: PersistedQueries | None = None, **kwargs: Any
    ) -> None:
        super().__init__(schema, **kwargs)
        self.persisted = persisted or PersistedQueries()

    async def run(
        self, request: Request | WebSocket, context: Any = UNSET, root_value: Any = UNSET
    ) -> Any:
        if not isinstance(request, Request):
            return await super().run(request, context, root_value)
        accept = request.headers.get("accept")
        media = negotiate(accept)
        try:
            response = await super().run(request, context, root_value)
        except Refused as refusal:
            return refusal_response(refusal, accept)
        except HTTPException as exc:
            status, code, headers, message = exc.status_code, "BAD_REQUEST", {}, exc.reason
            if isinstance(exc.__cause__, InvalidOperationTypeError) and request.method == "GET":
                status, headers = 405, {"Allow": "POST"}
                message = "A mutation runs by POST only (GraphQL over HTTP)."
            elif isinstance(exc.__cause__, CannotGetOperationTypeError):
                code = "GRAPHQL_VALIDATION_FAILED"
            elif status == 405:
                headers = {"Allow": "GET, POST"}
            return error_response(accept, status, message, code, headers)
        if media == GRAPHQL_RESPONSE_JSON and response.media_type == JSON:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
            if getattr(request.state, "graphql_request_error", False):
                response.status_code = 400
        return response

    def should_render_graphql_ide(self, request: Any) -> bool:
        """GraphiQL only for a browser's page load: a GET that accepts HTML, with no query."""
        if request.method != "GET":
            return False
        params = request.query_params
        return (
            params.get("query") is None
            and params.get("extensions") is None
            and "text/html" in request.headers.get("accept", "")
        )

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        if negotiate(request.headers.get("accept")) is None:
            raise HTTPException(
                406, f"Accept {JSON} or {GRAPHQL_RESPONSE_JSON} (GraphQL over HTTP)."
            )
        if request.method == "POST":
            media, _ = parse_content_type(request.content_type or "")
            if media.lower() != JSON:
                raise HTTPException(
                    415, f"Send the request as {JSON} (GraphQL over HTTP), not "
                    f"{media[:60] or 'a body without Content-Type'}."
                )
            body = self.parse_json(await request.get_body())
            if isinstance(body, dict) and not self._stream_transport_map:
                # one operation, over plain HTTP: what strawberry's parse would make of it
                return self.persisted.resolve(_one_operation(body))
        data = await super().parse_http_body(cast(AsyncHTTPRequestAdapter, _MediaTypeSaid(request)))
        if isinstance(data, GraphQLRequestData):
            return self.persisted.resolve(data)
        return data

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        body = await super().process_result(request, result)
        if negotiate(request.headers.get("accept")) == GRAPHQL_RESPONSE_JSON and (
            is_request_error(result)
        ):
            body.pop("data", None)
            request.state.graphql_request_error = True
        return body


def _one_operation(data: dict[str, Any]) -> GraphQLRequestData:
    """A POSTed operation as strawberry's ``parse_http_body`` reads it, with its checks and
    messages, without parsing the media type twice more (a tenth of a ``{ __typename }``
    request's time; docs/performance.md)."""
    for name, kind, what in (("query", str, "a string"), ("variables", dict, "an object"),
                             ("extensions", dict, "an object")):
        if not isinstance(data.get(name), (kind, type(None))):
            raise HTTPException(400, f"The GraphQL operation's `{name}` must be {what} or "
                                "null, if provided.")
    return GraphQLRequestData(query=data.get("query"), variables=data.get("variables"),
                              operation_name=data.get("operationName"),
                              extensions=data.get("extensions"), protocol="http")


class _MediaTypeSaid:
    """The request with its ``Content-Type`` as checked above: strawberry compares the media
    type case-sensitively, and ``Application/JSON`` is ``application/json`` (RFC 9110)."""

    def __init__(self, request: AsyncHTTPRequestAdapter) -> None:
        self._request = request

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)

    @property
    def content_type(self) -> str | None:
        if self._request.method != "POST":
            return self._request.content_type
        _, params = parse_content_type(self._request.content_type or "")
        return "; ".join([JSON, *(f"{name}={value}" for name, value in params.items())])


class GraphQLApp(SpecView):
    """:class:`SpecView` with our context, authentication of WebSockets, GraphiQL page and
    orjson responses; ``schema`` is the one :func:`resolvers.schema.build_schema` makes."""

    def __init__(self, settings: Settings, schema: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "max_subscriptions_per_connection", settings.live_max_subscriptions_per_connection
        )
        # graphql-transport-ws only (graphql-ws's legacy protocol has no connection_init
        # deadline), with our per-key limits (gateway.web.sockets).
        kwargs.setdefault("subscription_protocols", (GRAPHQL_TRANSPORT_WS_PROTOCOL,))
        kwargs.setdefault("connection_init_wait_timeout",
                          timedelta(seconds=settings.ws_init_timeout_seconds))
        manifest = settings.persisted_queries_manifest
        persisted = PersistedQueries(
            manifest=Manifest.read(manifest) if manifest is not None else None,
            cache_size=settings.apq_cache_size,
            max_length=settings.max_document_length,
        )
        super().__init__(schema, persisted=persisted, **kwargs)
        self.settings = settings
        self.authenticator = Authenticator(settings)
        self.sockets = Sockets(settings, self.authenticator)
        self.graphql_transport_ws_handler_class = handler_for(self.sockets)
        self.demo_admin_key: str | None = None  # set under the embedded store (make serve)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        db: Database = request.app.state.db
        principal: Principal | None = request.scope.get(PRINCIPAL)
        # The gate always sets a principal; without one nothing is visible (fail closed).
        scope = principal.scope if principal is not None else Scope(channels=frozenset())
        return make_context(db, self.settings, scope, request=request, response=response,
                            principal=principal, throttle=request.app.state.throttle)

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our own GraphiQL page, with assets served by the gateway (no CDN)."""
        return graphiql.page(self.settings, self.demo_admin_key)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a WebSocket: by the handshake's Authorization header (checked by the
        gate) or else by ``connection_init``'s ``Authorization`` entry (browsers cannot set
        headers on a WebSocket), counted against the address's failures like the gate's."""
        if context.principal is None:
            params = context.connection_params or {}
            authorization = params.get("Authorization") or params.get("authorization")
            try:
                context.principal = await self.authenticator.admit(
                    context.db, authorization if isinstance(authorization, str) else None,
                    client_address(context.request.scope),
                )
            except Refused as refusal:
                raise ConnectionRejectionError(
                    {"message": refusal.message, "code": refusal.code}
                ) from refusal
        context.scope = context.principal.scope
        context.loaders = Loaders(context.db, context.scope)
        unset: UnsetType = UNSET
        return unset

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)
