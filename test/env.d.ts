declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** The second D1 database of the tests (vitest.config.ts). */
    DB_2: D1Database;
  }
}

/** Vite's `?raw` imports: a file's text. */
declare module "*?raw" {
  const text: string;
  export default text;
}
