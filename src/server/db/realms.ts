/** Queries of the realm aggregate. */
import { and, asc, desc, eq, isNotNull, isNull, sql } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import {
  adminApiKeys,
  auditEvents,
  devOutbox,
  emailTemplates,
  personalAccessTokens,
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

/** Realms marked deleted whose rows are still being removed, oldest first. */
export async function deletedRealms(db: Database, limit: number): Promise<{ id: string; deletedAt: number }[]> {
  const rows = await db
    .select({ id: realms.id, deletedAt: realms.deletedAt })
    .from(realms)
    .where(isNotNull(realms.deletedAt))
    .orderBy(asc(realms.deletedAt))
    .limit(limit);
  return rows.map((row) => ({ id: row.id, deletedAt: row.deletedAt! }));
}

type RealmTable = SQLiteTable & { realm: typeof users.realm };
type UserOwnedTable = RealmTable & { userId: typeof refreshTokens.userId };

/**
 * The tables holding a realm's rows, in the order a deletion empties them: rows
 * that point at users before the users (whose `realm` references `realms`). Rows
 * owned by a user are found through the user (their `user_id` is indexed; their
 * `realm` is not); the others by `realm`.
 */
export const REALM_OWNED_TABLES: ({ name: string } & ({ ownedBy: "user"; table: UserOwnedTable } | { ownedBy: "realm"; table: RealmTable }))[] = [
  { name: "refresh_tokens", ownedBy: "user", table: refreshTokens },
  { name: "tickets", ownedBy: "user", table: tickets },
  { name: "personal_access_tokens", ownedBy: "user", table: personalAccessTokens },
  { name: "webauthn_credentials", ownedBy: "user", table: webauthnCredentials },
  { name: "user_roles", ownedBy: "user", table: userRoles },
  { name: "webauthn_challenges", ownedBy: "realm", table: webauthnChallenges },
  { name: "dev_outbox", ownedBy: "realm", table: devOutbox },
  { name: "email_templates", ownedBy: "realm", table: emailTemplates },
  { name: "admin_api_keys", ownedBy: "realm", table: adminApiKeys },
  { name: "audit_events", ownedBy: "realm", table: auditEvents },
  { name: "users", ownedBy: "realm", table: users },
] as never;

/**
 * Deletes at most `chunkRows` of the deleted realm's rows from `target`; answers
 * how many went. Bounded, so that a large realm never becomes one long write. Only
 * a realm marked deleted is touched: the check is in the statement, not the caller.
 */
export async function deleteDeletedRealmRows(db: Database, realm: string, target: (typeof REALM_OWNED_TABLES)[number], chunkRows: number): Promise<number> {
  const { table } = target;
  const owned =
    target.ownedBy === "user"
      ? sql`${target.table.userId} IN (SELECT ${users.id} FROM ${users} WHERE ${users.realm} = ${realm})`
      : sql`${table.realm} = ${realm}`;
  const result = await db.run(sql`DELETE FROM ${table} WHERE rowid IN (
    SELECT rowid FROM ${table} WHERE ${owned}
      AND EXISTS (SELECT 1 FROM ${realms} WHERE ${realms.id} = ${realm} AND ${realms.deletedAt} IS NOT NULL)
    LIMIT ${chunkRows})`);
  return result.meta.changes;
}

/** Removes the row of a deleted realm, once nothing references it. */
export async function deleteDeletedRealmRow(db: Database, id: string): Promise<void> {
  await db.delete(realms).where(and(eq(realms.id, id), isNotNull(realms.deletedAt)));
}
