// A small partner subgraph (Apollo Server + @apollo/subgraph) for the federation test.
// It extends the brand's Member with partner fields and returns shipments that reference the
// brand's Order by id. Listens on 127.0.0.1:$PORT and prints "ready <url>" when it does.
import { readFileSync } from "node:fs";

import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { parse } from "graphql";

const typeDefs = parse(readFileSync(new URL("./partner.graphql", import.meta.url), "utf8"));

// The partner's own data: its accounts know the customer's marketplace id and, once linked,
// the brand's member id; its shipments know the brand's order id.
const accounts = [
  { accountId: "KX-1001", serviceLevel: "EXPRESS", memberId: "mem_00042",
    identity: { channelId: "ch_my_market", externalId: "mym_3195666324" } },
  { accountId: "KX-1002", serviceLevel: "STANDARD", memberId: "mem_00025",
    identity: { channelId: "ch_my_market", externalId: "mym_3227619563" } },
];
const shipments = [
  { id: "shp_1", trackingNumber: "KX4170001MY", status: "DELIVERED", accountId: "KX-1001",
    orderId: "ord_0000417" },
  { id: "shp_2", trackingNumber: "KX4440002MY", status: "DELIVERED", accountId: "KX-1001",
    orderId: "ord_0000444" },
  { id: "shp_3", trackingNumber: "KX7180003MY", status: "RETURNED", accountId: "KX-1002",
    orderId: "ord_0000718" },
];

const shipment = (s) => ({ ...s, order: { __typename: "Order", id: s.orderId } });
const accountOf = (memberId) => accounts.find((a) => a.memberId === memberId) ?? null;

const resolvers = {
  Query: {
    shipments: () => shipments.map(shipment),
    partnerAccounts: () => accounts,
  },
  Member: {
    __resolveReference: ({ id }) => ({ id }),
    partnerAccount: ({ id }) => accountOf(id),
    shipments: ({ id }) => {
      const account = accountOf(id);
      return account ? shipments.filter((s) => s.accountId === account.accountId).map(shipment) : [];
    },
  },
  PartnerAccount: {
    identity: (account) => ({ __typename: "Identity", ...account.identity }),
  },
  Shipment: {
    __resolveReference: ({ id }) => {
      const found = shipments.find((s) => s.id === id);
      return found ? shipment(found) : null;
    },
  },
};

const server = new ApolloServer({ schema: buildSubgraphSchema({ typeDefs, resolvers }) });
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(process.env.PORT ?? 4001) },
});
console.log(`ready ${url}`);
