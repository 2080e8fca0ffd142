// Apollo Client 4 with its defaults: an HTTP link for queries and mutations, GraphQLWsLink
// (graphql-ws) for subscriptions, and an InMemoryCache with no custom keyFields: every object
// it normalizes is keyed by its `id`. A query with variables, fetchMore forward and backward
// with relayStylePagination, mutations whose payloads update the normalized cache, and a
// subscription whose events land in it. Any warning from Apollo Client fails the check.
import assert from "node:assert/strict";
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { loadDevMessages, loadErrorMessages } from "@apollo/client/dev";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition, relayStylePagination } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import {
  authorization, placeOrder, post, report, url, version, within, wsUrl,
} from "../lib.mjs";

loadDevMessages();
loadErrorMessages();
const warnings = [];
for (const level of ["warn", "error"]) {
  const original = console[level];
  console[level] = (...args) => {
    warnings.push(args.map(String).join(" "));
    original(...args);
  };
}

// Fragments on the Activity interface need the schema's possible types (Apollo's docs).
const { __schema } = await post("{ __schema { types { name possibleTypes { name } } } }");
const possibleTypes = Object.fromEntries(__schema.types
  .filter((t) => t.possibleTypes && !t.name.startsWith("_"))
  .map((t) => [t.name, t.possibleTypes.map((p) => p.name)]));

const wsClient = createClient({
  url: wsUrl, webSocketImpl: WebSocket, connectionParams: { Authorization: authorization },
});
const isSubscription = ({ query }) => {
  const definition = getMainDefinition(query);
  return definition.kind === "OperationDefinition" && definition.operation === "subscription";
};
const client = new ApolloClient({
  link: ApolloLink.split(isSubscription, new GraphQLWsLink(wsClient),
    new HttpLink({ uri: url, headers: { authorization } })),
  cache: new InMemoryCache({
    possibleTypes,
    typePolicies: {
      Query: { fields: { orders: relayStylePagination(["filter"]) } },
      Member: { fields: { history: relayStylePagination(["channels", "kinds", "since", "until"]) } },
    },
  }),
});

// 1. A query with variables: the member, its identities and its timeline are normalized by id.
const MEMBER = gql`query Member($id: ID!, $count: Int!, $cursor: String) {
  member(id: $id) {
    id name tier
    identities { id channelId externalId }
    history(first: $count, after: $cursor) {
      edges { cursor node { __typename id at
        ... on Order { status total { amount currencyCode } }
        ... on Payment { status amount { amount currencyCode } }
        ... on Visit { kind } } }
      pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
    }
  }
}`;
const { data: first } = await client.query({ query: MEMBER, variables: { id: "mem_00003", count: 4 } });
assert.equal(first.member.history.edges.length, 4);
let stored = client.cache.extract();
assert.ok(stored["Member:mem_00003"], "the member is normalized");
for (const identity of first.member.identities) {
  assert.ok(stored[`Identity:${identity.id}`], `identity ${identity.id} is normalized`);
}
for (const { node } of first.member.history.edges) {
  assert.ok(stored[`${node.__typename}:${node.id}`], `${node.id} is normalized`);
}

// 2. fetchMore with relayStylePagination, on a member's timeline and on the orders list,
// forward (first/after) and backward (last/before): the pages merge in the cache.
const timeline = client.watchQuery({ query: MEMBER, variables: { id: "mem_00003", count: 4 } });
await timeline.fetchMore({ variables: { cursor: first.member.history.pageInfo.endCursor } });
const merged = client.readQuery({ query: MEMBER, variables: { id: "mem_00003", count: 4 } });
const { member: eight } = await post(`query($id: ID!) { member(id: $id) {
  history(first: 8) { edges { node { id } } } } }`, { id: "mem_00003" });
assert.deepEqual(merged.member.history.edges.map((e) => e.node.id),
  eight.history.edges.map((e) => e.node.id));

const ORDERS = gql`query Orders($filter: OrderFilter, $first: Int, $after: String,
                                $last: Int, $before: String) {
  orders(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id status placedAt } }
    pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
  }
}`;
const filter = { member: "mem_00002" };
const all = (await post(`query($filter: OrderFilter) { orders(filter: $filter, first: 100) {
  edges { node { id } } } }`, { filter })).orders.edges.map((e) => e.node.id);
