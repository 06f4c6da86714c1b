/** Queries of the session aggregate: refresh-token rows and their families. */
import { and, eq, gt, isNull, ne, sql, type SQL } from "drizzle-orm";
import { refreshTokens, users, type RefreshTokenRow, type UserRow } from "./schema";
import { findUserWhere, parseRoles, rolesJson, type Database, type UserWithRoles } from "./users";

export interface NewRefreshToken {
  id: string;
  realm: string;
  userId: string;
  familyId: string;
  tokenHash: string;
  createdAt: number;
  expiresAt: number;
  sessionExpiresAt: number | null;
  /** Where the session was started from: the client's address and user agent. */
  clientIp: string | null;
  userAgent: string | null;
}

export function insertRefreshTokenStatement(db: Database, row: NewRefreshToken) {
  return db.insert(refreshTokens).values(row);
}

/**
 * Inserts the session only if `guard` holds when the statement runs: batched
 * after the write that checks a credential, the session exists exactly when that
 * check passed, in one transaction.
 */
export function insertRefreshTokenIfStatement(db: Database, row: NewRefreshToken, guard: SQL) {
  // Column order of the table: id, realm, user_id, family_id, token_hash, created_at, expires_at, rotated_at, revoked_at,
  // session_expires_at, client_ip, user_agent.
  return db
    .insert(refreshTokens)
    .select(
      sql`SELECT ${row.id}, ${row.realm}, ${row.userId}, ${row.familyId}, ${row.tokenHash}, ${row.createdAt}, ${row.expiresAt}, NULL, NULL, ${row.sessionExpiresAt}, ${row.clientIp}, ${row.userAgent} WHERE ${guard}`,
    );
}

/** A refresh-token row found by its hash, with its owner, in one round trip. */
export async function findRefreshTokenByHash(
  db: Database,
  realm: string,
  tokenHash: string,
): Promise<{ token: RefreshTokenRow; user: UserWithRoles } | null> {
  const rows = await db
    .select({ token: refreshTokens, user: users, roles: rolesJson })
    .from(refreshTokens)
    .innerJoin(users, eq(users.id, refreshTokens.userId))
    .where(and(eq(refreshTokens.realm, realm), eq(refreshTokens.tokenHash, tokenHash)))
    .limit(1);
  const row = rows[0];
  return row ? { token: row.token, user: { ...(row.user as UserRow), roles: parseRoles(row.roles) } } : null;
}

export interface RotationInput {
  realm: string;
  parentHash: string;
  child: { id: string; tokenHash: string; expiresAt: number };
  now: number;
  /** A parent rotated at or after this time may hand out its child again. */
  graceStart: number;
  /** REQUIRE_VERIFIED_EMAIL: an unverified (non-anonymous) owner's token does not rotate. */
  requireVerifiedEmail: boolean;
}

export interface RotationOutcome {
  parent: Pick<RefreshTokenRow, "id" | "familyId" | "expiresAt" | "rotatedAt" | "revokedAt">;
  user: UserWithRoles;
  /** null: the child does not exist; otherwise whether it has been revoked. */
  childRevoked: boolean | null;
}

/**
 * One round trip, one transaction: inserts the parent's child (only while the
 * parent is live and either unrotated or rotated inside the grace window), marks
 * the parent rotated if it was not, and reads back the parent, its owner and the
 * child's state. The caller decides from what it reads; because the three
 * statements run atomically, a concurrent reuse detection can never be outrun by
 * a fresh child. Null when no refresh token has this hash.
 */
