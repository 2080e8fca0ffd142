"""The embedded store answers every analytics query exactly as MongoDB does (demo data):
the same JSON, database command counts included."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import gql
from tests.test_analytics import CONVERSION, FOOTFALL, REACH, SALES, SINCE, TOP, UNTIL

WINDOW = {"since": SINCE, "until": UNTIL}
HOURS = {"since": "2026-06-01T00:00:00Z", "until": "2026-06-20T00:00:00Z"}


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (FOOTFALL, {**WINDOW, "bucket": "WEEK"}),
        (FOOTFALL, {**WINDOW, "bucket": "DAY"}),
        (FOOTFALL, {**HOURS, "bucket": "HOUR"}),
        (SALES, {**WINDOW, "bucket": "WEEK"}),
        (SALES, {**HOURS, "bucket": "HOUR"}),
        (TOP, {"first": 5}),
        (CONVERSION, {}),
        (REACH, WINDOW),
    ],
    ids=["footfall-week", "footfall-day", "footfall-hour", "sales-week", "sales-hour",
         "top-products", "conversion", "reach"],
)
async def test_embedded_store_gives_the_same_answer(
    client: httpx.AsyncClient, embedded_client: httpx.AsyncClient,
    query: str, variables: dict[str, Any],
) -> None:
    wire = await gql(client, query, variables)
    assert "errors" not in wire, wire["errors"]
    assert await gql(embedded_client, query, variables) == wire
