"""/metrics, OpenTelemetry spans and JSON logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from gateway import tracing
from gateway.observability import JsonFormatter, request_id

MEMBER = """query MemberWithChannels($id: ID!) {
  member(id: $id) { id identities { channel { id } } } }"""


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def samples(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_metrics_count_operations_errors_commands_and_batches(
    client: httpx.AsyncClient,
) -> None:
    # given the counters before
    before = await samples(client)
    # when one named operation runs and one fails validation
    body = (await client.post("/graphql", json={"query": MEMBER,
                                                "variables": {"id": "mem_00001"}})).json()
    assert "errors" not in body
    await client.post("/graphql", json={"query": "{ nope }"})
    after = await samples(client)
    # then
    assert delta(before, after, "omnigw_graphql_requests_total",
                 operation="MemberWithChannels") == 1
    assert delta(before, after, "omnigw_graphql_request_duration_seconds_count",
                 operation="MemberWithChannels") == 1
    assert delta(before, after, "omnigw_graphql_requests_total", operation="anonymous") == 1
    assert delta(before, after, "omnigw_graphql_errors_total",
                 code="GRAPHQL_VALIDATION_FAILED") == 1
    assert delta(before, after, "omnigw_db_commands_total",
                 collection="members", command="find") == 1
    assert delta(before, after, "omnigw_db_commands_total",
                 collection="identities", command="find") == 1
    assert delta(before, after, "omnigw_db_commands_total",
                 collection="channels", command="find") == 1
    assert delta(before, after, "omnigw_dataloader_batch_size_count",
                 loader="identities_by_member") == 1
    assert delta(before, after, "omnigw_dataloader_batch_size_sum",
                 loader="identities_by_member") == 1
    assert ("omnigw_live_subscriptions", (("field", "memberActivity"),)) in after


def test_operation_labels_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway import metrics

    monkeypatch.setattr(metrics, "_seen_operations", set())
    monkeypatch.setattr(metrics, "MAX_OPERATION_NAMES", 2)
    assert [metrics.operation_label(n) for n in
            [None, "A", "B", "C", "A", "a-b", "x" * 101]] == [
        "anonymous", "A", "B", "other", "A", "invalid", "invalid"]


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


async def test_spans_for_the_request_each_batch_and_each_command(
    client: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    # given a caller that continues a trace
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    headers = {"traceparent": f"00-{trace_id}-b7ad6b7169203331-01"}
    # when a query follows two relations
    response = await client.post(
        "/graphql", headers=headers, json={"query": MEMBER, "variables": {"id": "mem_00001"}}
    )
    assert "errors" not in response.json()
    # then the spans form one tree: request > batch > command
    finished = spans.get_finished_spans()
    by_name: dict[str, ReadableSpan] = {s.name: s for s in finished}
    assert sorted(by_name) == [
        "POST /graphql",
        "dataloader channels_by_id", "dataloader identities_by_member",
        "dataloader members_by_id",
        "mongodb.find",
        "mongodb.findAndModify",  # the key's bucket (gateway/throttle.py)
    ]
    assert len([s for s in finished if s.name == "mongodb.find"]) == 3
    assert {format(s.context.trace_id, "032x") for s in finished} == {trace_id}
    request = by_name["POST /graphql"]
    assert request.attributes is not None
    assert request.attributes["request.id"] == response.headers["x-request-id"]
    assert request.attributes["http.response.status_code"] == 200
    batches = {s.context.span_id: s for s in finished if s.name.startswith("dataloader")}
    for batch in batches.values():
        assert batch.parent is not None and batch.parent.span_id == request.context.span_id
    commands = [s for s in finished if s.name == "mongodb.find"]
    assert sorted(
        (batches[c.parent.span_id].name, (c.attributes or {})["db.collection.name"])
        for c in commands if c.parent is not None
    ) == [("dataloader channels_by_id", "channels"),
          ("dataloader identities_by_member", "identities"),
          ("dataloader members_by_id", "members")]


async def test_no_spans_are_kept_when_tracing_is_off(client: httpx.AsyncClient) -> None:
    # the global provider is the API's no-op one unless OTEL_EXPORTER_OTLP_ENDPOINT is set
    assert tracing.configure() is None
    with tracing.tracer().start_as_current_span("x") as span:
        assert not span.is_recording()


async def test_log_lines_are_json_with_the_request_id(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # when a request runs
    with caplog.at_level(logging.INFO, logger="gateway.access"):
        response = await client.get("/healthz", headers={"X-Request-Id": "req-42"})
    # then its access line, formatted as JSON, carries the request id
    record = next(r for r in caplog.records if r.name == "gateway.access")
    token = request_id.set("req-42")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token)
    assert response.headers["x-request-id"] == "req-42"
    assert {k: line[k] for k in ("level", "logger", "message", "method", "path", "status",
                                "request_id")} == {
        "level": "INFO", "logger": "gateway.access", "message": "GET /healthz 200",
        "method": "GET", "path": "/healthz", "status": 200, "request_id": "req-42"}
    assert isinstance(line["duration_ms"], float)


def test_otlp_export_turns_on_with_its_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    # given the standard OTLP endpoint variable (nothing is sent: no span is made)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    provider = tracing.configure()
    try:
        # then the gateway's tracer is an SDK tracer, exporting by OTLP
        assert isinstance(provider, TracerProvider)
        assert type(tracing.tracer()).__module__ == "opentelemetry.sdk.trace"
        processors = provider._active_span_processor._span_processors
        assert [type(p.span_exporter).__name__ for p in processors] == ["OTLPSpanExporter"]
    finally:
        tracing.use_provider(None)
        provider.shutdown()