const { data: page1 } = await client.query({ query: ORDERS, variables: { filter, first: 3 } });
const forward = client.watchQuery({ query: ORDERS, variables: { filter, first: 3 } });
await forward.fetchMore({ variables: { after: page1.orders.pageInfo.endCursor } });
let orders = client.readQuery({ query: ORDERS, variables: { filter, first: 3 } }).orders;
assert.deepEqual(orders.edges.map((e) => e.node.id), all.slice(0, 6));
assert.equal(orders.pageInfo.hasNextPage, true);

const tail = { member: "mem_00004" };
const tailAll = (await post(`query($filter: OrderFilter) { orders(filter: $filter, first: 100) {
  edges { node { id } } } }`, { filter: tail })).orders.edges.map((e) => e.node.id);
const { data: last1 } = await client.query({ query: ORDERS, variables: { filter: tail, last: 3 } });
const backward = client.watchQuery({ query: ORDERS, variables: { filter: tail, last: 3 } });
assert.equal(last1.orders.pageInfo.hasNextPage, false);
await backward.fetchMore({ variables: { last: 3, before: last1.orders.pageInfo.startCursor } });
orders = client.readQuery({ query: ORDERS, variables: { filter: tail, last: 3 } }).orders;
assert.deepEqual(orders.edges.map((e) => e.node.id), tailAll.slice(-6));
assert.equal(orders.pageInfo.hasPreviousPage, true);

// 3. Mutation payloads update what is cached: an order's status, and a stock level.
const placed = await placeOrder("mem_00003");
const ORDER = gql`query Order($id: ID!) { order(id: $id) { id status } }`;
assert.equal((await client.query({ query: ORDER, variables: { id: placed.id } })).data.order.status,
  "PLACED");
await client.mutate({
  mutation: gql`mutation Cancel($order: ID!) { cancelOrder(order: $order) {
    order { id status } userErrors { code } } }`,
  variables: { order: placed.id },
});
assert.equal(client.readQuery({ query: ORDER, variables: { id: placed.id } }).order.status,
  "CANCELLED");

const STOCK = gql`query Stock($sku: ID!, $location: ID!) {
  product(sku: $sku) { id sku stock(location: $location) { id onHand reserved available } } }`;
const where = { sku: "sku_aloe_body_wash_1l", location: "loc_fm_beijing_chaoyang" };
const { data: stock } = await client.query({ query: STOCK, variables: where });
await client.mutate({
  mutation: gql`mutation Adjust($sku: ID!, $location: ID!, $expected: Int!) {
    adjustStock(sku: $sku, location: $location, delta: 5, reason: "delivery",
                expectedOnHand: $expected) {
      stock { id onHand reserved available } userErrors { code } } }`,
  variables: { ...where, expected: stock.product.stock.onHand },
});
assert.equal(client.readQuery({ query: STOCK, variables: where }).product.stock.onHand,
  stock.product.stock.onHand + 5);

// 4. A subscription through GraphQLWsLink: its event is normalized like any other result.
const events = [];
const subscription = client.subscribe({
  query: gql`subscription ChannelOrders($channel: ID!) {
    channelOrders(channel: $channel) { id status member { id } } }`,
  variables: { channel: "ch_flagship" },
}).subscribe({ next: (event) => events.push(event) });
await new Promise((resolve) => setTimeout(resolve, 300));
const live = await placeOrder("mem_00003");
await within(5000, (async () => {
  while (!events.some((e) => e.data?.channelOrders?.id === live.id)) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
})(), "the subscription event");
stored = client.cache.extract();
assert.equal(stored[`Order:${live.id}`].status, "PLACED");
subscription.unsubscribe();

await wsClient.dispose();
client.stop();
assert.deepEqual(warnings, []);
report({ client: "@apollo/client", version: version("@apollo/client"),
  link: `GraphQLWsLink over graphql-ws ${version("graphql-ws")}`,
  normalized: Object.keys(stored).length });
