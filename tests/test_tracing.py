"""OpenTelemetry spans, read with the SDK's in-memory exporter: the HTTP request (ASGI
instrumentation) > the GraphQL operation (semantic-convention attributes) > DataLoader
batches > MongoDB commands (PyMongo instrumentation, or the embedded store's own), with
real durations on both stores."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from gateway.admission.throttle import LEASE_SECONDS
from gateway.commerce.reservations import Sweeper
from gateway.telemetry import tracing
from gateway.telemetry.watchdog import Watchdog
from tests.support import DATABASE, Gateway, embedded_settings, running_gateway

MEMBER = """query MemberWithChannels($id: ID!) {
  member(id: $id) { id identities { channel { id } } }
  channels { id }
  products(first: 2, filter: {category: "grocery"}) { edges { node { sku } } } }"""
STRIPPED = """query MemberWithChannels($id: ID!) {
  member(id: $id) {
    id
    identities {
      channel {
        id
      }
    }
  }
  channels {
    id
  }
  products(first: ?, filter: { category: ? }) {
    edges {
      node {
        sku
      }
    }
  }
}"""
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    try:
        yield exporter
    finally:
        tracing.use_provider(None)
        provider.shutdown()


def of_requests(finished: list[ReadableSpan], trace_id: str) -> list[ReadableSpan]:
    """The spans that are not background work: the reservation sweeper and the live poller
    trace each round under a root of its own (``omnigw <job>``), and a round may end while a
    test runs. A request's span that started a trace of its own would still be kept."""
    def background(span: ReadableSpan) -> bool:
        if format(span.context.trace_id, "032x") == trace_id:
            return False
        return span.parent is not None or span.name.startswith("omnigw ")
    return [s for s in finished if not background(s)]


def parent_of(span: ReadableSpan, finished: list[ReadableSpan]) -> ReadableSpan | None:
    assert span.parent is not None
    return next((s for s in finished if s.context.span_id == span.parent.span_id), None)


@pytest.mark.parametrize("store", ["wire", "embedded"])
async def test_one_tree_request_operation_batches_commands(
    store: str, client: httpx.AsyncClient, embedded_client: httpx.AsyncClient,
    spans: InMemorySpanExporter,
) -> None:
    caller = client if store == "wire" else embedded_client
    await caller.post("/graphql", json={"query": "{ __typename }"})  # the key is looked up
    await asyncio.sleep(LEASE_SECONDS * 2)  # and the bucket's lease is too old to spend
    spans.clear()
    # when a caller that continues a trace runs a named query with literals
    response = await caller.post(
        "/graphql", headers={"traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-01"},
        json={"query": MEMBER, "variables": {"id": "mem_00001"}})
    assert "errors" not in response.json()
    finished = of_requests(list(spans.get_finished_spans()), TRACE_ID)
    # then every span is in the caller's trace
    assert {format(s.context.trace_id, "032x") for s in finished} == {TRACE_ID}
    # the request's span comes from the ASGI instrumentation, with our request id
    [request] = [s for s in finished if s.name == "POST /graphql"]
    assert request.kind is SpanKind.SERVER
    assert request.instrumentation_scope is not None
    assert request.instrumentation_scope.name == "opentelemetry.instrumentation.asgi"
    attributes = dict(request.attributes or {})
    assert {k: attributes.get(k) for k in ("http.status_code", "http.route", "request.id")} == {
        "http.status_code": 200, "http.route": "/graphql",
        "request.id": response.headers["x-request-id"]}
    # the operation's span is beneath it, with the conventions' name and attributes
    [operation] = [s for s in finished if s.name == "query"]
    assert parent_of(operation, finished) is request
    assert dict(operation.attributes or {}) == {
        "graphql.operation.type": "query", "graphql.operation.name": "MemberWithChannels",
        "graphql.document": STRIPPED}
    # each DataLoader batch beneath the operation, each command beneath its batch or, for
    # root lists read by one repository call, the operation
    batches = [s for s in finished if s.name.startswith("dataloader ")]
    assert sorted(s.name for s in batches) == [
        "dataloader channels_by_id", "dataloader identities_by_member",
        "dataloader members_by_id"]
    assert all(parent_of(b, finished) is operation for b in batches)
    commands = [s for s in finished if s.kind is SpanKind.CLIENT]
    database = DATABASE if store == "wire" else "omnigw"
    # (on MongoDB the key's leaky bucket is shared by every process: one findAndModify)
    bucket = [("query", f"{database}.findAndModify", "rate_limits")] if store == "wire" else []
    assert sorted((parent_of(c, finished).name, c.name,  # type: ignore[union-attr]
                   (c.attributes or {})["db.mongodb.collection"]) for c in commands) == [
        ("dataloader channels_by_id", f"{database}.find", "channels"),
        ("dataloader identities_by_member", f"{database}.find", "identities"),
        ("dataloader members_by_id", f"{database}.find", "members"),
        ("query", f"{database}.find", "channels"),
        ("query", f"{database}.find", "products"),
        *bucket,
    ]
    scope = "opentelemetry.instrumentation.pymongo" if store == "wire" else "omnigw.embedded"
    for command in commands:
        assert command.instrumentation_scope is not None
        assert command.instrumentation_scope.name == scope
        assert (command.attributes or {})["db.system"] == "mongodb"
        # a real duration: the command's time, not an instant
        assert command.end_time is not None and command.start_time is not None
        assert command.end_time > command.start_time


