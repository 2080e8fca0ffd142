"""Prometheus metrics (prometheus-client) and the ``/metrics`` endpoint.

Series (all prefixed ``omnigw_``):

- ``http_requests_total{route,status,code}``: every HTTP request and WebSocket handshake, by
  route (``/graphql``, ``/metrics``, ``/healthz``, ``/readyz``, ``/graphiql`` or ``other``),
  HTTP status (101 for an accepted WebSocket, counted when it closes) and the
  ``extensions.code`` of the response's first error (``none`` without one). Refusals before
  execution are there: 401, 413, 400 and 503 from the gate, parse and validation failures,
  ``THROTTLED``.
- ``graphql_errors_total{code}``: every GraphQL error sent, by ``extensions.code``, refusals
  before execution included.
- ``graphql_requests_total{operation}`` and ``graphql_request_duration_seconds{operation}``:
  operations that reached the GraphQL engine.
- ``db_commands_total{collection,command}``, ``dataloader_batch_size{loader}`` (keys per
  batch), ``live_subscriptions{field}`` (open subscriptions).

Operation names are chosen by clients, so they are only a label when the deployment knows
them: the names of the operations in the persisted-query manifest
(``OMNIGW_PERSISTED_QUERIES_MANIFEST``) and those listed in ``OMNIGW_METRICS_OPERATIONS``.
Any other named operation counts as ``other`` and one without a name as ``anonymous``, so a
client inventing names adds no series. With several uvicorn workers, set
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode) and ``/metrics`` sums
the workers of the host.

``/metrics`` needs ``Authorization: Bearer <OMNIGW_METRICS_KEY>`` when that key is set; in
production mode without it, ``/metrics`` is not served (404).
"""

from __future__ import annotations

import hmac
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from graphql import GraphQLError, OperationDefinitionNode, parse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from gateway.database import monitoring
from gateway.manifest import Manifest
from gateway.settings import Settings

HTTP_REQUESTS = Counter(
    "omnigw_http_requests",
    "HTTP requests and WebSocket handshakes, by route, status and the extensions.code of the "
    "first error (none without one).",
    ["route", "status", "code"],
)
REQUESTS = Counter(
    "omnigw_graphql_requests", "GraphQL operations executed, by operation name.", ["operation"]
)
LATENCY = Histogram(
    "omnigw_graphql_request_duration_seconds",
    "Time to execute a GraphQL operation, by operation name.",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ERRORS = Counter("omnigw_graphql_errors", "GraphQL errors returned, by extensions.code.", ["code"])
DB_COMMANDS = Counter(
    "omnigw_db_commands", "MongoDB commands sent, by collection and command.",
    ["collection", "command"],
)
BATCH_SIZE = Histogram(
    "omnigw_dataloader_batch_size", "Keys per DataLoader batch, by loader.", ["loader"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
LIVE_SUBSCRIPTIONS = Gauge(
    "omnigw_live_subscriptions", "Open live subscriptions, by subscription field.", ["field"],
    multiprocess_mode="livesum",
)
for _field in ("memberActivity", "channelOrders"):
    LIVE_SUBSCRIPTIONS.labels(_field)

_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
_ROUTES = frozenset({"/graphql", "/metrics", "/healthz", "/readyz"})
_REFUSAL_BYTES = 65_536  # a refusal body is a few hundred bytes; larger bodies are not read


def operation_names(bodies: Iterable[str]) -> set[str]:
    """The names of the operations defined in ``bodies`` (GraphQL documents)."""
    names: set[str] = set()
    for body in bodies:
        try:
            document = parse(body)
        except GraphQLError:
            continue  # it can never run, so its name never comes up
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode) and definition.name is not None:
                names.add(definition.name.value)
    return names


@lru_cache(maxsize=16)
def known_operations(listed: tuple[str, ...], manifest: Path | None) -> frozenset[str]:
    """The operation names kept as labels: ``listed`` and those of the ``manifest``."""
    bodies = Manifest.read(manifest).bodies if manifest is not None else frozenset()
    return frozenset(listed) | operation_names(bodies)


def operation_label(name: str | None, settings: Settings) -> str:
    """The label of an operation: its name when the deployment knows it, else ``other``."""
    if not name:
        return "anonymous"
    known = known_operations(settings.metrics_operations, settings.persisted_queries_manifest)
    return name if name in known else "other"


def code_label(code: object) -> str:
    """An ``extensions.code`` as a label (anything that is not a code as ``OTHER``)."""
    text = str(code)
    return text if _CODE.match(text) else "OTHER"


def error_codes(errors: Iterable[Any]) -> list[str]:
    """The ``extensions.code`` of each GraphQL error, a ``GraphQLError`` or its JSON form
    (``INTERNAL`` when it has none)."""
    codes = []
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, dict) else error.extensions
        code = extensions.get("code") if isinstance(extensions, dict) else None
        codes.append(code_label(code or "INTERNAL"))
    return codes


@dataclass
class Outcome:
    """What the GraphQL engine reported for one HTTP request or WebSocket."""

    executed: bool = False
    codes: list[str] = field(default_factory=list)


_outcome: ContextVar[Outcome | None] = ContextVar("omnigw_outcome", default=None)


class OperationMetrics(SchemaExtension):
    """Counts operations and their latency by operation, and their errors by code."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        settings = getattr(self.execution_context.context, "settings", None)
        name = self.execution_context.operation_name
        label = operation_label(name, settings) if settings is not None else "other"
        REQUESTS.labels(label).inc()
        LATENCY.labels(label).observe(time.perf_counter() - started)

    def get_results(self) -> dict[str, Any]:
        # Strawberry calls this once per result, after every error got its code (refusals
        # raised by an extension included), with the errors in pre_execution_errors.
        codes = error_codes(self.execution_context.pre_execution_errors or [])
        for code in codes:
            ERRORS.labels(code).inc()
        outcome = _outcome.get()
        if outcome is not None:
            outcome.executed = True
            outcome.codes.extend(codes)
        return {}


def _route(path: str) -> str:
    if path in _ROUTES:
        return path
    return "/graphiql" if path.startswith("/graphiql/") else "other"


def _refusal_codes(body: bytes) -> list[str]:
    """The codes of a GraphQL-shaped refusal body (an error without a code has none)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list):
        return []
    return error_codes(e for e in errors if isinstance(e, dict)
                       and isinstance(e.get("extensions"), dict) and "code" in e["extensions"])


