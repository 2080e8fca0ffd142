"""``/healthz`` (liveness) and ``/readyz`` (readiness), and the index creation readiness
waits for."""

from __future__ import annotations

import logging

from pymongo.errors import PyMongoError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.database import Database
from gateway.database.indexes import ensure_indexes
from gateway.telemetry.watchdog import Watchdog, settled

log = logging.getLogger("gateway")

# /readyz: MongoDB must answer ping within this (its own deadline), and the answer is awaited
# this much longer at most (a stuck client: the ping is then left to end on its own).
READY_PING_SECONDS = 1.0
READY_GRACE_SECONDS = 0.5


async def ensure_indexes_once(app: Starlette) -> bool:
    """Create indexes and ask the engine what it runs, once; False (and a log line) when the
    database cannot be reached."""
    if not app.state.indexes_ready:
        try:
            await ensure_indexes(app.state.db.db)
            await app.state.db.features()
            app.state.indexes_ready = True
        except PyMongoError as exc:
            log.error("cannot ensure indexes: MongoDB unreachable (%s)", type(exc).__name__)
    return bool(app.state.indexes_ready)


async def _nothing() -> None:
    return None


async def healthz(request: Request) -> Response:
    """Liveness: 503 when the database client is stuck (see gateway.telemetry.watchdog)."""
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
    if answered and ok and await ensure_indexes_once(request.app):
        return JSONResponse({"status": "ready", "database": db.kind})
    return JSONResponse(
        {"status": "unavailable", "database": db.kind, "code": "UNAVAILABLE"}, status_code=503
    )
