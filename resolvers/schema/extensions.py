"""Schema extensions: database command counting and the ``extensions.db`` response entry,
and the request deadline for operations sent over a WebSocket."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from gateway import deadline
from gateway.database.monitoring import current_stats


class DatabaseStats(SchemaExtension):
    """Ties the commands an operation sends to its context, and reports them when asked."""

    def on_operation(self) -> Iterator[None]:
        stats = self.execution_context.context.stats
        token = current_stats.set(stats)
        try:
            yield
        finally:
            current_stats.reset(token)

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        if not context.settings.debug_db_stats:
            return {}
        return {"db": context.stats.as_extension()}


class Deadline(SchemaExtension):
    """A query or mutation a client sends runs within ``OMNIGW_REQUEST_TIMEOUT_MS``
    (``gateway.deadline``): over HTTP the middleware has set it already; over a WebSocket each
    operation gets its own. A subscription lives on (its events come from the live poller,
    which has deadlines of its own), and in-process callers (``omnigw import orders``, the
    benchmark) have no request to bound."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if (context.context.request is None or deadline.remaining() is not None
                or context.operation_type is OperationType.SUBSCRIPTION):
            yield
            return
        with deadline.within(context.context.settings.request_timeout_ms / 1000):
            yield
