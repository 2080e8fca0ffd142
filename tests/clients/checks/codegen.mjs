// GraphQL Code Generator (typescript + typescript-operations) over schema.graphql and the
// sample operation of tests/clients/codegen/, with the scalar mapping docs/clients.md gives
// and `strictScalars` (a custom scalar without a mapping fails the generation). The types of
// the operation and of every scalar hold no `unknown` and no `any`; the operation's text
// runs against the gateway.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { generate } from "@graphql-codegen/cli";
import { post, report, version } from "../lib.mjs";

const here = fileURLToPath(new URL("..", import.meta.url));
const SCALARS = {
  DateTime: "string",  // RFC 3339, e.g. "2026-05-05T10:00:00+00:00"
  Decimal: "string",  // an exact decimal string, e.g. "12.50"
  Long: "string",  // a 64-bit integer as a string of digits, e.g. "2702344591"
  LocalDateTime: "string",  // a wall-clock time without an offset, e.g. "2026-10-01T00:00:00"
  _Any: "{ __typename: string; [key: string]: string }",  // federation's entity keys
  link__Import: "string",  // federation's, in the introspection of the URL
};
const [output] = await generate({
  schema: `${here}/../../schema.graphql`,
  documents: `${here}/codegen/*.graphql`,
  silent: true,
  generates: {
    "types.ts": {
      plugins: ["typescript", "typescript-operations"],
      config: { strictScalars: true, scalars: SCALARS, enumsAsTypes: true },
    },
  },
}, false);
const code = output.content;

const block = (start) => {
  const from = code.indexOf(start);
  assert.ok(from >= 0, `${start} is generated`);
  return code.slice(from, code.indexOf("\n\n", from));
};
const typed = [
  block("export type Scalars = {"),
  block("export type Member360QueryVariables = "),
  block("export type Member360Query = "),
].map((text) => text.replace(/\/\*\*.*?\*\//gs, ""));
for (const text of typed) {
  assert.doesNotMatch(text, /\b(unknown|any)\b/, text);
}
assert.match(typed[2], /at: string/);
assert.match(typed[2], /points: string/);
assert.match(typed[2], /minorUnits: string/);
assert.match(typed[2], /__typename: 'Order', status: ActivityStatus/);
assert.match(typed[2], /__typename: 'Payment', status: ActivityStatus/);

const operation = readFileSync(`${here}/codegen/member360.graphql`, "utf8");
const data = await post(operation, { id: "mem_00003", count: 3 });
assert.equal(data.member.history.edges.length, 3);

report({
  client: "@graphql-codegen/cli", version: version("@graphql-codegen/cli"),
  typescript: version("@graphql-codegen/typescript"),
  typescriptOperations: version("@graphql-codegen/typescript-operations"),
  lines: code.split("\n").length,
});
