// Bundles GraphiQL, React and the explorer plugin into ../gateway/web/static/graphiql/.
import * as esbuild from "esbuild";

await esbuild.build({
  entryPoints: { graphiql: "src/main.jsx" },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  outdir: "../gateway/web/static/graphiql",
  define: { "process.env.NODE_ENV": '"production"' },
  loader: { ".woff": "dataurl", ".woff2": "dataurl", ".ttf": "dataurl", ".svg": "dataurl" },
  legalComments: "linked",
  logLevel: "info",
});
