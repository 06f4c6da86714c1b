/** Counts for the admin API's realm overview (`GET /admin/realms/{realm}/stats`). */
import { and, count, countDistinct, eq, gt, isNull } from "drizzle-orm";
import { refreshTokens, users } from "./schema";
import type { Database } from "./users";

/** The realm's users and live sessions (families with an unrevoked, unexpired token) as of `now`. */
export async function countUsersAndSessions(db: Database, realm: string, now: number): Promise<{ users: number; activeSessions: number }> {
  const [userRows, sessionRows] = await db.batch([
    db.select({ n: count() }).from(users).where(eq(users.realm, realm)),
    db
      .select({ n: countDistinct(refreshTokens.familyId) })
      .from(refreshTokens)
      .where(and(eq(refreshTokens.realm, realm), isNull(refreshTokens.revokedAt), gt(refreshTokens.expiresAt, now))),
  ]);
  return { users: userRows[0]?.n ?? 0, activeSessions: sessionRows[0]?.n ?? 0 };
}
