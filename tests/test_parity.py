"""The embedded store (under `make serve`) and the wire server answer the same JSON."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import data
from tests.test_member360 import FIELDS_360

QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("{ channels { id name kind currency country timeZone locations { id kind city } } }", {}),
    ("""query($after: String) { products(first: 15, after: $after,
        filter: {channel: "ch_th_market"}) { edges { cursor node { sku name offers {
        channel { id } price { amount currencyCode minorUnits } available } } }
        pageInfo { hasNextPage endCursor } } }""", {}),
    ("query($first: Int!) { members(first: $first) { edges { cursor node {" + FIELDS_360
     + "} } pageInfo { hasNextPage endCursor } } }", {"first": 3}),
    ("""{ orders(first: 30, filter: {channels: ["ch_villagelink"], statuses: [PAID, COMPLETED],
        since: "2026-04-01T00:00:00Z"}) { edges { cursor node { id total { amount }
        lines { sku product { brand } lineTotal { minorUnits } } payments { method } } } } }""",
     {}),
    ("""{ visits(first: 40, filter: {kinds: [STORE_VISIT, LIVESTREAM_VIEW]}) {
        edges { node { id kind source at member { id tier } location { name } } } } }""", {}),
    ("""{ memberByIdentity(channel: "ch_freshmart", externalId: "FM-100003") { id
        usd: lifetimeValue(currency: "USD") { amount } history(first: 5, kinds: [PAYMENT]) {
        edges { node { ... on Payment { method amount { amount } order { id status } } } } } } }""",
     {}),
    ("""{ a: node(id: "loc_fm_beijing_chaoyang") { id ... on Location { channel { id } } }
        b: node(id: "ord_0000042") { id ... on Order { member { id } } } }""", {}),
]


@pytest.mark.parametrize(("query", "variables"), QUERIES)
async def test_embedded_store_answers_like_the_wire_server(
    client: httpx.AsyncClient, embedded_client: httpx.AsyncClient, query: str,
    variables: dict[str, Any],
) -> None:
    wire = await data(client, query, variables)
    embedded = await data(embedded_client, query, variables)
    assert embedded == wire
    assert None not in wire.values()
