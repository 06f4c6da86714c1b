/** Queries of personal access tokens: long-lived, stored as their SHA-256, exchanged for sessions. */
import { and, desc, eq, gt, isNull, sql } from "drizzle-orm";
import { insertRefreshTokenIfStatement, type NewRefreshToken } from "./refresh-tokens";
import { personalAccessTokens } from "./schema";
import type { Database } from "./users";

export type PersonalAccessTokenRow = typeof personalAccessTokens.$inferSelect;

/**
 * Revokes every PAT of the user: with a password reset, a password change and
 * "sign out everywhere", so that a token an intruder minted does not outlive
 * the user taking the account back.
 */
export function revokeAllPatsStatement(db: Database, realm: string, userId: string, now: number) {
  return db
    .update(personalAccessTokens)
    .set({ revokedAt: now })
    .where(
      and(eq(personalAccessTokens.realm, realm), eq(personalAccessTokens.userId, userId), isNull(personalAccessTokens.revokedAt)),
    );
}

export async function insertPat(
  db: Database,
  realm: string,
  pat: { id: string; userId: string; tokenHash: string; metadata: Record<string, unknown>; createdAt: number; expiresAt: number },
): Promise<void> {
  await db.insert(personalAccessTokens).values({ ...pat, realm, metadata: JSON.stringify(pat.metadata) });
}

/** The user's unrevoked PATs (expired ones included until the purge takes them), newest first. */
export function listUnrevokedPatsOfUser(db: Database, realm: string, userId: string): Promise<PersonalAccessTokenRow[]> {
  return db
    .select()
    .from(personalAccessTokens)
    .where(
      and(eq(personalAccessTokens.realm, realm), eq(personalAccessTokens.userId, userId), isNull(personalAccessTokens.revokedAt)),
    )
    .orderBy(desc(personalAccessTokens.createdAt));
}

/** Revokes one of the user's PATs; false when it has none by that id still unrevoked. */
export async function revokePatOfUser(db: Database, realm: string, userId: string, id: string, now: number): Promise<boolean> {
  const revoked = await db
    .update(personalAccessTokens)
    .set({ revokedAt: now })
    .where(
      and(
        eq(personalAccessTokens.realm, realm),
        eq(personalAccessTokens.id, id),
        eq(personalAccessTokens.userId, userId),
        isNull(personalAccessTokens.revokedAt),
      ),
    )
    .returning({ id: personalAccessTokens.id });
  return revoked.length > 0;
}

function livePat(realm: string, tokenHash: string, now: number) {
  return and(
    eq(personalAccessTokens.realm, realm),
    eq(personalAccessTokens.tokenHash, tokenHash),
    isNull(personalAccessTokens.revokedAt),
    gt(personalAccessTokens.expiresAt, now),
  );
}

/** The owner of the live (unrevoked, unexpired) PAT with this hash; null when there is none. */
export async function findLivePatOwner(db: Database, realm: string, tokenHash: string, now: number): Promise<string | null> {
  const found = await db
    .select({ userId: personalAccessTokens.userId })
    .from(personalAccessTokens)
    .where(livePat(realm, tokenHash, now))
    .limit(1);
  return found[0]?.userId ?? null;
}

/**
 * One batch: records the PAT's use and inserts the session only if the token is
 * still live when the batch runs (a revocation in between wins). False when it
 * was not, and nothing was written.
 */
export async function startSessionWithPat(
  db: Database,
  realm: string,
  { tokenHash, now, session }: { tokenHash: string; now: number; session: NewRefreshToken },
): Promise<boolean> {
  const live = livePat(realm, tokenHash, now);
  const [used] = await db.batch([
    db.update(personalAccessTokens).set({ lastUsedAt: now }).where(live),
    insertRefreshTokenIfStatement(db, session, sql`EXISTS (SELECT 1 FROM ${personalAccessTokens} WHERE ${live})`),
  ]);
  return used.meta.changes > 0;
}
