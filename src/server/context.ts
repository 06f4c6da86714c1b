/** What every handler works with, derived once per request by the app's middleware. */
import type { Context } from "hono";
import { drizzle } from "drizzle-orm/d1";
import type { Config } from "./config";
import type { Database } from "./db/users";

export interface Realm {
  id: string;
  /** The `iss` of this realm's access tokens. */
  issuer: string;
  /** The realm's overrides of the deployment's settings, by setting name (`{}` for the default realm). */
  overrides: Readonly<Record<string, string>>;
}

export interface RequestContext {
  env: Env;
  config: Config;
  /** The realm's database: its users, sessions, tickets (the deployment's `DB` unless the realm names another). */
  db: Database;
  /** The deployment's own database (`DB`): the realms themselves. */
  deploymentDb: Database;
  realm: Realm;
  /** The client's address (`CF-Connecting-IP`), the subject of per-IP limits. */
  clientIp: string;
  /** The client's `User-Agent`, capped; recorded with sessions and audit events. */
  userAgent: string | null;
  /** Work that may finish after the response (mail delivery). */
  waitUntil(promise: Promise<unknown>): void;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    context: RequestContext;
    /** Who called the admin API, once `authenticateAdmin` has run. */
    admin?: import("./routes/admin/access").AdminActor;
    /** Who a sign-in route is about, once known (routes/audit-sign-in.ts). */
    signInSubject?: import("./routes/audit-sign-in").SignInSubject;
    /** Why the realm a `/realms/:realm` path names cannot serve (it does not exist): answered after CORS. */
    realmRefusal?: import("./errors").AuthError;
  };
}

export type AppContext = Context<AppEnv>;

export function createRequestContext(
  env: Env,
  config: Config,
  realm: Realm,
  client: { ip: string; userAgent: string | null },
  waitUntil: (promise: Promise<unknown>) => void,
): RequestContext {
  const deploymentDb = drizzle(env.DB);
  return { env, config, db: databaseOf(env, config, deploymentDb), deploymentDb, realm, clientIp: client.ip, userAgent: client.userAgent, waitUntil };
}

/** The database a realm's rows live in, per its settings (`DATABASE`). */
export function databaseOf(env: Env, config: Config, deploymentDb: Database): Database {
  if (config.database === null || config.database === "DB") return deploymentDb;
  return drizzle((env as unknown as Record<string, D1Database>)[config.database]!);
}
