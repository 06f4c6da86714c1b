/** Queries of admin API keys (README, "Admin API"): stored as SHA-256 only. */
import { and, desc, eq, gt, isNull, lt, or } from "drizzle-orm";
import { adminApiKeys } from "./schema";
import type { Database } from "./users";

export interface AdminApiKeyRecord {
  id: string;
  realm: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
}

const listedColumns = {
  id: adminApiKeys.id,
  realm: adminApiKeys.realm,
  name: adminApiKeys.name,
  prefix: adminApiKeys.prefix,
  scopes: adminApiKeys.scopes,
  createdAt: adminApiKeys.createdAt,
  expiresAt: adminApiKeys.expiresAt,
  lastUsedAt: adminApiKeys.lastUsedAt,
};

function toRecord(row: Omit<AdminApiKeyRecord, "scopes"> & { scopes: string }): AdminApiKeyRecord {
  return { ...row, scopes: JSON.parse(row.scopes) as string[] };
}

export async function insertAdminApiKey(db: Database, key: Omit<AdminApiKeyRecord, "lastUsedAt"> & { keyHash: string }): Promise<void> {
  await db.insert(adminApiKeys).values({ ...key, scopes: JSON.stringify(key.scopes) });
}

/** The realm's keys that are not revoked, newest first; never their hashes. */
export async function listAdminApiKeys(db: Database, realm: string): Promise<AdminApiKeyRecord[]> {
  const rows = await db
    .select(listedColumns)
    .from(adminApiKeys)
    .where(and(eq(adminApiKeys.realm, realm), isNull(adminApiKeys.revokedAt)))
    .orderBy(desc(adminApiKeys.createdAt));
  return rows.map(toRecord);
}

/** Revokes the realm's key `id`; false when there is no such live key. */
export async function revokeAdminApiKey(db: Database, realm: string, id: string, now: number): Promise<boolean> {
  const result = await db
    .update(adminApiKeys)
    .set({ revokedAt: now })
    .where(and(eq(adminApiKeys.realm, realm), eq(adminApiKeys.id, id), isNull(adminApiKeys.revokedAt)))
    .run();
  return result.meta.changes > 0;
}

/** The key whose secret hashes to `keyHash`, when neither revoked nor expired at `now`. */
export async function findUsableAdminApiKey(db: Database, keyHash: string, now: number): Promise<AdminApiKeyRecord | null> {
  const rows = await db
    .select(listedColumns)
    .from(adminApiKeys)
    .where(
      and(
        eq(adminApiKeys.keyHash, keyHash),
        isNull(adminApiKeys.revokedAt),
        or(isNull(adminApiKeys.expiresAt), gt(adminApiKeys.expiresAt, now)),
      ),
    )
    .limit(1);
  return rows[0] === undefined ? null : toRecord(rows[0]);
}

/**
 * Records a use. At most one write per key per `resolutionMs`: a script calling in
 * a loop should not turn every read into a write.
 */
export async function recordAdminApiKeyUse(db: Database, id: string, now: number, resolutionMs: number): Promise<void> {
  await db
    .update(adminApiKeys)
    .set({ lastUsedAt: now })
    .where(and(eq(adminApiKeys.id, id), or(isNull(adminApiKeys.lastUsedAt), lt(adminApiKeys.lastUsedAt, now - resolutionMs))));
}
