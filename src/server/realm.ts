/**
 * Which realm a request is for (design §7): the `default` realm at the root paths,
 * realm `r` under `/realms/r`, each with its own issuer (`PUBLIC_URL/realms/r`),
 * KeyStore, users and limits. A realm that does not exist answers 404 for all its
 * routes.
 */
import { ConfigError, deploymentSettingsOf, isRealmSettingName, parseConfig, type Config } from "./config";
import type { Realm } from "./context";
import { findRealmSettings } from "./db/realms";
import { DEFAULT_REALM } from "./db/schema";

export { DEFAULT_REALM };
import type { Database } from "./db/users";
import { AuthError } from "./errors";

/**
 * How long an isolate trusts what it read about a realm (that it exists, or not,
 * and its settings): a realm created, changed or deleted is seen by every isolate
 * within this bound.
 */
export const REALM_CACHE_SECONDS = 30;

/** Realm ids are lowercase slugs: they name a path segment, Durable Objects and keys. */
export const REALM_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const known = new Map<string, { overrides: Record<string, string> | null; until: number }>();

export function defaultRealm(config: Config): Realm {
  return { id: DEFAULT_REALM, issuer: config.publicUrl, overrides: {} };
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
    const settings = await findRealmSettings(db, id);
    entry = { overrides: settings === null ? null : parseOverrides(id, settings), until: now + REALM_CACHE_SECONDS * 1000 };
    known.set(id, entry);
  }
  if (entry.overrides === null) throw new AuthError("not-found");
  return { id, issuer: `${config.publicUrl}/realms/${id}`, overrides: entry.overrides };
}

/** The stored overrides: a JSON object of strings (the admin API checks them on write). */
function parseOverrides(id: string, json: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    parsed = null;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || Object.values(parsed).some((value) => typeof value !== "string")) {
    throw new Error(`realm ${id}: stored settings are not an object of strings`);
  }
  return parsed as Record<string, string>;
}

const realmConfigs = new Map<string, { overridesJson: string; config: Config }>();

/**
 * The settings a realm runs with: the deployment's (`[vars]` and secrets) with the
 * realm's overrides on top, through the same parser, memoised per isolate while
 * the overrides stay the same. The default realm runs with the deployment's.
 */
export function configForRealm(env: object, deployment: Config, realm: Realm): Config {
  if (realm.id === DEFAULT_REALM || Object.keys(realm.overrides).length === 0) return deployment;
  const overridesJson = JSON.stringify(realm.overrides);
  const held = realmConfigs.get(realm.id);
  if (held !== undefined && held.overridesJson === overridesJson) return held.config;
  // A value the admin API would have refused (written around it) fails this
  // realm's requests, logged with the setting's name, rather than run it half-set;
  // so does a deployment setting or secret, which a realm may never override.
  const notRealmLevel = Object.keys(realm.overrides).find((name) => !isRealmSettingName(name));
  if (notRealmLevel !== undefined) throw new ConfigError(notRealmLevel, `is not a realm setting (realm ${realm.id})`);
  // The parse reads the same deployment values as the deployment's own did; laying
  // them over again makes "a realm never changes a deployment setting" structural.
  const config: Config = { ...parseConfig({ ...env, ...realm.overrides }), ...deploymentSettingsOf(deployment) };
  realmConfigs.set(realm.id, { overridesJson, config });
  return config;
}

/** Forgets what this isolate read about `id`, after it created, changed or deleted the realm. */
export function forgetRealm(id: string): void {
  known.delete(id);
  realmConfigs.delete(id);
}
