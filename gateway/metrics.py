"""Prometheus metrics (prometheus-client) and the ``/metrics`` endpoint.

Series (all prefixed ``omnigw_``):

- ``graphql_requests_total{operation}`` and ``graphql_request_duration_seconds{operation}``
- ``graphql_errors_total{code}``
- ``db_commands_total{collection,command}``
- ``dataloader_batch_size{loader}`` (a histogram of keys per batch)
- ``live_subscriptions{field}`` (a gauge of open subscriptions)

Operation names come from clients, so they are bounded: a name that is not a GraphQL name
counts as ``invalid``, and past :data:`MAX_OPERATION_NAMES` distinct names as ``other``.
With several uvicorn workers, set ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's
multiprocess mode) and ``/metrics`` aggregates all the workers of the host.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from gateway.database import monitoring

MAX_OPERATION_NAMES = 200
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,99}$")

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

_seen_operations: set[str] = set()


def operation_label(name: str | None) -> str:
    """A bounded label for a client-chosen operation name."""
    if not name:
        return "anonymous"
    if not _NAME.match(name):
        return "invalid"
    if name in _seen_operations:
        return name
    if len(_seen_operations) >= MAX_OPERATION_NAMES:
        return "other"
    _seen_operations.add(name)
    return name


class OperationMetrics(SchemaExtension):
    """Counts operations, their latency and their errors by code."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        label = operation_label(self.execution_context.operation_name)
        REQUESTS.labels(label).inc()
        LATENCY.labels(label).observe(time.perf_counter() - started)
        for error in self.execution_context.pre_execution_errors or []:
            ERRORS.labels(str((error.extensions or {}).get("code", "INTERNAL"))).inc()


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


async def metrics_endpoint(request: Request) -> Response:
    """``GET /metrics``: the Prometheus text format."""
    registry = None
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    body = generate_latest(registry) if registry is not None else generate_latest()
    return Response(body, media_type=CONTENT_TYPE_LATEST)
