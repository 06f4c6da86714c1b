/** Queries of the user aggregate: users and their roles. */
import { and, eq, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { userRoles, users, type UserRow } from "./schema";

export type Database = DrizzleD1Database<Record<string, never>>;

/** A statement not yet run, for a caller to put in a batch (one transaction) with others. */
export type Statement = BatchItem<"sqlite">;

export interface UserWithRoles extends UserRow {
  roles: string[];
}

/** The user's roles as a JSON array, selected with the user in one round trip. */
export const rolesJson = sql<string>`(SELECT json_group_array(${userRoles.role}) FROM ${userRoles} WHERE ${userRoles.userId} = ${users.id})`;

export function parseRoles(json: string | null): string[] {
  if (json === null) return [];
  const parsed: unknown = JSON.parse(json);
  // Sorted, so a user's roles read the same whatever order SQLite aggregates them in.
  return Array.isArray(parsed) ? parsed.filter((role): role is string => typeof role === "string").sort() : [];
}

export async function findUserWhere(db: Database, realm: string, condition: SQL): Promise<UserWithRoles | null> {
  const rows = await db
    .select({ user: users, roles: rolesJson })
    .from(users)
    .where(and(eq(users.realm, realm), condition))
    .limit(1);
  const row = rows[0];
  return row ? { ...row.user, roles: parseRoles(row.roles) } : null;
}

/** The account of an address, whatever its case: the same expression as the unique index, so SQLite searches that index. */
export function findUserByEmail(db: Database, realm: string, email: string): Promise<UserWithRoles | null> {
  return findUserWhere(db, realm, sql`lower(${users.email}) = lower(${email})`);
}

export function findUserByPhone(db: Database, realm: string, phoneNumber: string): Promise<UserWithRoles | null> {
  return findUserWhere(db, realm, eq(users.phoneNumber, phoneNumber));
}

export function findUserById(db: Database, realm: string, id: string): Promise<UserWithRoles | null> {
  return findUserWhere(db, realm, eq(users.id, id));
}

export interface NewUser {
  id: string;
  realm: string;
  email: string | null;
  phoneNumber?: string | null;
  passwordHash: string | null;
  displayName: string;
  locale: string;
  defaultRole: string;
  roles: string[];
  metadata: Record<string, unknown>;
  emailVerified: boolean;
  isAnonymous: boolean;
  disabled?: boolean;
  /** Empty for none (the Gravatar URL of a self sign-up, a social provider's picture). */
  avatarUrl?: string;
  now: number;
}

/**
 * The statements that insert a user and its roles, and the row as it will read
 * back. The caller batches the statements (with the session, for sign-up) so
 * nothing is half-written.
 */
export function insertUserStatements(db: Database, user: NewUser) {
  const row: UserWithRoles = {
    id: user.id,
    realm: user.realm,
    email: user.email,
    emailVerified: user.emailVerified,
    phoneNumber: user.phoneNumber ?? null,
    phoneNumberVerified: false,
    passwordHash: user.passwordHash,
    passwordChangedAt: null,
    displayName: user.displayName,
    avatarUrl: user.avatarUrl ?? "",
    locale: user.locale,
    defaultRole: user.defaultRole,
    metadata: JSON.stringify(user.metadata),
    isAnonymous: user.isAnonymous,
    disabled: user.disabled ?? false,
    activeMfaType: null,
    totpSecretEncrypted: null,
    totpLastStep: null,
    createdAt: user.now,
    updatedAt: user.now,
    roles: [...user.roles].sort(),
  };
  const { roles, ...userColumns } = row;
  const statements = [
    db.insert(users).values(userColumns),
    db.insert(userRoles).values(roles.map((role) => ({ userId: user.id, role, realm: user.realm }))),
  ] as const;
  return { row, statements };
}

/** A new password chosen after sign-up (change or reset). */
export function updatePasswordStatement(db: Database, realm: string, userId: string, passwordHash: string, now: number) {
  return db
    .update(users)
    .set({ passwordHash, passwordChangedAt: now, updatedAt: now })
    .where(and(eq(users.realm, realm), eq(users.id, userId)));
}

/**
 * Replaces the hash that just verified, only while the row still holds it: a
 * password change or reset that lands between our read and this write is never
 * overwritten.
 */
export function rehashPasswordStatement(
  db: Database,
  realm: string,
  userId: string,
  verifiedHash: string,
  passwordHash: string,
  now: number,
) {
  return db
    .update(users)
    .set({ passwordHash, updatedAt: now })
    .where(and(eq(users.realm, realm), eq(users.id, userId), eq(users.passwordHash, verifiedHash)));
}

/** The address was proven (a followed link, an entered code). */
export function markEmailVerifiedStatement(db: Database, realm: string, userId: string, now: number) {
  return db
    .update(users)
    .set({ emailVerified: true, updatedAt: now })
    .where(and(eq(users.realm, realm), eq(users.id, userId)));
}

export function markPhoneNumberVerifiedStatement(db: Database, realm: string, userId: string, now: number) {
  return db
    .update(users)
    .set({ phoneNumberVerified: true, updatedAt: now })
    .where(and(eq(users.realm, realm), eq(users.id, userId)));
}

/** An email change confirmed by a link to the new address: the account moves to it, verified. */
export function changeEmailStatement(db: Database, realm: string, userId: string, email: string, now: number) {
  return db
    .update(users)
    .set({ email, emailVerified: true, updatedAt: now })
    .where(and(eq(users.realm, realm), eq(users.id, userId)));
}

/** What an anonymous user becomes; `displayName` and `metadata` are left as they are when absent. */
export interface Deanonymization {
  /** Absent for an SMS deanonymization: the number was set when it was asked for. */
  email?: string;
  passwordHash?: string | null;
  defaultRole: string;
  roles: string[];
  locale: string;
  displayName?: string;
  metadata?: Record<string, unknown>;
  now: number;
}

/**
 * The statements that turn an anonymous user into a regular one, same id (so
 * the same sessions: the next refresh carries the new roles). The update holds
 * only while the user is still anonymous.
 */
export function deanonymizeStatements(db: Database, realm: string, userId: string, change: Deanonymization) {
  const { roles, displayName, metadata, now, ...columns } = change;
  return [
    db
      .update(users)
      .set({
        ...columns,
        ...(columns.email === undefined ? {} : { emailVerified: false }),
        isAnonymous: false,
        ...(displayName === undefined ? {} : { displayName }),
        ...(metadata === undefined ? {} : { metadata: JSON.stringify(metadata) }),
        updatedAt: now,
      })
      .where(and(eq(users.realm, realm), eq(users.id, userId), eq(users.isAnonymous, true))),
    db.delete(userRoles).where(eq(userRoles.userId, userId)),
    db.insert(userRoles).values(roles.map((role) => ({ userId, role, realm }))),
  ] as const;
}

/** `deanonymizeStatements` in one batch. Throws the driver's error on a taken address (see `isUniqueViolation`). */
export async function deanonymizeUser(db: Database, realm: string, userId: string, change: Deanonymization): Promise<void> {
  await db.batch(deanonymizeStatements(db, realm, userId, change));
}

/**
 * Sets the user's phone number, `verified` or not. Throws the driver's error when
 * another account of the realm has it (see `isUniqueViolation`).
 */
export function setPhoneNumberStatement(db: Database, realm: string, userId: string, phoneNumber: string, verified: boolean, now: number) {
  return db
    .update(users)
    .set({ phoneNumber, phoneNumberVerified: verified, updatedAt: now })
    .where(and(eq(users.realm, realm), eq(users.id, userId)));
}

/** Runs statements assembled at run time (some lists may be empty) as one batch: one transaction. */
export async function runBatch(db: Database, statements: BatchItem<"sqlite">[]): Promise<void> {
  const [first, ...rest] = statements;
  if (first !== undefined) await db.batch([first, ...rest]);
}
