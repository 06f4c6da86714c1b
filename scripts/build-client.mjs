// Builds `edgeauth/client` to plain ESM JavaScript in dist/client, so that any
// runtime (Node, Deno, Bun, browsers, Workers) can import it without a TypeScript
// step. Runs on `npm install` (the `prepare` script) and before the tests.
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;
await build({
  entryPoints: [`${root}src/client/index.ts`, `${root}src/client/hono.ts`],
  outdir: `${root}dist/client`,
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  // Peer libraries stay imports: the application brings its own jose and hono.
  external: ["jose", "hono"],
  logLevel: "warning",
});
