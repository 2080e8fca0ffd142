"""JSON log lines carrying the request id (gateway/telemetry/logs.py)."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from gateway.telemetry.logs import JsonFormatter, request_id


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
