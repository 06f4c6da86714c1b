/**
 * Queries of the admin API's user and session management (README, "Admin API:
 * users and sessions"): listing a realm's users, changing and deleting one, and
 * its sessions (refresh-token families).
 */
import { and, asc, eq, gt, isNull, or, sql, type SQL } from "drizzle-orm";
import { revokeAllPatsStatement } from "./personal-access-tokens";
import { revokeAllForUserStatement } from "./refresh-tokens";
import { personalAccessTokens, refreshTokens, tickets, userRoles, users, webauthnChallenges, webauthnCredentials } from "./schema";
import { parseRoles, rolesJson, runBatch, type Database, type Statement, type UserWithRoles } from "./users";

export interface UserListQuery {
  /** Case-insensitive prefix of the email, the display name or the phone number. */
  search?: string;
  role?: string;
  disabled?: boolean;
  limit: number;
  /** Only users whose id sorts after this one (the previous page's last). */
  afterId?: string;
}

// Above every character a prefix can continue with: SQLite compares text as
// UTF-8 bytes, and U+10FFFF is the largest code point.
const PREFIX_END = "\u{10FFFF}";

/**
 * One page of the realm's users in id order, `limit + 1` rows read so the caller
 * knows whether another page follows. Keyset pagination on the primary key
 * (`id > afterId`), no OFFSET: users inserted between two pages neither repeat
 * nor shift the rows already listed. Email and phone prefixes are ranges on the
 * (realm, lower(email)) and (realm, phone_number) unique indexes; display names have no
 * index, so a search reads the realm's users in id order until the page is full.
 */
