/** The Worker's exports: the HTTP handler, the daily purge and the Durable Object classes. */
import { drizzle } from "drizzle-orm/d1";
import { app } from "./app";
import { purgeExpiredRows } from "./services/purge";
import { continueRealmDeletionsLogged } from "./services/realm-deletion";

export { KeyStore } from "./keys/key-store";
export { OneTimeCodes } from "./otp/one-time-codes";
export { AttemptCounter } from "./otp/attempt-counter";
export { RateLimiter } from "./limits/rate-limiter";

export default {
  fetch: app.fetch,

  /**
   * The Cron Trigger in wrangler.toml: drops rows that can never be used again, and
   * resumes removing deleted realms (an interrupted removal finishes here).
   */
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(continueRealmDeletionsLogged(env, drizzle(env.DB)));
    ctx.waitUntil(
      purgeExpiredRows(drizzle(env.DB), Date.now()).then(
        (counts) => console.log(`purge: ${JSON.stringify(counts)}`),
        (error: unknown) => console.error(`purge failed: ${error instanceof Error ? error.message : "unknown error"}`),
      ),
    );
  },
} satisfies ExportedHandler<Env>;
