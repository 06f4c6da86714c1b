/** The Worker's exports: the HTTP handler, the daily purge and the Durable Object classes. */
import { drizzle } from "drizzle-orm/d1";
import { app } from "./app";
import { configFor } from "./config";
import { purgeExpiredRows } from "./db/purge";
import { continueRealmDeletionsLogged, REALM_DELETION_CRON } from "./services/realm-deletion";

export { KeyStore } from "./keys/key-store";
export { OneTimeCodes } from "./otp/one-time-codes";
export { AttemptCounter } from "./otp/attempt-counter";
export { RateLimiter } from "./limits/rate-limiter";

export default {
  fetch: app.fetch,

  /**
   * The Cron Triggers in wrangler.toml. Each resumes removing deleted realms (a
   * large or interrupted removal finishes over several runs); the daily one also
   * drops rows that can never be used again, in every D1 database bound (realms
   * may keep their rows in their own, `DATABASE`).
   */
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(continueRealmDeletionsLogged(env, drizzle(env.DB)));
    if (controller.cron === REALM_DELETION_CRON) return;
    const now = Date.now();
    for (const [binding, database] of d1Bindings(env)) {
      ctx.waitUntil(
        // Inside the chain: a settings error is logged as the purge's failure.
        Promise.resolve()
          .then(() => purgeExpiredRows(drizzle(database), now, configFor(env)))
          .then(
            (counts) => console.log(`purge ${binding}: ${JSON.stringify(counts)}`),
            (error: unknown) => console.error(`purge of ${binding} failed: ${error instanceof Error ? error.message : "unknown error"}`),
          ),
      );
    }
  },
} satisfies ExportedHandler<Env>;

/** The Worker's D1 bindings, by name: the deployment's `DB` and any a realm names. */
function d1Bindings(env: Env): [string, D1Database][] {
  // By class, not by methods: a service binding's RPC stub answers any method name.
  return Object.entries(env).filter(
    (entry): entry is [string, D1Database] =>
      typeof entry[1] === "object" && entry[1] !== null && Object.getPrototypeOf(entry[1])?.constructor?.name === "D1Database",
  );
}
