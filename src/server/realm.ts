/**
 * Which realm a request is for (design §7): the `default` realm at the root paths,
 * realm `r` under `/realms/r`, each with its own issuer (`PUBLIC_URL/realms/r`),
 * KeyStore, users and limits. A realm that does not exist answers 404 for all its
 * routes.
 */
import type { Config } from "./config";
import type { Realm } from "./context";
import { realmExists } from "./db/realms";
import { DEFAULT_REALM } from "./db/schema";
import type { Database } from "./db/users";
import { AuthError } from "./errors";

/**
 * How long an isolate trusts what it read about a realm (that it exists, or not):
 * a realm created or deleted is seen by every isolate within this bound.
 */
export const REALM_CACHE_SECONDS = 30;

/** Realm ids are lowercase slugs: they name a path segment, Durable Objects and keys. */
export const REALM_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const known = new Map<string, { exists: boolean; until: number }>();

export function defaultRealm(config: Config): Realm {
  return { id: DEFAULT_REALM, issuer: config.publicUrl };
}

/**
 * The realm `id` names, or `not-found`. The default realm needs no lookup. Its
 * end-user API is served at the root only (`/realms/default/...` would be a second
 * name for it, with a second issuer for the same keys); the admin API names it
 * (`allowDefault`).
 */
export async function resolveRealm(
  db: Database,
  config: Config,
  id: string | undefined,
  { allowDefault = false, now = Date.now() }: { allowDefault?: boolean; now?: number } = {},
): Promise<Realm> {
  if (id === undefined || id === DEFAULT_REALM) {
    if (id === DEFAULT_REALM && !allowDefault) throw new AuthError("not-found");
    return defaultRealm(config);
  }
  if (!REALM_ID_PATTERN.test(id)) throw new AuthError("not-found");
  let entry = known.get(id);
  if (entry === undefined || entry.until <= now) {
    entry = { exists: await realmExists(db, id), until: now + REALM_CACHE_SECONDS * 1000 };
    known.set(id, entry);
  }
  if (!entry.exists) throw new AuthError("not-found");
  return { id, issuer: `${config.publicUrl}/realms/${id}` };
}

/** Forgets what this isolate read about `id`, after it created or deleted the realm. */
export function forgetRealm(id: string): void {
  known.delete(id);
}
