// What the client checks share: where the gateway is, its key, plain GraphQL requests, an
// order to place, and a way to say what a check measured. tests/test_clients.py sets the
// environment: OMNIGW_URL (http://127.0.0.1:<port>/graphql), OMNIGW_KEY (an admin key) and
// OMNIGW_LIVE_POLL_INTERVAL_MS (the gateway's polling interval).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";

export const url = process.env.OMNIGW_URL;
export const wsUrl = url.replace(/^http/, "ws");
export const authorization = `Bearer ${process.env.OMNIGW_KEY}`;
export const pollIntervalMs = Number(process.env.OMNIGW_LIVE_POLL_INTERVAL_MS);
assert.ok(url && process.env.OMNIGW_KEY && pollIntervalMs > 0, "run me from tests/test_clients.py");

/** POST one operation; its data, or an exception naming the errors. */
export async function post(query, variables = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { authorization, "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

export const PLACE_ORDER = `mutation PlaceOrder($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id status placedAt total { amount currencyCode } }
                              userErrors { field code message } } }`;

/** Variables of a placeOrder in the flagship online shop (no stock to reserve). */
export function orderInput(member = "mem_00003") {
  return {
    input: {
      channel: "ch_flagship",
      member,
      lines: [{ sku: "sku_aloe_body_wash_1l", quantity: 1 }],
      idempotencyKey: randomUUID(),
    },
  };
}

/** Place an order; its id. */
export async function placeOrder(member) {
  const { placeOrder: result } = await post(PLACE_ORDER, orderInput(member));
  assert.deepEqual(result.userErrors, []);
  return result.order;
}

/** The check's findings, as the last line of its output (tests/test_clients.py reads it). */
export function report(findings) {
  console.log(JSON.stringify(findings));
}

/** Resolve with the value, or fail after `ms`. */
export function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The installed version of an npm package (pinned by package-lock.json). */
export function version(name) {
  const file = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(file, "utf8")).version;
}
