// The graphql-ws reference client (Node, with `ws`): a subscription to a channel's orders
// receives each order placed by a placeOrder mutation, within two polling intervals of the
// mutation's answer. Orders are placed at random moments of the polling cycle; prints the
// latencies (from the mutation's answer to the event).
import assert from "node:assert/strict";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import {
  authorization, percentile, placeOrder, pollIntervalMs, report, version, within, wsUrl,
} from "../lib.mjs";

const ORDERS = 6;
const client = createClient({
  url: wsUrl,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: authorization },
  lazy: false,
  retryAttempts: 0,
});
const connected = new Promise((resolve, reject) => {
  client.on("connected", resolve);
  client.on("closed", (event) => reject(new Error(`closed: ${event.code} ${event.reason}`)));
});
await within(5000, connected, "connection_ack");

const events = client.iterate({
  query: `subscription ChannelOrders($channel: ID!) {
    channelOrders(channel: $channel) { id status member { id } total { amount currencyCode } } }`,
  variables: { channel: "ch_flagship" },
});
const first = events.next();  // sends `subscribe`
await new Promise((resolve) => setTimeout(resolve, 200));  // the server registers it

const latencies = [];
let next = first;
for (let i = 0; i < ORDERS; i += 1) {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * pollIntervalMs));
  const order = await placeOrder("mem_00003");
  const answered = performance.now();
  const { value, done } = await within(5000, next, `the event of ${order.id}`);
  latencies.push(Math.round(performance.now() - answered));
  assert.equal(done, false);
  assert.deepEqual(value.errors, undefined);
  assert.deepEqual(value.data.channelOrders, {
    id: order.id, status: "PLACED", member: { id: "mem_00003" }, total: order.total,
  });
  next = events.next();
}
await events.return();
await client.dispose();

const limit = 2 * pollIntervalMs;
assert.ok(Math.max(...latencies) <= limit,
  `event latency ${Math.max(...latencies)} ms, more than two polling intervals (${limit} ms)`);
report({
  client: "graphql-ws", version: version("graphql-ws"), ws: version("ws"),
  events: latencies.length, pollIntervalMs,
  latencyMs: { p50: percentile(latencies, 50), max: Math.max(...latencies), all: latencies },
});
