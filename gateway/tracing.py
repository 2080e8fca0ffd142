"""OpenTelemetry spans: one per HTTP request, per DataLoader batch and per MongoDB command.

Tracing is off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set: then :func:`configure` installs
an SDK tracer provider that exports by OTLP over HTTP (the standard ``OTEL_*`` variables apply:
service name, headers, sampler). With tracing off, the API's no-op tracer makes every span
free. Tests install their own provider with :func:`use_provider`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from gateway.database import monitoring

log = logging.getLogger("gateway.tracing")

_NAME = "omnigw"
_provider: Any = None


def tracer() -> Tracer:
    """The gateway's tracer (from the provider in use, else the global one)."""
    if _provider is not None:
        traced: Tracer = _provider.get_tracer(_NAME)
        return traced
    return trace.get_tracer(_NAME)


def use_provider(provider: Any) -> None:
    """Send the gateway's spans to ``provider`` (``None``: back to the global provider)."""
    global _provider
    _provider = provider


def configure() -> Any:
    """Install an OTLP exporter when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set; return the provider.

    Returns ``None`` (tracing off) otherwise. Called by the lifespan, never at import.
    """
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or _provider is not None:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    service = os.environ.get("OTEL_SERVICE_NAME", "omnichannel-gateway")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    use_provider(provider)
    log.info("tracing on: OTLP export to %s", os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"])
    return provider


class CommandSpans:
    """A span per MongoDB command, child of whatever span is current when it starts."""

    def __init__(self) -> None:
        self._open: dict[object, Span] = {}

    def started(self, command: str, collection: str | None, key: object) -> None:
        span = tracer().start_span(
            f"mongodb.{command}",
            kind=SpanKind.CLIENT,
            attributes={
                "db.system": "mongodb",
                "db.operation.name": command,
                "db.collection.name": collection or "admin",
            },
        )
        if key is None:  # the embedded store: the command has already run
            span.end()
        else:
            self._open[key] = span

    def finished(self, key: object, failure: str | None) -> None:
        span = self._open.pop(key, None)
        if span is None:
            return
        if failure is not None:
            span.set_status(Status(StatusCode.ERROR, failure))
        span.end()


_command_spans = CommandSpans()


def install() -> None:
    """Observe MongoDB commands (idempotent)."""
    if _command_spans not in monitoring.observers:
        monitoring.observers.append(_command_spans)
