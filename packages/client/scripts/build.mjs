// Builds @edgeauth/client into dist/: ES2022 JavaScript modules and .d.ts files,
// one per source file, with the repository's TypeScript. Run before the tests
// (`npm test`), by `npm run dev`, and before `npm pack` / `npm publish` (prepack);
// installing the package never runs it, since the tarball already holds dist/.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";

const packageRoot = new URL("..", import.meta.url).pathname;
// A clean directory, so that a renamed or deleted source file cannot ship a stale module.
rmSync(`${packageRoot}dist`, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const result = spawnSync(process.execPath, [tsc, "-p", `${packageRoot}tsconfig.json`], { stdio: "inherit" });
if (result.status !== 0) {
  console.error("@edgeauth/client: the build failed");
  process.exit(result.status ?? 1);
}
