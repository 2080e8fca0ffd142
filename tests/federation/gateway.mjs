// Apollo Gateway over the brand's gateway and the partner subgraph, composed at start-up by
// IntrospectAndCompose (each subgraph's `_service { sdl }`). It waits (up to a minute) for both
// subgraphs to answer, so it can be started with them. Listens on 127.0.0.1:$PORT and prints
// "ready <url>" once the supergraph is composed. No telemetry leaves the machine.
process.env.APOLLO_TELEMETRY_DISABLED = "1";

const { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } = await import(
  "@apollo/gateway"
);
const { ApolloServer } = await import("@apollo/server");
const { startStandaloneServer } = await import("@apollo/server/standalone");

// Every subgraph request asks for an inline trace, as a gateway with usage reporting does:
// the brand's gateway must accept the header.
// Our gateway wants an API key: the router presents $OMNIGW_KEY to it.
const authorization = { authorization: `Bearer ${process.env.OMNIGW_KEY ?? ""}` };

class TracedDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request }) {
    request.http.headers.set("apollo-federation-include-trace", "ftv1");
    if (this.url === process.env.OMNIGW_URL) {
      request.http.headers.set("authorization", authorization.authorization);
    }
  }
}

const subgraphs = [
  { name: "omnichannel", url: process.env.OMNIGW_URL },
  { name: "partner", url: process.env.PARTNER_URL },
];

async function answers(url) {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...authorization },
      body: JSON.stringify({ query: "{ _service { sdl } }" }),
    });
    return response.ok;
  } catch {
    return false;
  }
}

const deadline = Date.now() + 60_000;
for (const { name, url } of subgraphs) {
  while (!(await answers(url))) {
    if (Date.now() > deadline) {
      console.error(`subgraph ${name} at ${url} did not answer within a minute`);
      process.exit(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: new IntrospectAndCompose({ subgraphs }),
  buildService: ({ url }) => new TracedDataSource({ url }),
});

const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(process.env.PORT ?? 4000) },
});
console.log(`ready ${url}`);
