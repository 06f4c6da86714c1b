/** Queries of the realm aggregate. */
import { and, asc, desc, eq, gt, isNotNull, isNull, or, sql } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import {
  adminApiKeys,
  auditEvents,
  devOutbox,
  emailTemplates,
  oauthStates,
  personalAccessTokens,
  providerIdentities,
  providerSessions,
  realms,
  refreshTokens,
  tickets,
  userRoles,
  users,
  webauthnChallenges,
  webauthnCredentials,
  DEFAULT_REALM,
} from "./schema";
import type { Database } from "./users";

/** Whether a realm with this id exists and is not deleted. */
export async function realmExists(db: Database, id: string): Promise<boolean> {
  const rows = await db.select({ id: realms.id }).from(realms).where(and(eq(realms.id, id), isNull(realms.deletedAt))).limit(1);
  return rows.length > 0;
}

/** A live realm's settings overrides (JSON object text), or null when it does not exist or is deleted. */
export async function findRealmSettings(db: Database, id: string): Promise<string | null> {
  const rows = await db
    .select({ settings: realms.settings })
    .from(realms)
    .where(and(eq(realms.id, id), isNull(realms.deletedAt)))
    .limit(1);
  return rows[0]?.settings ?? null;
}

export interface RealmRecord {
  id: string;
  displayName: string;
  /** Overrides of the deployment's settings, by setting name. */
  settings: Record<string, string>;
  createdAt: number;
}

const realmColumns = { id: realms.id, displayName: realms.displayName, settings: realms.settings, createdAt: realms.createdAt };

function toRecord(row: { id: string; displayName: string; settings: string; createdAt: number }): RealmRecord {
  return { ...row, settings: JSON.parse(row.settings) as Record<string, string> };
}

/** Adds a realm; false when the id is taken (by a live realm or one still being deleted). */
export async function insertRealm(db: Database, realm: RealmRecord): Promise<boolean> {
  const result = await db
    .insert(realms)
    .values({ ...realm, settings: JSON.stringify(realm.settings) })
    .onConflictDoNothing({ target: realms.id })
    .run();
  return result.meta.changes > 0;
}

/** Every live realm, the default one first, then by age. */
export async function listRealms(db: Database): Promise<RealmRecord[]> {
  const rows = await db
    .select(realmColumns)
    .from(realms)
    .where(isNull(realms.deletedAt))
    .orderBy(desc(sql`${realms.id} = ${DEFAULT_REALM}`), asc(realms.createdAt), asc(realms.id));
  return rows.map(toRecord);
}

/** The live realm `id`, or null. */
export async function findRealm(db: Database, id: string): Promise<RealmRecord | null> {
  const rows = await db.select(realmColumns).from(realms).where(and(eq(realms.id, id), isNull(realms.deletedAt))).limit(1);
  return rows[0] === undefined ? null : toRecord(rows[0]);
}

/** Replaces the live realm's display name and/or settings; false when it is gone. */
export async function updateRealm(
  db: Database,
  id: string,
  changes: { displayName?: string; settings?: Record<string, string> },
): Promise<boolean> {
  const values = {
    ...(changes.displayName === undefined ? {} : { displayName: changes.displayName }),
    ...(changes.settings === undefined ? {} : { settings: JSON.stringify(changes.settings) }),
  };
  if (Object.keys(values).length === 0) return realmExists(db, id);
  const result = await db.update(realms).set(values).where(and(eq(realms.id, id), isNull(realms.deletedAt))).run();
  return result.meta.changes > 0;
}

/** Marks the realm deleted (its routes answer 404 from now on); false when it already was, or never existed. */
export async function markRealmDeleted(db: Database, id: string, now: number): Promise<boolean> {
  const result = await db.update(realms).set({ deletedAt: now }).where(and(eq(realms.id, id), isNull(realms.deletedAt))).run();
  return result.meta.changes > 0;
}

/**
 * Realms marked deleted whose rows are still being removed, oldest first, with
 * their settings (where their rows are): the page after `after` (keyset on
 * `(deleted_at, id)`, so a walk neither repeats nor skips one).
 */
