"""``create_app(settings)``: the wiring. Routes, middleware in the order a request meets
them, and the lifespan, which owns every resource: the database, the live poller, the cost
buckets, the watchdog (liveness) and the reservation sweeper.

The one module of :mod:`gateway` that imports :mod:`resolvers` (to build the schema); see
docs/architecture.md for who may import what."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route, WebSocketRoute

from gateway import live
from gateway.admission.keys import create_demo_keys
from gateway.admission.throttle import create_throttle
from gateway.commerce.reservations import Sweeper
from gateway.database import connect, seeding
from gateway.deadline import RequestDeadline
from gateway.settings import Settings
from gateway.telemetry import metrics, tracing
from gateway.telemetry.logs import RequestContext
from gateway.telemetry.watchdog import Watchdog, settled
from gateway.web import graphiql, health
from gateway.web.gate import Gate
from gateway.web.health import ensure_indexes_once
from gateway.web.view import GraphQLApp
from resolvers.schema import build_schema

log = logging.getLogger("gateway")


async def _nothing() -> None:
    return None


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
    graphql = GraphQLApp(settings, build_schema())
    gate = Gate(graphql, settings, graphql.authenticator)
    metrics.install()
    tracing.install()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        provider = tracing.configure()
        db = connect(settings)
        app.state.db = db
        # the cost buckets (gateway.admission.throttle): in MongoDB unless the store is embedded
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
                                    timeout=settings.request_timeout_ms / 1000,
                                    stale_after=settings.reservation_timeout_seconds)
        if db.kind == "embedded":
            counts = await seeding.load(db, seeding.read_seed_files(settings.seeds_dir))
            await db.features()
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
            if await ensure_indexes_once(app):
                log.info("connected to MongoDB, database %r", settings.database)
            else:
                log.warning("MongoDB is not reachable yet: not ready (/readyz 503) until it "
                            "answers; database %r", settings.database)
        app.state.sweeper.start()
        # What start-up built (the schema, the modules) lives as long as the process: frozen,
        # it is out of the collector's sight, and a full collection walks what requests made
        # (100 ms and more per collection on a member-360 page otherwise; docs/performance.md).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            await _close(app, seconds=settings.shutdown_close_seconds)
            if provider is not None:
                provider.shutdown()

    return Starlette(
        routes=[
            Route("/healthz", health.healthz),
            Route("/readyz", health.readyz),
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
