"""``create_app(settings)``: the Starlette application. The lifespan owns the database, the
watchdog (liveness) and the reservation sweeper."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import orjson
from pymongo.errors import PyMongoError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from gateway import demo_data, graphiql, live, metrics, tracing
from gateway.auth import Authenticator, Principal, Unauthorized, create_demo_keys
from gateway.commerce.reservations import Sweeper
from gateway.context import Context, make_context
from gateway.database import Database, connect, seeding
from gateway.database.indexes import ensure_indexes
from gateway.database.scope import Scope
from gateway.deadline import RequestDeadline
from gateway.gate import PRINCIPAL, Gate, client_address
from gateway.http import SpecView
from gateway.loaders import create_loaders
from gateway.observability import RequestContext
from gateway.persisted import Manifest, PersistedQueries
from gateway.settings import Settings
from gateway.sockets import Sockets, handler_for
from gateway.throttle import create_throttle
from gateway.watchdog import Watchdog, settled
from resolvers import build_schema

log = logging.getLogger("gateway")


class GraphQLApp(SpecView):
    """The GraphQL-over-HTTP view (``gateway.http``) with our context and orjson responses."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        kwargs.setdefault(
            "max_subscriptions_per_connection", settings.live_max_subscriptions_per_connection
        )
        # graphql-transport-ws only (graphql-ws's legacy protocol has no connection_init
        # deadline), with our per-key limits (gateway.sockets).
        kwargs.setdefault("subscription_protocols", (GRAPHQL_TRANSPORT_WS_PROTOCOL,))
        kwargs.setdefault("connection_init_wait_timeout",
                          timedelta(seconds=settings.ws_init_timeout_seconds))
        manifest = settings.persisted_queries_manifest
        persisted = PersistedQueries(
            manifest=Manifest.read(manifest) if manifest is not None else None,
            cache_size=settings.apq_cache_size,
            max_length=settings.max_document_length,
        )
        super().__init__(build_schema(), persisted=persisted, **kwargs)
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
            except Unauthorized as exc:
                raise ConnectionRejectionError(
                    {"message": exc.message, "code": "UNAUTHENTICATED"}
                ) from exc
        context.scope = context.principal.scope
        context.loaders = create_loaders(context.db, context.scope)
        unset: UnsetType = UNSET
        return unset

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


async def _ensure_indexes(app: Starlette) -> bool:
    """Create indexes once; False (and a log line) when the database cannot be reached."""
    if not app.state.indexes_ready:
        try:
            await ensure_indexes(app.state.db.db)
            app.state.indexes_ready = True
        except PyMongoError as exc:
            log.error("cannot ensure indexes: MongoDB unreachable (%s)", type(exc).__name__)
    return bool(app.state.indexes_ready)


async def _nothing() -> None:
    return None


# /readyz: MongoDB must answer ping within this (its own deadline), and the answer is awaited
# this much longer at most (a stuck client: the ping is then left to end on its own).
READY_PING_SECONDS = 1.0
READY_GRACE_SECONDS = 0.5


async def _close(app: Starlette, *, seconds: float) -> None:
    """Stop the background work and close the database client, all within ``seconds``: a
    step that does not end in time (a stuck client) is left behind, so that SIGTERM still
    ends the process within the graceful period."""
    ends = time.monotonic() + seconds
    watchdog: Watchdog | None = app.state.watchdog
    steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        ("live feeds", app.state.live.stop),
        ("reservation sweeper", app.state.sweeper.stop),
        ("watchdog", (lambda: watchdog.stop(seconds=seconds / 2)) if watchdog else _nothing),
        ("database client", app.state.db.close),
    ]
    for name, step in steps:
        finished, _ = await settled(step(), seconds=max(0.0, ends - time.monotonic()))
        if not finished:
            log.error("shutdown: %s did not stop within %.1f s; leaving it", name, seconds)
        elif name == "database client":
            log.info("database client closed")


def create_app(settings: Settings | None = None) -> Starlette:
    """The gateway: ``/graphql`` (GraphiQL on GET from a browser), ``/healthz``, ``/readyz``,
    ``/metrics``."""
    settings = settings or Settings()
    graphql = GraphQLApp(settings)
    gate = Gate(graphql, settings, graphql.authenticator)
    metrics.install()
    tracing.install()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        provider = tracing.configure()
        db = connect(settings)
        app.state.db = db
        # the cost buckets (gateway.throttle): in MongoDB unless the store is embedded
        app.state.throttle = create_throttle(settings, db)
        app.state.live = live.Poller(
            db, interval=settings.live_poll_interval_ms / 1000,
            lookback=timedelta(milliseconds=settings.live_lookback_ms),
            timeout=settings.request_timeout_ms / 1000,
        )
        app.state.indexes_ready = False
        app.state.watchdog = None
        if db.kind == "mongodb":
            app.state.watchdog = Watchdog(db, stuck_after=settings.liveness_stuck_seconds)
            app.state.watchdog.start()
        app.state.sweeper = Sweeper(db, interval=settings.reservation_sweep_seconds,
                                    timeout=settings.request_timeout_ms / 1000)
        if db.kind == "embedded":
            counts = await seeding.load(db, demo_data.read_seed_files(settings.seeds_dir))
            app.state.indexes_ready = True
            log.warning(
                "embedded store: data is in memory, loaded from %s (%d documents) and lost on "
                "exit; set MONGODB_URI=mongodb://host:27017 to use MongoDB",
                settings.seeds_dir.name, sum(counts.values()),
            )
            graphql.demo_admin_key, lines = await create_demo_keys(db, settings)
            for line in lines:
                log.warning("%s", line)
        else:
            await _ensure_indexes(app)
            log.info("connected to MongoDB, database %r", settings.database)
        app.state.sweeper.start()
        try:
            yield
        finally:
            await _close(app, seconds=settings.shutdown_close_seconds)
            if provider is not None:
                provider.shutdown()

    async def healthz(request: Request) -> Response:
        """Liveness: 503 when the database client is stuck (see gateway.watchdog)."""
        watchdog: Watchdog | None = request.app.state.watchdog
        if watchdog is not None and watchdog.stuck:
            return JSONResponse(
                {"status": "stuck", "code": "UNAVAILABLE",
                 "stuckSeconds": round(watchdog.stuck_for, 1)}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        """Readiness: MongoDB answers ping within a second and the indexes exist."""
        db: Database = request.app.state.db
        watchdog: Watchdog | None = request.app.state.watchdog
        answered, ok = (False, False) if watchdog is not None and watchdog.stuck else (
            await settled(db.ping(seconds=READY_PING_SECONDS),
                          seconds=READY_PING_SECONDS + READY_GRACE_SECONDS))
        if answered and ok and await _ensure_indexes(request.app):
            return JSONResponse({"status": "ready", "database": db.kind})
        return JSONResponse(
            {"status": "unavailable", "database": db.kind, "code": "UNAVAILABLE"}, status_code=503
        )

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics.endpoint(settings)),
            Mount("/graphiql", graphiql.assets()),
            Route("/graphql", gate),
            WebSocketRoute("/graphql", gate),
        ],
        lifespan=lifespan,
        middleware=[Middleware(tracing.http_spans), Middleware(RequestContext),
                    Middleware(metrics.HttpMetrics),
                    Middleware(RequestDeadline, seconds=settings.request_timeout_ms / 1000)],
    )
