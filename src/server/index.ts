/** The Worker's exports: the HTTP handler and the KeyStore Durable Object class. */
import { app } from "./app";

export { KeyStore } from "./keys/key-store";
export { OneTimeCodes } from "./otp/one-time-codes";
export { AttemptCounter } from "./otp/attempt-counter";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
