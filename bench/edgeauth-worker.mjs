// The edgeauth Worker as the benchmarks run it: the built bundle on workerd through
// Miniflare's API, with local D1 and Durable Objects and the settings of
// wrangler.toml's [vars] plus the development ones. Shared by bench/run.mjs and bench/profile.mjs.
import { readFileSync, readdirSync } from "node:fs";

const ROOT = new URL("..", import.meta.url).pathname;

export const BENCH_ADMIN_SECRET = "bench-admin-secret-0123456789";

/**
 * Limits raised for the benchmarks: the enumeration part sends a hundred mails and
 * texts to one address from one client, and the load runs sign one account in from
 * ten connections at once (attempts in flight count until they succeed). The checks
 * still run (each is a Durable Object call); they just never refuse.
 */
export const BENCH_RAISED_LIMITS = {
  RATE_LIMIT_FAILURES_PER_ACCOUNT: "1000000",
  RATE_LIMIT_FAILURES_PER_IP: "1000000",
  RATE_LIMIT_EMAILS_PER_RECIPIENT: "1000000",
  RATE_LIMIT_EMAILS_PER_IP: "1000000",
  RATE_LIMIT_SMS_PER_NUMBER: "1000000",
  RATE_LIMIT_SMS_PER_IP: "1000000",
  RATE_LIMIT_SMS_PER_DEPLOYMENT: "1000000",
  RATE_LIMIT_SIGNUPS_PER_IP: "1000000",
};

/** Every Durable Object limit off: the baseline of what the limits cost. */
export const BENCH_NO_LIMITS = Object.fromEntries(
  [
    "RATE_LIMIT_FAILURES_PER_ACCOUNT",
    "RATE_LIMIT_FAILURES_PER_IP",
    "RATE_LIMIT_EMAILS_PER_RECIPIENT",
    "RATE_LIMIT_EMAILS_PER_IP",
    "RATE_LIMIT_SMS_PER_NUMBER",
    "RATE_LIMIT_SMS_PER_IP",
    "RATE_LIMIT_SMS_PER_DEPLOYMENT",
    "RATE_LIMIT_SIGNUPS_PER_IP",
  ].map((name) => [name, "0"]),
);

/** Miniflare worker options (the long-documented shape; see convertV4MiniflareOptions). */
export function edgeauthWorkerOptions(scriptPath, databaseName, { limits = "on", requestLimiter = true } = {}) {
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
      RATE_LIMITER: { className: "RateLimiter", useSQLite: true },
    },
    // The coarse per-IP limit as wrangler.toml binds it, but high: the load comes
    // from one address, and the bench measures what checking it costs, not 429s.
    ...(requestLimiter ? { ratelimits: { REQUEST_RATE_LIMITER: { namespace_id: "1001", simple: { limit: 1_000_000_000, period: 60 } } } } : {}),
    bindings: {
      ...vars,
      // wrangler.toml ships production settings; the enumeration scenarios send
      // mail and texts, which development keeps in the local outbox.
      ENVIRONMENT: "development",
      // Off by default (Nhost's defaults); the bench drives every passwordless route.
      EMAIL_PASSWORDLESS_ENABLED: "true",
      OTP_EMAIL_ENABLED: "true",
      SMS_PASSWORDLESS_ENABLED: "true",
      PUBLIC_URL: "http://127.0.0.1",
      REFRESH_TOKEN_SECRET: "bench-refresh-token-secret-0123456789abcdef",
      ADMIN_SECRET: BENCH_ADMIN_SECRET,
      ...(limits === "on" ? BENCH_RAISED_LIMITS : BENCH_NO_LIMITS),
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
