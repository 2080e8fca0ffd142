// Composes the brand's schema.graphql with a partner's SDL using @apollo/composition.
// Usage: node compose.mjs <brand.graphql> <partner.graphql>
// Prints {"ok": bool, "errors": [...], "hints": [...]} and exits 1 on any composition error
// or on any hint whose level is ERROR or above (today's levels are WARN, INFO and DEBUG).
import { readFileSync } from "node:fs";

import composition from "@apollo/composition";
import { parse } from "graphql";

const [brandPath, partnerPath] = process.argv.slice(2);
if (!brandPath || !partnerPath) {
  console.error("usage: node compose.mjs <brand.graphql> <partner.graphql>");
  process.exit(2);
}

const { composeServices } = composition;
// Hint levels are WARN (60), INFO (40) and DEBUG (20); anything named ERROR or above WARN fails.
const WARN = 60;
const isError = (hint) => hint.definition.level.name === "ERROR" || hint.definition.level.value > WARN;
const services = [
  { name: "omnichannel", url: "http://omnichannel.invalid/graphql", path: brandPath },
  { name: "partner", url: "http://partner.invalid/graphql", path: partnerPath },
].map(({ name, url, path }) => ({ name, url, typeDefs: parse(readFileSync(path, "utf8")) }));

const result = composeServices(services);
const errors = (result.errors ?? []).map((e) => ({ code: e.extensions?.code, message: e.message }));
const hints = (result.hints ?? []).map((h) => ({
  code: h.definition.code, level: h.definition.level.name, message: h.message,
}));
const failingHints = (result.hints ?? []).filter(isError);
const ok = errors.length === 0 && failingHints.length === 0;
console.log(JSON.stringify({ ok, errors, hints }, null, 2));
process.exit(ok ? 0 : 1);
