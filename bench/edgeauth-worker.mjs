// The edgeauth Worker as the benchmarks run it: the built bundle on workerd through
// Miniflare's API, with local D1 and Durable Objects and the settings of
// wrangler.toml's [vars] plus the development ones. Shared by bench/run.mjs and bench/profile.mjs.
import { readFileSync, readdirSync } from "node:fs";

const ROOT = new URL("..", import.meta.url).pathname;

export const BENCH_ADMIN_SECRET = "bench-admin-secret-0123456789";

/** Miniflare worker options (the long-documented shape; see convertV4MiniflareOptions). */
export function edgeauthWorkerOptions(scriptPath, databaseName) {
  const vars = Object.fromEntries(
    [...readFileSync(`${ROOT}wrangler.toml`, "utf8").matchAll(/^([A-Z_]+) = "([^"]*)"$/gm)].map((m) => [m[1], m[2]]),
  );
  return {
    name: "edgeauth",
    modules: true,
    scriptPath,
    compatibilityDate: "2026-11-01",
    compatibilityFlags: ["nodejs_compat"],
    d1Databases: { DB: databaseName },
    durableObjects: {
      KEY_STORE: { className: "KeyStore", useSQLite: true },
      ONE_TIME_CODES: { className: "OneTimeCodes", useSQLite: true },
      ATTEMPT_COUNTER: { className: "AttemptCounter", useSQLite: true },
    },
    bindings: {
      ...vars,
      // wrangler.toml ships production settings; the enumeration scenarios send
      // mail and texts, which development keeps in the local outbox.
      ENVIRONMENT: "development",
      PUBLIC_URL: "http://127.0.0.1",
      REFRESH_TOKEN_SECRET: "bench-refresh-token-secret-0123456789abcdef",
      ADMIN_SECRET: BENCH_ADMIN_SECRET,
    },
  };
}

/** Applies migrations/*.sql, in order, to a local D1 database. */
export async function applyMigrations(db) {
  for (const file of readdirSync(`${ROOT}migrations`).filter((name) => name.endsWith(".sql")).sort()) {
    for (const statement of readFileSync(`${ROOT}migrations/${file}`, "utf8").split("--> statement-breakpoint")) {
      const sql = statement.replace(/^--.*$/gm, "").trim();
      if (sql) await db.prepare(sql).run();
    }
  }
}
