"""GraphQL over HTTP, by the book: strawberry's ASGI view plus what the specification asks.

- Content negotiation by ``Accept``: ``application/graphql-response+json`` when the client
  prefers it; ``application/json`` (the classic behaviour: 200 with ``errors``) when it asks
  for that, sends ``*/*`` or no ``Accept``; 406 when it accepts neither.
- With ``application/graphql-response+json``, a request that never reached execution (a
  document that does not parse or validate, variables that do not coerce, an unknown
  operation name) answers 400 with no ``data`` entry; errors during execution answer 200.
  HTTP-level failures (bad JSON body, missing query) come back as a GraphQL error body.
- A mutation by GET answers 405 with ``Allow: POST``; a POST body that is not
  ``application/json`` answers 415.
- Persisted queries (APQ and the safelist) are resolved before anything runs
  (:mod:`gateway.persisted`).
"""

from __future__ import annotations

from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import (
    CannotGetOperationTypeError,
    InvalidOperationTypeError,
)
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from gateway import metrics
from gateway.persisted import PersistedQueries, PersistedQueryError

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"


def negotiate(accept: str | None) -> str | None:
    """The media type to answer with, or ``None`` when the client accepts neither."""
    if not accept or not accept.strip():
        return JSON
    quality = {GRAPHQL_RESPONSE_JSON: 0.0, JSON: 0.0}
    wildcard = 0.0
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media in quality:
            quality[media] = max(quality[media], q)
        elif media in ("*/*", "application/*"):
            wildcard = max(wildcard, q)
    json_q = quality[JSON] or wildcard
    if quality[GRAPHQL_RESPONSE_JSON] > 0 and quality[GRAPHQL_RESPONSE_JSON] >= json_q:
        return GRAPHQL_RESPONSE_JSON
    return JSON if json_q > 0 else None


def is_request_error(result: ExecutionResult) -> bool:
    """True when the operation failed before execution: no data, no error with a path."""
    return result.data is None and bool(result.errors) and all(
        e.path is None for e in result.errors or []
    )


def error_body(message: str, code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message}
    if code is not None:
        error["extensions"] = {"code": code}
    return {"errors": [error]}


class SpecView(GraphQL[Any, None]):
    """Strawberry's ASGI view with content negotiation, HTTP status codes and persisted
    queries."""

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
        media = negotiate(request.headers.get("accept"))
        try:
            response = await super().run(request, context, root_value)
        except PersistedQueryError as exc:
            metrics.ERRORS.labels(exc.code).inc()
            return self._error_response(media, exc.status, exc.message, exc.code)
        except HTTPException as exc:
            status, code, headers = exc.status_code, None, {}
            if isinstance(exc.__cause__, InvalidOperationTypeError) and request.method == "GET":
                status, headers = 405, {"Allow": "POST"}
            elif isinstance(exc.__cause__, CannotGetOperationTypeError):
                code = "GRAPHQL_VALIDATION_FAILED"
            elif exc.reason == "Unsupported content type":
                status = 415
            if media != GRAPHQL_RESPONSE_JSON:
                return PlainTextResponse(exc.reason, status_code=status, headers=headers)
            return self._error_response(media, status, exc.reason, code, headers)
        if media == GRAPHQL_RESPONSE_JSON and response.media_type == JSON:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
            if getattr(request.state, "graphql_request_error", False):
                response.status_code = 400
        return response

    def _error_response(
        self, media: str | None, status: int, message: str, code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        response = JSONResponse(error_body(message, code), status_code=status, headers=headers)
        if media == GRAPHQL_RESPONSE_JSON:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
        return response

    def should_render_graphql_ide(self, request: Any) -> bool:
        """GraphiQL only for a browser's page load: a GET that accepts HTML, with no query."""
        params = request.query_params
        return (
            request.method == "GET"
            and params.get("query") is None
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
        data = await super().parse_http_body(request)
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