def _is_json(message: Message) -> bool:
    for name, value in message.get("headers", []):
        if name.lower() == b"content-type":
            return b"json" in value.lower()
    return False


class HttpMetrics:
    """Pure ASGI middleware behind ``omnigw_http_requests_total``.

    The GraphQL engine reports the codes of the operations it ran (:class:`OperationMetrics`);
    a response the engine never produced (a refusal at the gate or by the HTTP layer) is read
    for the codes of its GraphQL-shaped body, which are counted in ``graphql_errors_total``
    too. Either way each error is counted once.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        outcome = Outcome()
        token = _outcome.set(outcome)
        status = 0
        body: bytearray | None = None

        async def observed(message: Message) -> None:
            nonlocal status, body
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                if not outcome.executed and _is_json(message):
                    body = bytearray()
            elif kind == "http.response.body" and body is not None:
                chunk = message.get("body", b"")
                body = body + chunk if len(body) + len(chunk) <= _REFUSAL_BYTES else None
            elif kind == "websocket.accept":
                status = 101
            elif kind == "websocket.close" and status == 0:
                status = 403  # closed before accepting: the server answers the handshake 403
            await send(message)

        try:
            await self.app(scope, receive, observed)
        except BaseException:
            status = status or 500
            raise
        finally:
            _outcome.reset(token)
            codes = outcome.codes
            if not outcome.executed and body is not None:
                codes = _refusal_codes(bytes(body))
                for code in codes:
                    ERRORS.labels(code).inc()
            HTTP_REQUESTS.labels(_route(scope["path"]), str(status or 500),
                                 codes[0] if codes else "none").inc()


class CommandMetrics:
    """A :class:`gateway.database.monitoring.CommandObserver` that counts commands."""

    def started(self, command: str, collection: str | None, key: object) -> None:
        DB_COMMANDS.labels(collection or "admin", command).inc()

    def finished(self, key: object, failure: str | None) -> None:
        pass


_command_metrics = CommandMetrics()


def install() -> None:
    """Count MongoDB commands (idempotent)."""
    if _command_metrics not in monitoring.observers:
        monitoring.observers.append(_command_metrics)


def observe_batch(loader: str, size: int) -> None:
    BATCH_SIZE.labels(loader).observe(size)


def endpoint(settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    """``GET /metrics`` (the Prometheus text format), guarded as the settings say."""
    key = settings.metrics_key.get_secret_value().encode() if settings.metrics_key else None

    async def metrics(request: Request) -> Response:
        if key is None and settings.production:
            return JSONResponse({"errors": [{
                "message": "/metrics is off in production mode without OMNIGW_METRICS_KEY.",
                "extensions": {"code": "NOT_FOUND"}}]}, status_code=404)
        if key is not None:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                                     key):
                return JSONResponse({"errors": [{
                    "message": "/metrics needs Authorization: Bearer <OMNIGW_METRICS_KEY>.",
                    "extensions": {"code": "UNAUTHENTICATED"}}]}, status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="omnigw-metrics"'})
        registry = None
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry) if registry is not None else generate_latest()
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return metrics
