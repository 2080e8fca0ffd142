"""The request deadline (gateway.deadline): set for every HTTP request and for each query or
mutation a client sends over a WebSocket, absent for in-process callers. Its effect on a dead
or frozen database is proven in tests/test_recovery.py."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway import deadline
from gateway.context import make_context
from gateway.database import channels
from gateway.database.scope import ADMIN
from resolvers.schema import build_schema
from tests.support import Gateway, data

QUERY = "{ channels { id } }"


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """What ``deadline.remaining()`` was when the channel list was read."""
    remaining: list[float | None] = []
    original = channels.list_channels

    async def list_channels(*args: Any, **kwargs: Any) -> Any:
        remaining.append(deadline.remaining())
        return await original(*args, **kwargs)

    monkeypatch.setattr(channels, "list_channels", list_channels)
    return remaining


async def test_an_http_request_runs_within_the_deadline(
    client: httpx.AsyncClient, wire_gateway: Gateway, seen: list[float | None]
) -> None:
    await data(client, QUERY)
    timeout = wire_gateway.settings.request_timeout_ms / 1000
    assert len(seen) == 1 and seen[0] is not None and 0 < seen[0] <= timeout


async def test_an_operation_with_a_request_but_no_deadline_gets_one(
    wire_gateway: Gateway, seen: list[float | None]
) -> None:
    # (a query or mutation over a WebSocket: the HTTP middleware set nothing)
    context = make_context(wire_gateway.app.state.db, wire_gateway.settings, ADMIN,
                           request=object())
    result = await build_schema().execute(QUERY, context_value=context)
    assert result.errors is None
    timeout = wire_gateway.settings.request_timeout_ms / 1000
    assert len(seen) == 1 and seen[0] is not None and 0 < seen[0] <= timeout
    assert deadline.remaining() is None  # and it ends with the operation


async def test_in_process_callers_have_no_deadline(
    wire_gateway: Gateway, seen: list[float | None]
) -> None:
    # (omnigw import orders, the benchmark)
    context = make_context(wire_gateway.app.state.db, wire_gateway.settings, ADMIN)
    result = await build_schema().execute(QUERY, context_value=context)
    assert result.errors is None
    assert seen == [None]
