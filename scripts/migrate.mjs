// Applies migrations/ to every D1 database wrangler.toml binds (`[[d1_databases]]`):
// the deployment's `DB` and any database a realm keeps its rows in (its `DATABASE`
// setting). Every bound database carries the whole schema.
//
//   node scripts/migrate.mjs --local     # npm run dev does this
//   node scripts/migrate.mjs --remote    # before `npm run deploy`
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const where = process.argv[2];
if (where !== "--local" && where !== "--remote") {
  console.error("usage: node scripts/migrate.mjs --local | --remote");
  process.exit(2);
}

const toml = readFileSync(new URL("../wrangler.toml", import.meta.url), "utf8");
// Each [[d1_databases]] block up to the next table header; its `binding = "..."`.
const bindings = [...toml.matchAll(/^\[\[d1_databases\]\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/gm)]
  .map((block) => /^binding\s*=\s*"([^"]+)"/m.exec(block[1])?.[1])
  .filter((binding) => binding !== undefined);
if (bindings.length === 0) {
  console.error("wrangler.toml binds no D1 database");
  process.exit(1);
}

const wrangler = new URL("../node_modules/.bin/wrangler", import.meta.url).pathname;
for (const binding of bindings) {
  console.log(`edgeauth: applying migrations to ${binding} (${where.slice(2)})`);
  execFileSync(wrangler, ["d1", "migrations", "apply", binding, where], {
    stdio: "inherit",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: where === "--local" ? "false" : (process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? "true") },
  });
}