export async function deletedRealmsAfter(
  db: Database,
  after: { deletedAt: number; id: string } | null,
  limit: number,
): Promise<{ id: string; deletedAt: number; settings: Record<string, string> }[]> {
  const rows = await db
    .select({ id: realms.id, deletedAt: realms.deletedAt, settings: realms.settings })
    .from(realms)
    .where(
      after === null
        ? isNotNull(realms.deletedAt)
        : or(gt(realms.deletedAt, after.deletedAt), and(eq(realms.deletedAt, after.deletedAt), gt(realms.id, after.id))),
    )
    .orderBy(asc(realms.deletedAt), asc(realms.id))
    .limit(limit);
  return rows.map((row) => ({ id: row.id, deletedAt: row.deletedAt!, settings: JSON.parse(row.settings) as Record<string, string> }));
}

type RealmTable = SQLiteTable & { realm: typeof users.realm };
type UserOwnedTable = RealmTable & { userId: typeof refreshTokens.userId };

/**
 * The tables holding a realm's rows, in the order a deletion empties them: rows
 * that point at users before the users (whose `realm` references `realms`). Rows
 * owned by a user are found through the user (their `user_id` is indexed; their
 * `realm` is not); the others by `realm`. Admin API keys are not here: they live
 * in the deployment's database (`ADMIN_API_KEYS_OF_REALM`).
 */
export const REALM_OWNED_TABLES: ({ name: string } & ({ ownedBy: "user"; table: UserOwnedTable } | { ownedBy: "realm"; table: RealmTable }))[] = [
  { name: "refresh_tokens", ownedBy: "user", table: refreshTokens },
  { name: "tickets", ownedBy: "user", table: tickets },
  { name: "personal_access_tokens", ownedBy: "user", table: personalAccessTokens },
  { name: "webauthn_credentials", ownedBy: "user", table: webauthnCredentials },
  { name: "user_roles", ownedBy: "user", table: userRoles },
  { name: "provider_identities", ownedBy: "user", table: providerIdentities },
  { name: "provider_sessions", ownedBy: "user", table: providerSessions },
  { name: "oauth_states", ownedBy: "realm", table: oauthStates },
  { name: "webauthn_challenges", ownedBy: "realm", table: webauthnChallenges },
  { name: "dev_outbox", ownedBy: "realm", table: devOutbox },
  { name: "email_templates", ownedBy: "realm", table: emailTemplates },
  { name: "audit_events", ownedBy: "realm", table: auditEvents },
  { name: "users", ownedBy: "realm", table: users },
] as never;

/** The realm's admin API keys, in the deployment's database whatever the realm's `DATABASE`. */
export const ADMIN_API_KEYS_OF_REALM: (typeof REALM_OWNED_TABLES)[number] = { name: "admin_api_keys", ownedBy: "realm", table: adminApiKeys as never };

/**
 * Deletes at most `chunkRows` of the realm's rows from `target`; answers how many
 * went. Bounded, so that a large realm never becomes one long write. `db` is the
 * realm's database, which need not hold the `realms` table's row: the caller
 * passes only realms `deletedRealms` listed.
 */
export async function deleteRealmRowsChunk(db: Database, realm: string, target: (typeof REALM_OWNED_TABLES)[number], chunkRows: number): Promise<number> {
  const { table } = target;
  const owned =
    target.ownedBy === "user"
      ? sql`${target.table.userId} IN (SELECT ${users.id} FROM ${users} WHERE ${users.realm} = ${realm})`
      : sql`${table.realm} = ${realm}`;
  const result = await db.run(sql`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${owned} LIMIT ${chunkRows})`);
  return result.meta.changes;
}

/** Removes the row of a deleted realm, once nothing references it. */
export async function deleteDeletedRealmRow(db: Database, id: string): Promise<void> {
  await db.delete(realms).where(and(eq(realms.id, id), isNotNull(realms.deletedAt)));
}

/**
 * The realm's row in its own database (`DATABASE`), which its rows there reference
 * (a foreign key); the row that counts stays in the deployment's database.
 */
export async function insertRealmReference(db: Database, id: string, createdAt: number): Promise<void> {
  await db.insert(realms).values({ id, createdAt }).onConflictDoNothing({ target: realms.id });
}

/** Removes that reference once the realm's rows there are gone. */
export async function deleteRealmReference(db: Database, id: string): Promise<void> {
  await db.delete(realms).where(eq(realms.id, id));
}
