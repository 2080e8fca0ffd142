// relay-compiler compiles the fragments of tests/clients/relay/ (@connection forward and
// backward, @refetchable through node(id:), nested connections, every Node type) against
// schema.graphql with no error or warning (the files are what an app would hold: the compiler
// reads them, nothing runs them); then every operation text it generated runs against the
// gateway, pagination queries with the cursors of the first pages.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { post, report, version } from "../lib.mjs";

const here = fileURLToPath(new URL("..", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "relay-"));
try {
  const out = join(work, "__generated__");
  writeFileSync(join(work, "package.json"), JSON.stringify({ type: "commonjs" }));
  mkdirSync(out);  // the compiler wants it to exist
  const config = join(work, "relay.config.json");
  writeFileSync(config, JSON.stringify({
    src: join(here, "relay"),
    schema: join(here, "..", "..", "schema.graphql"),
    language: "javascript",
    artifactDirectory: out,
    eagerEsModules: false,
  }));
  const compiled = spawnSync(join(here, "node_modules", ".bin", "relay-compiler"), [config],
    { encoding: "utf8" });
  const log = `${compiled.stdout}${compiled.stderr}`;
  assert.equal(compiled.status, 0, log);
  assert.doesNotMatch(log, /ERROR|WARN/, log);

  const require = createRequire(join(out, "index.js"));
  const requests = Object.fromEntries(readdirSync(out)
    .map((file) => require(join(out, file)))
    .filter((artifact) => artifact.kind === "Request")
    .map((artifact) => [artifact.params.name, artifact.params]));

  // Each generated operation with its variables; later ones use what earlier ones returned.
  const seen = {};
  const edges = (connection) => connection.edges.map((e) => e.node.id);
  const RUNS = {
    MemberTimelineQuery: () => ({ id: "mem_00003" }),
    MemberTimelinePaginationQuery: () => ({
      id: "mem_00003", count: 5,
      cursor: seen.MemberTimelineQuery.member.history.pageInfo.endCursor,
    }),
    IdentityCardRefetchQuery: () => ({ id: seen.MemberTimelineQuery.member.identities[0].id }),
    RecentOrdersQuery: () => ({ member: "mem_00002" }),
    RecentOrdersPaginationQuery: () => ({
      member: "mem_00002", count: 3, cursor: seen.RecentOrdersQuery.orders.pageInfo.startCursor,
    }),
    ProductCatalogQuery: () => ({ category: "tea", location: "loc_fm_beijing_chaoyang" }),
    ProductCatalogPaginationQuery: () => ({
      category: "tea", location: "loc_fm_beijing_chaoyang", count: 4,
      cursor: seen.ProductCatalogQuery.products.pageInfo.endCursor,
    }),
    MemberDirectoryQuery: () => ({ tier: "GOLD" }),
    MemberDirectoryPaginationQuery: () => ({
      tier: "GOLD", count: 5, cursor: seen.MemberDirectoryQuery.members.pageInfo.endCursor,
    }),
    MemberDirectoryLedgerPaginationQuery: () => ({
      id: seen.MemberDirectoryQuery.members.edges[0].node.id, count: 3,
    }),
    StoreVisitsQuery: () => ({ location: "loc_fm_shanghai_xuhui" }),
    StoreVisitsPaginationQuery: () => ({
      location: "loc_fm_shanghai_xuhui", count: 4,
      cursor: seen.StoreVisitsQuery.visits.pageInfo.startCursor,
    }),
    StoreVisitsNodeQuery: () => ({ id: seen.MemberTimelineQuery.member.identities[0].id }),
  };
  assert.deepEqual(Object.keys(requests).sort(), Object.keys(RUNS).sort(),
    "every generated operation has variables here, and nothing here is missing");
  for (const [name, variables] of Object.entries(RUNS)) {
    assert.equal(requests[name].operationKind, "query");
    seen[name] = await post(requests[name].text, variables());
  }

  // The pages follow each other, and node(id:) found what it was given.
  const timeline = seen.MemberTimelineQuery.member.history;
  const next = seen.MemberTimelinePaginationQuery.node.history;
  assert.equal(timeline.edges.length, 5);
  assert.equal(next.edges.length, 5);
  assert.equal(new Set([...edges(timeline), ...edges(next)]).size, 10);
  const latest = seen.RecentOrdersQuery.orders;
  const earlier = seen.RecentOrdersPaginationQuery.orders;
  assert.equal(latest.pageInfo.hasPreviousPage, true);
  assert.equal(new Set([...edges(earlier), ...edges(latest)]).size, 6);
  const identity = seen.MemberTimelineQuery.member.identities[0];
  const { __typename, ...refetched } = seen.IdentityCardRefetchQuery.node;
  assert.equal(__typename, "Identity");
  assert.deepEqual(refetched, identity);
  assert.equal(seen.StoreVisitsNodeQuery.node.__typename, "Identity");
  const catalogue = [seen.ProductCatalogQuery, seen.ProductCatalogPaginationQuery]
    .flatMap(({ products }) => edges(products));
  assert.equal(new Set(catalogue).size, 8);

  report({
    client: "relay-compiler", version: version("relay-compiler"),
    operations: Object.keys(requests).length,
    artifacts: readdirSync(out).length,
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}
