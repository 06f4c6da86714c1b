/** Queries of the passkey aggregate: credentials and their single-use challenges. */
import { and, count, eq, gt, isNull, lt, sql, type SQL } from "drizzle-orm";
import { insertRefreshTokenIfStatement, type NewRefreshToken } from "./refresh-tokens";
import { webauthnChallenges, webauthnCredentials } from "./schema";
import type { Database } from "./users";

export type WebauthnCredentialRow = typeof webauthnCredentials.$inferSelect;
export type NewWebauthnCredential = typeof webauthnCredentials.$inferInsert;
export type Ceremony = "signup" | "signin" | "add" | "elevate";

export async function countCredentialsOfUser(db: Database, realm: string, userId: string): Promise<number> {
  const rows = await db
    .select({ n: count() })
    .from(webauthnCredentials)
    .where(and(eq(webauthnCredentials.realm, realm), eq(webauthnCredentials.userId, userId)));
  return rows[0]?.n ?? 0;
}

export function listCredentialsOfUser(db: Database, realm: string, userId: string): Promise<WebauthnCredentialRow[]> {
  return db
    .select()
    .from(webauthnCredentials)
    .where(and(eq(webauthnCredentials.realm, realm), eq(webauthnCredentials.userId, userId)))
    .orderBy(webauthnCredentials.createdAt);
}

export async function findCredential(db: Database, realm: string, id: string): Promise<WebauthnCredentialRow | null> {
  const rows = await db
    .select()
    .from(webauthnCredentials)
    .where(and(eq(webauthnCredentials.realm, realm), eq(webauthnCredentials.id, id)))
    .limit(1);
  return rows[0] ?? null;
}

export function insertCredentialStatement(db: Database, credential: NewWebauthnCredential) {
  return db.insert(webauthnCredentials).values(credential);
}

export async function insertCredential(db: Database, credential: NewWebauthnCredential): Promise<void> {
  await insertCredentialStatement(db, credential);
}

/** The column a second registration of the same passkey collides on (see `isUniqueViolation`). */
export const CREDENTIAL_ID_COLUMN = "webauthn_credentials.id";

/**
 * Records an assertion's counter, only if it increased (or both are 0), and
 * marks the credential with the request's nonce so that the session insert
 * batched after it (see `assertionRecordedBy`) happens exactly when this did.
 */
function recordAssertionStatement(
  db: Database,
  assertion: { realm: string; id: string; newCounter: number; now: number; nonce: string },
) {
  const { realm, id, newCounter, now, nonce } = assertion;
  return db
    .update(webauthnCredentials)
    .set({ counter: newCounter, lastUsedAt: now, lastAssertion: nonce })
    .where(
      and(
        eq(webauthnCredentials.realm, realm),
        eq(webauthnCredentials.id, id),
        newCounter === 0 ? eq(webauthnCredentials.counter, 0) : lt(webauthnCredentials.counter, newCounter),
      ),
    );
}

/** True in SQL when the assertion with `nonce` was recorded on credential `id`. */
function assertionRecordedBy(id: string, nonce: string): SQL {
  return sql`EXISTS (SELECT 1 FROM ${webauthnCredentials} WHERE ${webauthnCredentials.id} = ${id} AND ${webauthnCredentials.lastAssertion} = ${nonce})`;
}

/**
 * Records a successful assertion and starts the session in one batch. The
 * record is conditional on the stored counter still being below the new one (or
 * both zero: authenticators without counters), so two concurrent assertions
 * carrying the same counter cannot both succeed; the session row exists only if
 * the record was written. False when it was not.
 */
export async function recordAssertionWithSession(
  db: Database,
  realm: string,
  { id, newCounter, now, session }: { id: string; newCounter: number; now: number; session: NewRefreshToken },
): Promise<boolean> {
  const nonce = crypto.randomUUID();
  const [recorded] = await db.batch([
    recordAssertionStatement(db, { realm, id, newCounter, now, nonce }),
    insertRefreshTokenIfStatement(db, session, assertionRecordedBy(id, nonce)),
  ]);
  return recorded.meta.changes > 0;
}

export async function deleteCredentialOfUser(db: Database, realm: string, userId: string, id: string): Promise<boolean> {
  const deleted = await db
    .delete(webauthnCredentials)
    .where(and(eq(webauthnCredentials.realm, realm), eq(webauthnCredentials.userId, userId), eq(webauthnCredentials.id, id)))
    .returning({ id: webauthnCredentials.id });
  return deleted.length === 1;
}

export function insertChallengeStatement(
  db: Database,
  challenge: { challengeHash: string; realm: string; ceremony: Ceremony; userId: string | null; payload: string | null; now: number; ttlSeconds: number },
) {
  return db.insert(webauthnChallenges).values({
    challengeHash: challenge.challengeHash,
    realm: challenge.realm,
    ceremony: challenge.ceremony,
    userId: challenge.userId,
    payload: challenge.payload,
    createdAt: challenge.now,
    expiresAt: challenge.now + challenge.ttlSeconds * 1000,
  });
}

/**
 * Marks a challenge used, once: the conditional UPDATE succeeds for exactly one
 * caller, only before expiry, and only for the ceremony (and user, when the
 * caller knows it) the challenge was issued for. Null when nothing matched.
 */
export async function consumeChallenge(
  db: Database,
  where: { realm: string; challengeHash: string; ceremony: Ceremony; userId?: string; now: number },
): Promise<{ userId: string | null; payload: string | null } | null> {
  const rows = await db
    .update(webauthnChallenges)
    .set({ usedAt: where.now })
    .where(
      and(
        eq(webauthnChallenges.realm, where.realm),
        eq(webauthnChallenges.challengeHash, where.challengeHash),
        eq(webauthnChallenges.ceremony, where.ceremony),
        isNull(webauthnChallenges.usedAt),
        gt(webauthnChallenges.expiresAt, where.now),
        where.userId === undefined ? undefined : eq(webauthnChallenges.userId, where.userId),
      ),
    )
    .returning({ userId: webauthnChallenges.userId, payload: webauthnChallenges.payload });
  return rows[0] ?? null;
}
