"""OpenTelemetry traces: which instrumentation makes which span, and where spans go.

One request gives one tree of spans:

- ``POST /graphql`` (SERVER): the maintained ASGI instrumentation
  (``opentelemetry-instrumentation-asgi``), continuing the caller's W3C ``traceparent``;
- ``query`` / ``mutation`` / ``subscription`` (the GraphQL operation, with
  ``graphql.operation.*`` and ``graphql.document``): :mod:`gateway.telemetry.graphql_tracing`;
- ``dataloader <name>``: one per DataLoader batch (:mod:`gateway.loaders`);
- ``omnigw <job>`` (INTERNAL): the root of each round of a background job (the reservation
  sweeper, the live poller), so that its commands are in a trace of their own; the liveness
  watchdog's pings are not traced;
- ``<database>.<command>`` (CLIENT): one per MongoDB command, made by the maintained PyMongo
  instrumentation (``opentelemetry-instrumentation-pymongo``) on a real MongoDB, and by
  :func:`command_span`, with the same name and attributes, on the embedded store.

Tracing is off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set: then :func:`configure` installs
an SDK tracer provider that exports by OTLP over HTTP (the standard ``OTEL_*`` variables apply:
service name, headers, sampler). With tracing off every span is the API's no-op span. The
instrumentations are handed :data:`PROVIDER`, which asks for the provider in use at each span,
so tests can swap in their own with :func:`use_provider`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import Attributes
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.database import monitoring

log = logging.getLogger("gateway.tracing")

_NAME = "omnigw"
_provider: Any = None


def _current_provider() -> trace.TracerProvider:
    provider: trace.TracerProvider = _provider or trace.get_tracer_provider()
    return provider


class _CurrentTracer(Tracer):
    """A tracer that starts each span with the provider in use at that moment."""

    def __init__(self, name: str, version: str | None, schema_url: str | None) -> None:
        self._scope = (name, version, schema_url)
        self._cached: tuple[object, Tracer] | None = None

    def _tracer(self) -> Tracer:
        provider = _current_provider()
        if self._cached is None or self._cached[0] is not provider:
            self._cached = (provider, provider.get_tracer(*self._scope))
        return self._cached[1]

    def start_span(self, *args: Any, **kwargs: Any) -> Span:
        return self._tracer().start_span(*args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        return self._tracer().start_as_current_span(*args, **kwargs)


class _CurrentProvider(trace.TracerProvider):
    """What the instrumentations are given: tracers that follow :func:`use_provider`."""

    def get_tracer(
        self, instrumenting_module_name: str, instrumenting_library_version: str | None = None,
        schema_url: str | None = None, attributes: Attributes = None,
    ) -> Tracer:
        return _CurrentTracer(instrumenting_module_name, instrumenting_library_version,
                              schema_url)


PROVIDER = _CurrentProvider()
_tracer = PROVIDER.get_tracer(_NAME)


def tracer() -> Tracer:
    """The gateway's own tracer (follows the provider in use)."""
    return _tracer


@contextmanager
def background(job: str) -> Iterator[None]:
    """A root span, ``omnigw <job>``, for one round of a background job (the reservation
    sweeper, the live poller): its commands are traced beneath it, in a trace of its own and
    never in a request's."""
    with _tracer.start_as_current_span(f"omnigw {job}", context=otel_context.Context(),
                                       kind=SpanKind.INTERNAL):
        yield


def use_provider(provider: Any) -> None:
    """Send every span to ``provider`` (``None``: back to the global provider)."""
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


def install() -> None:
    """Trace the commands of every PyMongo client created from now on, and those of the
    embedded store (idempotent)."""
    monitoring.command_span = command_span
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

    instrumentor = PymongoInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=PROVIDER)


_ROUTES = ("/graphql", "/healthz", "/readyz", "/metrics")


def _span_details(scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``METHOD route``: our few routes by name, anything else as ``METHOD`` alone (the span
    name stays low-cardinality whatever path a client sends)."""
    path = scope.get("path", "")
    route = path if path in _ROUTES else "/graphiql" if path.startswith("/graphiql/") else ""
    method = scope.get("method", "GET") if scope["type"] == "http" else "WEBSOCKET"
    return (f"{method} {route}" if route else method), ({"http.route": route} if route else {})


def tracing_on() -> bool:
    """Whether spans go anywhere: a provider set by :func:`use_provider` or
    :func:`configure`, or a global one; otherwise every span is the API's no-op span."""
    return _provider is not None or not isinstance(trace.get_tracer_provider(),
                                                   trace.ProxyTracerProvider)


class _SpansWhenOn:
    """Pure ASGI: a request goes through the ASGI instrumentation only while tracing is on
    (with tracing off its span would be a no-op span, and its work about a tenth of a
    ``{ __typename }`` request's)."""

    def __init__(self, app: ASGIApp, traced: ASGIApp) -> None:
        self.app = app
        self.traced = traced

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (self.traced if tracing_on() else self.app)(scope, receive, send)


def http_spans(app: ASGIApp, *, exclude: Sequence[str] = ("receive", "send")) -> ASGIApp:
    """``app`` behind the ASGI instrumentation: one SERVER span per request or WebSocket,
    whenever tracing is on."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    traced: ASGIApp = OpenTelemetryMiddleware(
        app, tracer_provider=PROVIDER, default_span_details=_span_details,
        exclude_spans=list(exclude),  # type: ignore[arg-type]
    )
    return _SpansWhenOn(app, traced)


_embedded = PROVIDER.get_tracer("omnigw.embedded")


@contextmanager
def command_span(database: str, command: str, collection: str | None) -> Iterator[None]:
    """A span for one command of the embedded store, named and attributed as the PyMongo
    instrumentation names a real MongoDB's, lasting as long as the command runs; none where
    instrumentation is suppressed, as with the PyMongo instrumentation."""
    if not is_instrumentation_enabled():
        yield
        return
    span = _embedded.start_span(f"{database}.{command}", kind=SpanKind.CLIENT)
    if span.is_recording():
        span.set_attributes({"db.system": "mongodb", "db.name": database, "db.statement": command})
        if collection:
            span.set_attribute("db.mongodb.collection", collection)
    try:
        yield
    except Exception as exc:
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        raise
    finally:
        span.end()
