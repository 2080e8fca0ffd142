"""/metrics: requests by status and code (refusals before execution included), bounded
operation labels, the guard in production mode, and promtool's verdict on the output."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import create_app
from tests.support import Gateway, embedded_settings, running_gateway

MEMBER = """query MemberWithChannels($id: ID!) {
  member(id: $id) { id identities { channel { id } } } }"""
# 1 + 100 x (node 1 + member 2): 301 points, more than half of the bucket below
HUNDRED_ORDERS = "query Hundred { orders(first: 100) { edges { node { id member { id } } } } }"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
async def gateway() -> AsyncIterator[Gateway]:
    """A gateway that knows one operation name, with a small body limit and a bucket of 400
    points per key (every request pays at least one)."""
    settings = embedded_settings(metrics_operations=("MemberWithChannels",),
                                 max_body_bytes=2000, throttle_bucket_size=400,
                                 throttle_restore_rate=1)
    async for gateway in running_gateway(settings):
        yield gateway


@pytest.fixture(scope="module")
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway.client(await gateway.key("metrics-admin", "admin")) as client:
        yield client


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def samples(client: httpx.AsyncClient) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(await scrape(client))
        for s in family.samples
    }


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_operations_errors_commands_and_batches(client: httpx.AsyncClient) -> None:
    # given the counters before
    before = await samples(client)
    # when one known operation runs and one anonymous one fails validation
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
    assert delta(before, after, "omnigw_http_requests_total", route="/graphql", status="200",
                 code="none") == 1
    assert delta(before, after, "omnigw_http_requests_total", route="/graphql", status="200",
                 code="GRAPHQL_VALIDATION_FAILED") == 1
    for collection in ("members", "identities", "channels"):
        assert delta(before, after, "omnigw_db_commands_total",
                     collection=collection, command="find") == 1
    assert delta(before, after, "omnigw_dataloader_batch_size_count",
                 loader="identities_by_member") == 1
    assert delta(before, after, "omnigw_dataloader_batch_size_sum",
                 loader="identities_by_member") == 1
    assert ("omnigw_live_subscriptions", (("field", "memberActivity"),)) in after


async def test_refusals_before_execution_are_counted_by_status_and_code(
    gateway: Gateway, client: httpx.AsyncClient
) -> None:
    # given the counters before
    before = await samples(client)
    # when requests are refused: no key, a body past the limit, a document that does not
    # parse (classic JSON and GraphQL-over-HTTP), an unknown persisted query, a body that is
    # not JSON, and a key whose bucket ran dry
    async with gateway.client(None) as anonymous:
        assert (await anonymous.post("/graphql", json={"query": "{ __typename }"})
                ).status_code == 401
    assert (await client.post("/graphql", json={"query": "{ " + "x " * 1500 + "}"})
            ).status_code == 413
    assert (await client.post("/graphql", json={"query": "{"})).status_code == 200
    assert (await client.post("/graphql", json={"query": "{"}, headers={
        "accept": "application/graphql-response+json"})).status_code == 400
    apq = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}}
    assert (await client.post("/graphql", json=apq)).json()["errors"][0]["extensions"][
        "code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert (await client.post("/graphql", content=b"{}", headers={
        "content-type": "text/plain"})).status_code == 415
    async with gateway.client(await gateway.key("metrics-dry", "admin")) as dry:
        first = (await dry.post("/graphql", json={"query": HUNDRED_ORDERS})).json()
        second = (await dry.post("/graphql", json={"query": HUNDRED_ORDERS})).json()
    assert "errors" not in first
    assert [e["extensions"]["code"] for e in second["errors"]] == ["THROTTLED"]
    after = await samples(client)
    # then each is counted once by route, status and code, and once as an error by code
    expected = [("401", "UNAUTHENTICATED"), ("413", "QUERY_TOO_COMPLEX"),
                ("200", "GRAPHQL_PARSE_FAILED"), ("400", "GRAPHQL_PARSE_FAILED"),
                ("200", "PERSISTED_QUERY_NOT_FOUND"), ("415", "BAD_REQUEST"), ("200", "THROTTLED")]
    for status, code in expected:
        assert delta(before, after, "omnigw_http_requests_total", route="/graphql",
                     status=status, code=code) == 1, (status, code)
    for code, times in [("UNAUTHENTICATED", 1), ("QUERY_TOO_COMPLEX", 1),
                        ("GRAPHQL_PARSE_FAILED", 2), ("PERSISTED_QUERY_NOT_FOUND", 1),
                        ("BAD_REQUEST", 1), ("THROTTLED", 1), ("INTERNAL", 0)]:
        assert delta(before, after, "omnigw_graphql_errors_total", code=code) == times, code


async def test_a_flood_of_invented_operation_names_adds_no_series(
    gateway: Gateway, client: httpx.AsyncClient,
) -> None:
    # given one unknown name already seen, and /metrics already read once
    await client.post("/graphql", json={"query": "query Unknown { __typename }"})
    await samples(client)
    before = await samples(client)
    # when a client sends 300 operations, each under a new random name
    async with gateway.client(await gateway.key("metrics-flood", "admin")) as flood:
        responses = [await flood.post("/graphql", json={
            "query": f"query Op{uuid.uuid4().hex} {{ __typename }}"}) for _ in range(300)]
    for response in responses:
        assert response.json().get("data") == {"__typename": "Query"}, response.json()
    after = await samples(client)
    # then not one series was added: they all count as "other"
    assert sorted(after) == sorted(before)
    assert delta(before, after, "omnigw_graphql_requests_total", operation="other") == 300
    assert not [key for key in after if "Op" in str(key[1])]


async def test_metrics_output_passes_promtool(client: httpx.AsyncClient) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: install the Debian package 'prometheus' "
                    "(make test does it when run as root)", pytrace=False)
    await client.post("/graphql", json={"query": MEMBER, "variables": {"id": "mem_00001"}})
    text = await scrape(client)
    checked = await asyncio.to_thread(subprocess.run, [promtool, "check", "metrics"], input=text,
                                      capture_output=True, text=True, timeout=60, check=False)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")


async def get_metrics(production: bool, key: str | None, sent: str | None) -> httpx.Response:
    settings = embedded_settings(production=production, metrics_key=key)
    app = create_app(settings)  # /metrics needs no database: the lifespan is not entered
    headers = {"Authorization": f"Bearer {sent}"} if sent else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://gateway") as c:
        return await c.get("/metrics", headers=headers)


@pytest.mark.parametrize(
    ("production", "key", "sent", "status"),
    [(False, None, None, 200),  # development: open
     (True, None, None, 404),  # production without a metrics key: not served
     (True, None, "anything", 404),
     (True, "scrape-secret-16ch", None, 401),
     (True, "scrape-secret-16ch", "wrong-secret-16chars", 401),
     (True, "scrape-secret-16ch", "scrape-secret-16ch", 200),
     (False, "scrape-secret-16ch", None, 401)],  # a key set is a key required, in any mode
)
async def test_metrics_are_behind_a_key_in_production_mode(
    production: bool, key: str | None, sent: str | None, status: int
) -> None:
    response = await get_metrics(production, key, sent)
    assert response.status_code == status
    if status == 200:
        assert "omnigw_http_requests_total" in response.text
    else:
        assert "omnigw_" not in response.text