export async function listUsers(db: Database, realm: string, query: UserListQuery): Promise<{ users: UserWithRoles[]; more: boolean }> {
  const conditions: (SQL | undefined)[] = [eq(users.realm, realm)];
  if (query.afterId !== undefined) conditions.push(gt(users.id, query.afterId));
  if (query.disabled !== undefined) conditions.push(eq(users.disabled, query.disabled));
  if (query.role !== undefined) {
    conditions.push(sql`EXISTS (SELECT 1 FROM ${userRoles} WHERE ${userRoles.userId} = ${users.id} AND ${userRoles.role} = ${query.role})`);
  }
  if (query.search !== undefined) {
    const lower = query.search.toLowerCase();
    conditions.push(
      or(
        and(sql`lower(${users.email}) >= ${lower}`, sql`lower(${users.email}) < ${lower + PREFIX_END}`),
        and(sql`${users.phoneNumber} >= ${query.search}`, sql`${users.phoneNumber} < ${query.search + PREFIX_END}`),
        sql`substr(lower(${users.displayName}), 1, ${[...lower].length}) = ${lower}`,
      ),
    );
  }
  const rows = await db
    .select({ user: users, roles: rolesJson })
    .from(users)
    .where(and(...conditions))
    .orderBy(asc(users.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit).map((row) => ({ ...row.user, roles: parseRoles(row.roles) }));
  return { users: page, more: rows.length > query.limit };
}

/** The columns an operator may change; absent fields stay as they are. */
export interface UserChange {
  email?: string | null;
  emailVerified?: boolean;
  phoneNumber?: string | null;
  phoneNumberVerified?: boolean;
  displayName?: string;
  locale?: string;
  defaultRole?: string;
  metadata?: Record<string, unknown>;
  disabled?: boolean;
  passwordHash?: string;
  /** Replaces the user's roles. */
  roles?: string[];
  /** End every session and PAT of the user in the same batch (disabling it, setting its password). */
  endSessions?: boolean;
  now: number;
}

/**
 * Applies `change` in one batch (the row, its roles, and with `endSessions` the
 * revocation of its sessions and PATs). False when the realm has no such user.
 * Throws the driver's error on a taken address (see `isUniqueViolation`).
 */
export async function updateUser(db: Database, realm: string, userId: string, change: UserChange): Promise<boolean> {
  const { roles, metadata, passwordHash, endSessions = false, now, ...columns } = change;
  const update = db
    .update(users)
    .set({
      ...columns,
      ...(metadata === undefined ? {} : { metadata: JSON.stringify(metadata) }),
      ...(passwordHash === undefined ? {} : { passwordHash, passwordChangedAt: now }),
      updatedAt: now,
    })
    .where(and(eq(users.realm, realm), eq(users.id, userId)))
    .returning({ id: users.id });
  const statements: Statement[] = [];
  if (roles !== undefined) {
    statements.push(db.delete(userRoles).where(and(eq(userRoles.realm, realm), eq(userRoles.userId, userId))));
    // Only when the user row is in this realm: an id of another realm gets no roles here.
    for (const role of roles) {
      statements.push(
        db
          .insert(userRoles)
          .select(sql`SELECT ${userId}, ${role}, ${realm} WHERE EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${userId} AND ${users.realm} = ${realm})`),
      );
    }
  }
  if (endSessions) statements.push(revokeAllForUserStatement(db, realm, userId, now), revokeAllPatsStatement(db, realm, userId, now));
  const [updated] = await db.batch([update, ...statements]);
  return updated.length > 0;
}

/**
 * Removes every row of the user in one batch: roles, sessions, tickets, PATs,
 * passkeys and their pending challenges, then the user. The foreign keys would
 * cascade most of these; deleting them by name keeps the batch complete should
 * they not be enforced. The audit log keeps its events (they are history).
 * False when the realm has no such user.
 */
export async function deleteUser(db: Database, realm: string, userId: string): Promise<boolean> {
  const [, , , , , , deleted] = await db.batch([
    db.delete(userRoles).where(and(eq(userRoles.realm, realm), eq(userRoles.userId, userId))),
    db.delete(refreshTokens).where(and(eq(refreshTokens.realm, realm), eq(refreshTokens.userId, userId))),
    db.delete(tickets).where(and(eq(tickets.realm, realm), eq(tickets.userId, userId))),
    db.delete(personalAccessTokens).where(and(eq(personalAccessTokens.realm, realm), eq(personalAccessTokens.userId, userId))),
    db.delete(webauthnCredentials).where(and(eq(webauthnCredentials.realm, realm), eq(webauthnCredentials.userId, userId))),
    db.delete(webauthnChallenges).where(and(eq(webauthnChallenges.realm, realm), eq(webauthnChallenges.userId, userId))),
    db
      .delete(users)
      .where(and(eq(users.realm, realm), eq(users.id, userId)))
      .returning({ id: users.id }),
  ]);
  return deleted.length > 0;
}

/** A session as the admin API lists it: one refresh-token family. */
export interface SessionSummary {
  id: string;
  /** When the family's first token was issued (sign-in). */
  createdAt: number;
  /** When its newest token was issued (the last refresh). */
  lastRefreshedAt: number;
  expiresAt: number;
  clientIp: string | null;
  userAgent: string | null;
}

/**
 * The user's live sessions, newest first: families with a token neither revoked
 * nor expired (the same test the account-changing routes make of a token's `sid`).
 */
export async function listLiveSessionsOfUser(db: Database, realm: string, userId: string, now: number): Promise<SessionSummary[]> {
  const live = sql`${refreshTokens.revokedAt} IS NULL AND ${refreshTokens.expiresAt} > ${now}`;
  return db
    .select({
      id: refreshTokens.familyId,
      createdAt: sql<number>`MIN(${refreshTokens.createdAt})`,
      lastRefreshedAt: sql<number>`MAX(${refreshTokens.createdAt})`,
      expiresAt: sql<number>`MAX(CASE WHEN ${live} THEN ${refreshTokens.expiresAt} END)`,
      // Copied unchanged along rotations: every row of a family holds the same.
      clientIp: sql<string | null>`MIN(${refreshTokens.clientIp})`,
      userAgent: sql<string | null>`MIN(${refreshTokens.userAgent})`,
    })
    .from(refreshTokens)
    .where(and(eq(refreshTokens.realm, realm), eq(refreshTokens.userId, userId)))
    .groupBy(refreshTokens.familyId)
    .having(sql`SUM(CASE WHEN ${live} THEN 1 ELSE 0 END) > 0`)
    .orderBy(sql`MAX(${refreshTokens.createdAt}) DESC`);
}

/** Ends one session of the user; false when it has no unrevoked token in that family. */
export async function revokeSessionOfUser(db: Database, realm: string, userId: string, familyId: string, now: number): Promise<boolean> {
  const revoked = await db
    .update(refreshTokens)
    .set({ revokedAt: now })
    .where(
      and(
        eq(refreshTokens.realm, realm),
        eq(refreshTokens.userId, userId),
        eq(refreshTokens.familyId, familyId),
        isNull(refreshTokens.revokedAt),
      ),
    )
    .returning({ id: refreshTokens.id });
  return revoked.length > 0;
}

/** Ends every session of the user. */
export async function revokeAllSessionsOfUser(db: Database, realm: string, userId: string, now: number): Promise<void> {
  await runBatch(db, [revokeAllForUserStatement(db, realm, userId, now)]);
}
