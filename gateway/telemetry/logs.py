"""Structured JSON logs and the request id, as one pure ASGI middleware.

Every HTTP request and WebSocket connection gets a request id: the caller's ``X-Request-Id``
when it is sane (1 to 128 characters of ``A-Z a-z 0-9 . _ : -``), else a fresh one. It is
sent back in the ``X-Request-Id`` response header, put on every log line written while the
request runs, and on the request's span (``request.id``; the span itself is the ASGI
instrumentation's, see :mod:`gateway.telemetry.tracing`). Each request ends with one ``access`` log
line (method, path, status, duration).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
request_id: ContextVar[str | None] = ContextVar("omnigw_request_id", default=None)
access_log = logging.getLogger("gateway.access")

# LogRecord attributes that are not "extra" fields.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {
    "message", "asctime", "taskName", "color_message"  # uvicorn's copy with ANSI colours
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid is not None:
            entry["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> None:
    """JSON lines on stderr for the gateway, uvicorn and the libraries (called by ``serve``)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def incoming_request_id(scope: Scope) -> str:
    """The caller's ``X-Request-Id`` if sane, else a new random id."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if _SANE.match(text):
                return text
            break
    return uuid.uuid4().hex


class RequestContext:
    """Pure ASGI middleware: request id (also on the current span) and the access log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = incoming_request_id(scope)
        token = request_id.set(rid)
        method = scope.get("method", "WEBSOCKET")
        path = scope["path"]
        status = 0
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] in ("http.response.start", "websocket.accept"):
                status = message.get("status", 101)
                message["headers"] = [
                    *message.get("headers", []), (b"x-request-id", rid.encode("latin-1"))
                ]
            await send(message)

        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("request.id", rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %s", method, path, status,
                    extra={"method": method, "path": path, "status": status,
                           "duration_ms": round((time.perf_counter() - started) * 1000, 2)},
                )
            request_id.reset(token)