async def test_a_refused_document_is_an_operation_span_in_error(
    client: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    await client.post("/graphql", json={"query": "{ channels { nope } }"})
    [operation] = [s for s in spans.get_finished_spans() if s.name == "query"]
    assert operation.status.status_code is StatusCode.ERROR
    assert dict(operation.attributes or {}) == {
        "graphql.operation.type": "query", "graphql.document": "{\n  channels {\n    nope\n  }\n}",
        "graphql.error.codes": ("GRAPHQL_VALIDATION_FAILED",)}


async def test_a_document_that_does_not_parse_names_no_operation(
    client: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    await client.post("/graphql", json={"query": "query Broken {"})
    [operation] = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER
                   and s.name != "POST /graphql"]
    assert operation.name == "GraphQL Operation"
    assert operation.status.status_code is StatusCode.ERROR
    assert dict(operation.attributes or {}) == {"graphql.error.codes": ("GRAPHQL_PARSE_FAILED",)}


@pytest.fixture(scope="module")
async def quiet_gateway() -> Iterator[Gateway]:  # type: ignore[misc]
    async for gateway in running_gateway(embedded_settings(trace_document=False)):
        yield gateway


async def test_the_document_can_be_left_off(
    quiet_gateway: Gateway, spans: InMemorySpanExporter
) -> None:
    async with quiet_gateway.client(await quiet_gateway.key("quiet", "admin")) as caller:
        response = await caller.post("/graphql", json={"query": "mutation { __typename }"})
    assert response.json()["data"] == {"__typename": "Mutation"}
    [operation] = [s for s in spans.get_finished_spans() if s.name == "mutation"]
    assert dict(operation.attributes or {}) == {"graphql.operation.type": "mutation"}


async def test_no_span_is_recorded_when_tracing_is_off(client: httpx.AsyncClient) -> None:
    # the global provider is the API's no-op one unless OTEL_EXPORTER_OTLP_ENDPOINT is set
    assert tracing.configure() is None
    with tracing.tracer().start_as_current_span("x") as span:
        assert not span.is_recording()


def test_otlp_export_turns_on_with_its_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    # given the standard OTLP endpoint variable (nothing is sent: no span is made)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    provider = tracing.configure()
    try:
        # then the gateway's spans go to an SDK provider, exporting by OTLP
        assert isinstance(provider, TracerProvider)
        assert tracing.tracer().start_span("never ended, so never exported").is_recording()
        processors = provider._active_span_processor._span_processors
        assert [type(p.span_exporter).__name__ for p in processors] == ["OTLPSpanExporter"]
    finally:
        tracing.use_provider(None)
        provider.shutdown()


@pytest.mark.parametrize("store", ["wire", "embedded"])
async def test_background_rounds_are_traces_of_their_own_and_pings_are_not_traced(
    store: str, wire_gateway: Gateway, embedded_gateway: Gateway,
    spans: InMemorySpanExporter,
) -> None:
    db = (wire_gateway if store == "wire" else embedded_gateway).app.state.db
    # when a reservation sweeper makes a pass and a liveness watchdog pings
    sweeper = Sweeper(db, interval=60, timeout=5)
    watchdog = Watchdog(db, stuck_after=10, interval=60)
    sweeper.start()
    watchdog.start()
    try:
        for _ in range(500):  # 5 s at most
            if sweeper.passes and watchdog.pings:
                break
            await asyncio.sleep(0.01)
    finally:
        await sweeper.stop()
        await watchdog.stop(seconds=1)
    assert sweeper.passes and watchdog.pings
    finished = list(spans.get_finished_spans())
    # then each pass is one trace: a root `omnigw reservation sweep`, its commands beneath
    # (the session gateways' own sweepers may pass meanwhile too, as traces of their own; a
    # pass that began before this test set its tracer has no root: not counted here)
    roots = [s for s in finished if s.name == "omnigw reservation sweep"]
    assert roots and all(r.parent is None and r.kind is SpanKind.INTERNAL for r in roots)
    commands = [s for s in finished if s.kind is SpanKind.CLIENT]
    for root in roots:
        mine = [c for c in commands if c.context.trace_id == root.context.trace_id]
        assert mine and all(parent_of(c, finished) is root for c in mine)
    # and the ping left no span
    assert not [s for s in finished if s.name.endswith(".ping")]


async def test_requests_pass_the_asgi_instrumentation_only_while_tracing_is_on(
    client: httpx.AsyncClient,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    # off (no provider): no span is made, and the request is answered as ever
    assert not tracing.tracing_on()
    response = await client.post("/graphql", json={"query": "{ __typename }"})
    assert response.json()["data"] == {"__typename": "Query"}
    assert response.headers["x-request-id"]
    # on, for the same app: the request's span comes from the ASGI instrumentation again
    tracing.use_provider(provider)
    try:
        assert tracing.tracing_on()
        await client.post("/graphql", json={"query": "{ __typename }"})
    finally:
        tracing.use_provider(None)
    names = {s.name: s.instrumentation_scope for s in exporter.get_finished_spans()}
    assert names["POST /graphql"] is not None
    assert names["POST /graphql"].name == "opentelemetry.instrumentation.asgi"
