/** The Worker's exports: the HTTP handler, the daily purge and the Durable Object classes. */
import { drizzle } from "drizzle-orm/d1";
import { app } from "./app";
import { configFor } from "./config";
import { purgeExpiredRows } from "./services/purge";

export { KeyStore } from "./keys/key-store";
export { OneTimeCodes } from "./otp/one-time-codes";
export { AttemptCounter } from "./otp/attempt-counter";
export { RateLimiter } from "./limits/rate-limiter";

export default {
  fetch: app.fetch,

  /** The Cron Trigger in wrangler.toml: drops rows that can never be used again. */
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(
      // Inside the chain: a settings error is logged as the purge's failure.
      Promise.resolve()
        .then(() => purgeExpiredRows(drizzle(env.DB), Date.now(), configFor(env)))
        .then(
          (counts) => console.log(`purge: ${JSON.stringify(counts)}`),
          (error: unknown) => console.error(`purge failed: ${error instanceof Error ? error.message : "unknown error"}`),
        ),
    );
  },
} satisfies ExportedHandler<Env>;
