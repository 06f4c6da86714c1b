import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
// Every bound database has the schema (a realm may keep its rows in its own).
await applyD1Migrations(env.DB_2, env.TEST_MIGRATIONS);
