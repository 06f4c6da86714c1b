/** Statements on personal access tokens shared beyond their own routes. */
import { and, eq, isNull } from "drizzle-orm";
import { personalAccessTokens } from "./schema";
import type { Database } from "./users";

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