export async function rotateRefreshToken(db: Database, input: RotationInput): Promise<RotationOutcome | null> {
  const { realm, parentHash, child, now, graceStart, requireVerifiedEmail } = input;
  // tokens/may-sign-in.ts's rule, in SQL. A refused refresh must not rotate: once
  // the owner is re-enabled or verified, the same token would otherwise read as a
  // replay and end the session.
  const ownerRefused = requireVerifiedEmail
    ? sql`${users.disabled} = 1 OR (${users.emailVerified} = 0 AND ${users.isAnonymous} = 0)`
    : sql`${users.disabled} = 1`;
  const parentIsLive = and(
    eq(refreshTokens.realm, realm),
    eq(refreshTokens.tokenHash, parentHash),
    isNull(refreshTokens.revokedAt),
    gt(refreshTokens.expiresAt, now),
    sql`NOT EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${refreshTokens.userId} AND (${ownerRefused}))`,
  );
  const parentByHash = sql`FROM ${refreshTokens} WHERE ${refreshTokens.realm} = ${realm} AND ${refreshTokens.tokenHash} = ${parentHash}`;
  const [, , rows] = await db.batch([
    // Column order of the table: id, realm, user_id, family_id, token_hash, created_at, expires_at, rotated_at, revoked_at,
    // session_expires_at, client_ip, user_agent.
    // The child inherits the session's absolute end, and expires by it at the latest, and where it was started from.
    db
      .insert(refreshTokens)
      .select(
        sql`SELECT ${child.id}, realm, user_id, family_id, ${child.tokenHash}, ${now},
                   CASE WHEN session_expires_at IS NULL THEN ${child.expiresAt} ELSE MIN(${child.expiresAt}, session_expires_at) END,
                   NULL, NULL, session_expires_at, client_ip, user_agent
            FROM ${refreshTokens}
            WHERE ${parentIsLive} AND (rotated_at IS NULL OR rotated_at >= ${graceStart})`,
      )
      .onConflictDoNothing(),
    db.update(refreshTokens).set({ rotatedAt: now }).where(and(parentIsLive, isNull(refreshTokens.rotatedAt))),
    // The user row plus the parent as one JSON column: a batched select must not
    // return two columns of the same name (both tables have `id`), or drizzle's
    // positional mapping of D1's batch results shifts.
    db
      .select({
        user: users,
        roles: rolesJson,
        parent: sql<string>`(SELECT json_object('id', id, 'familyId', family_id, 'expiresAt', expires_at, 'rotatedAt', rotated_at, 'revokedAt', revoked_at) ${parentByHash})`,
        childRevoked: sql<number | null>`(SELECT revoked_at IS NOT NULL FROM ${refreshTokens} WHERE id = ${child.id})`,
      })
      .from(users)
      .where(sql`${users.id} = (SELECT user_id ${parentByHash})`)
      .limit(1),
  ]);
  const row = rows[0];
  if (row === undefined) return null;
  return {
    parent: JSON.parse(row.parent) as RotationOutcome["parent"],
    user: { ...row.user, roles: parseRoles(row.roles) },
    childRevoked: row.childRevoked === null ? null : row.childRevoked === 1,
  };
}

/** Ends one session: every token of the family. */
export async function revokeFamily(db: Database, realm: string, familyId: string, now: number): Promise<void> {
  await db
    .update(refreshTokens)
    .set({ revokedAt: now })
    .where(and(eq(refreshTokens.realm, realm), eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
}

export function revokeAllForUserStatement(db: Database, realm: string, userId: string, now: number) {
  return db
    .update(refreshTokens)
    .set({ revokedAt: now })
    .where(and(eq(refreshTokens.realm, realm), eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)));
}

/** Ends every session of the user but one (the caller's own). */
export function revokeOtherFamiliesStatement(db: Database, realm: string, userId: string, keepFamilyId: string, now: number) {
  return db
    .update(refreshTokens)
    .set({ revokedAt: now })
    .where(
      and(
        eq(refreshTokens.realm, realm),
        eq(refreshTokens.userId, userId),
        ne(refreshTokens.familyId, keepFamilyId),
        isNull(refreshTokens.revokedAt),
      ),
    );
}

/**
 * The user `userId`, only while the session family `familyId` (an access token's
 * `sid`) still has an unrevoked, unexpired token: one round trip for both.
 */
export function findUserWithLiveSession(
  db: Database,
  realm: string,
  userId: string,
  familyId: string,
  now: number,
): Promise<UserWithRoles | null> {
  return findUserWhere(
    db,
    realm,
    and(
      eq(users.id, userId),
      sql`EXISTS (SELECT 1 FROM ${refreshTokens} WHERE ${refreshTokens.realm} = ${realm} AND ${refreshTokens.familyId} = ${familyId}
            AND ${refreshTokens.revokedAt} IS NULL AND ${refreshTokens.expiresAt} > ${now})`,
    )!,
  );
}
