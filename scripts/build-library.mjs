// Builds edgeauth's library mode (src/server/library.ts, README "Inside an existing
// Worker") into dist/library/: one ES module as wrangler bundles a Worker, with the
// verifier's code inside it and the third-party dependencies left as imports (so an
// application's bundle shares its own copy of hono), and the .d.ts files. Run by
// `npm pack` (prepack) and by test/node/library-mode.test.ts. `--no-types` skips the
// declarations (they take tsc about 20 s).
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { build } from "esbuild";

const ROOT = new URL("..", import.meta.url).pathname;
export const LIBRARY_DIR = `${ROOT}dist/library`;

export async function buildLibrary({ types = true } = {}) {
  rmSync(LIBRARY_DIR, { recursive: true, force: true });
  const { dependencies } = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8"));
  await build({
    absWorkingDir: ROOT,
    entryPoints: ["src/server/library.ts"],
    outfile: `${LIBRARY_DIR}/edgeauth.js`,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
    // What the application installs with edgeauth (package.json `dependencies`) and the runtime's own modules.
    external: [...Object.keys(dependencies), "cloudflare:*", "node:*"],
    sourcemap: "linked",
    logLevel: "warning",
  });
  if (!types) return;
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  // tsc reports on stdout; passed on to stderr so that a caller capturing both sees why.
  const result = spawnSync(process.execPath, [tsc, "-p", `${ROOT}tsconfig.library.json`], { encoding: "utf8" });
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout ?? ""}${result.stderr ?? ""}`);
    const why = result.error?.message ?? (result.signal !== null ? `killed by ${result.signal}` : `exit code ${result.status}`);
    throw new Error(`edgeauth library: the declarations failed to build (${why})`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await buildLibrary({ types: !process.argv.includes("--no-types") });
}
