"""gql, the Python GraphQL client, with its websockets transport (graphql-transport-ws): a
subscription to a member's activity receives the order a placeOrder mutation (sent with gql's
httpx transport) creates, within two polling intervals of the mutation's answer."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from importlib.metadata import version

from gql import Client, gql
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

URL = os.environ["OMNIGW_URL"]
AUTHORIZATION = f"Bearer {os.environ['OMNIGW_KEY']}"
INTERVAL_MS = int(os.environ["OMNIGW_LIVE_POLL_INTERVAL_MS"])
MEMBER = "mem_00005"

ACTIVITY = gql("""subscription($member: ID!) { memberActivity(member: $member) {
  __typename id at ... on Order { status total { amount currencyCode } } } }""")
PLACE = gql("""mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id status total { amount currencyCode } } userErrors { code message } } }""")


async def main() -> None:
    live = Client(transport=WebsocketsTransport(
        url=URL.replace("http", "ws", 1), init_payload={"Authorization": AUTHORIZATION},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL]))
    http = Client(transport=HTTPXAsyncTransport(url=URL, headers={"Authorization": AUTHORIZATION}))
    async with live as subscriber, http as writer:
        events = subscriber.subscribe(ACTIVITY, variable_values={"member": MEMBER})
        first = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.3)  # the server registers the subscription
        placed = await writer.execute(PLACE, variable_values={"input": {
            "channel": "ch_flagship", "member": MEMBER, "idempotencyKey": str(uuid.uuid4()),
            "lines": [{"sku": "sku_aloe_body_wash_1l", "quantity": 2}]}})
        answered = time.monotonic()
        assert placed["placeOrder"]["userErrors"] == [], placed
        order = placed["placeOrder"]["order"]
        event = await asyncio.wait_for(first, 5)
        latency_ms = round((time.monotonic() - answered) * 1000)
        await events.aclose()
    activity = event["memberActivity"]
    assert activity["__typename"] == "Order" and activity["id"] == order["id"], activity
    assert (activity["status"], activity["total"]) == ("PLACED", order["total"]), activity
    assert latency_ms <= 2 * INTERVAL_MS, f"event after {latency_ms} ms"
    print(json.dumps({"client": "gql", "version": version("gql"),
                      "transport": f"websockets {version('websockets')}",
                      "pollIntervalMs": INTERVAL_MS, "latencyMs": latency_ms}))


asyncio.run(main())
