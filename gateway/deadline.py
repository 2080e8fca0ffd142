"""The request deadline: whatever the database does, a request's work on it ends in time.

The deadline is PyMongo's client-side operation timeout (``pymongo.timeout``): inside the
block, server selection, connection checkout, every socket read and write and every retry
share the time left, and commands carry ``maxTimeMS``. When the time is up PyMongo gives up by
itself with a timeout error (``NetworkTimeout``, ``ExecutionTimeout`` or
``ServerSelectionTimeoutError``) that ``resolvers.schema.errors`` maps to ``UNAVAILABLE``.
Nothing is
cancelled from outside (see ``gateway.database.cancellation`` for why that matters).

The deadline lives in context variables, so DataLoader batches and the other tasks a request
starts inherit it. :class:`RequestDeadline` sets it for every HTTP request
(``OMNIGW_REQUEST_TIMEOUT_MS``), the key lookup included; ``resolvers.schema.extensions`` sets it
for each query or mutation sent over a WebSocket. Code that waits on something other than
MongoDB (an idempotency claim held by another request) asks :func:`remaining`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import pymongo
from starlette.types import ASGIApp, Receive, Scope, Send

_deadline: ContextVar[float | None] = ContextVar("omnigw_deadline", default=None)


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Bound the database work of the block (and of the tasks it starts) to ``seconds``; an
    enclosing deadline that ends sooner still wins."""
    ends = time.monotonic() + seconds
    current = _deadline.get()
    token = _deadline.set(ends if current is None else min(current, ends))
    try:
        with pymongo.timeout(seconds):
            yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline (negative once past), or ``None``."""
    ends = _deadline.get()
    return None if ends is None else ends - time.monotonic()


class RequestDeadline:
    """Pure ASGI middleware: each HTTP request runs :func:`within` the deadline."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with within(self.seconds):
            await self.app(scope, receive, send)
