/**
 * Admin API keys as credentials (README, "Admin API"): bound to one realm,
 * limited to scopes, shown once. The secret is `eak_` + 32 random bytes in
 * base64url: the fixed prefix lets leak scanners recognise one; only its SHA-256
 * is stored, so a key is found by its hash and never compared as a secret (style
 * habit 7). Keys live in the deployment's database: a key is looked up before its
 * realm is known.
 */
import type { RequestContext } from "../context";
import { findUsableAdminApiKey, recordAdminApiKeyUse } from "../db/admin-api-keys";
import { sha256Hex } from "../lib/crypto";
import { toBase64Url } from "../lib/encoding";

export const ADMIN_SCOPES = ["users:read", "users:write", "sessions:write", "keys:write", "realm:write", "audit:read"] as const;
export type AdminScope = (typeof ADMIN_SCOPES)[number];

export const ADMIN_API_KEY_PREFIX = "eak_";
const ADMIN_API_KEY_BYTES = 32;
const ADMIN_API_KEY_PATTERN = /^eak_[A-Za-z0-9_-]{43}$/;
/** `lastUsedAt` is as precise as this: a key used in a loop writes at most once a minute. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface AdminKeyHolder {
  type: "admin-key";
  keyId: string;
  realm: string;
  scopes: AdminScope[];
}

/** A fresh key secret: shown once, stored only as `sha256Hex(secret)`. */
export function newAdminApiKeySecret(): string {
  return ADMIN_API_KEY_PREFIX + toBase64Url(crypto.getRandomValues(new Uint8Array(ADMIN_API_KEY_BYTES)));
}

/** The live key `presented` is, or null; its last use is noted after the answer. */
export async function lookUpAdminApiKey(context: RequestContext, presented: string): Promise<AdminKeyHolder | null> {
  if (!ADMIN_API_KEY_PATTERN.test(presented)) return null;
  const now = Date.now();
  const key = await findUsableAdminApiKey(context.deploymentDb, await sha256Hex(presented), now);
  if (key === null) return null;
  if (key.lastUsedAt === null || key.lastUsedAt < now - LAST_USED_RESOLUTION_MS) {
    context.waitUntil(
      recordAdminApiKeyUse(context.deploymentDb, key.id, now, LAST_USED_RESOLUTION_MS).catch((error: unknown) =>
        console.error(`admin api key: recording a use failed: ${error instanceof Error ? error.message : "unknown error"}`),
      ),
    );
  }
  // A scope a later version dropped is ignored rather than trusted.
  const scopes = key.scopes.filter((scope): scope is AdminScope => (ADMIN_SCOPES as readonly string[]).includes(scope));
  return { type: "admin-key", keyId: key.id, realm: key.realm, scopes };
}
