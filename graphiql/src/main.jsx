// GraphiQL for the gateway, with the explorer plugin, bundled so that it needs no CDN.
// The page (rendered by the gateway) passes its settings in <script id="graphiql-config">.
import React from "react";
import { createRoot } from "react-dom/client";
import { GraphiQL } from "graphiql";
import { explorerPlugin } from "@graphiql/plugin-explorer";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import "graphiql/graphiql.css";
import "@graphiql/plugin-explorer/dist/style.css";

const config = JSON.parse(document.getElementById("graphiql-config").textContent);
const endpoint = new URL(config.url, window.location.href);
const subscriptionUrl = new URL(endpoint);
subscriptionUrl.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

const fetcher = createGraphiQLFetcher({
  url: endpoint.toString(),
  subscriptionUrl: subscriptionUrl.toString(),
  // For subscriptions (graphql-transport-ws) the toolkit puts the headers of the editor
  // into connection_init's payload, where the gateway reads Authorization.
});

const explorer = explorerPlugin({ showAttribution: false });

// GraphiQL 3 opens its first tab without that tab's variables; on a first visit (nothing
// stored yet) pass them explicitly so the example runs as it is.
let firstVisit = true;
try {
  firstVisit = window.localStorage.getItem("graphiql:tabState") === null;
} catch {
  // storage may be disabled: GraphiQL then keeps no state either
}

createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {
    fetcher,
    plugins: [explorer],
    defaultTabs: config.tabs,
    variables: firstVisit && config.tabs.length ? config.tabs[0].variables : undefined,
    defaultHeaders: config.headers,
    defaultEditorToolsVisibility: true,
    shouldPersistHeaders: false,
  }),
);
