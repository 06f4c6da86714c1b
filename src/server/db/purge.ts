/**
 * The daily purge, run by a Cron Trigger (`[triggers]` in wrangler.toml): deletes
 * the rows that can never be used again, so that D1 does not grow with every
 * sign-in, refresh, mail and passkey ceremony.
 *
 * - refresh tokens past their expiry (rotated ones are kept until then: a reuse
 *   inside their lifetime must still be recognised and revoke the family);
 * - tickets, WebAuthn challenges and provider round trips past their expiry, used or not;
 * - provider tokens nobody fetched within a day;
 * - personal access tokens past their expiry;
 * - dev outbox mail older than a week;
 * - audit events older than AUDIT_RETENTION_DAYS;
 * - anonymous users older than a day with no live session: an anonymous user has
 *   no credential but its refresh token, so once that is gone (signed out, or
 *   unused for REFRESH_TOKEN_TTL_SECONDS) nobody can ever sign in as it again.
 *   Its rows in other tables go with it (foreign keys cascade).
 *
 * Deletes go in bounded chunks, each its own statement, so a large backlog never
 * becomes one long write that holds the database; what one run leaves, the next
 * one takes.
 *
 * Unlike every other db/ function these take no realm: they deliberately span all
 * realms (expiry is the same everywhere), and touch several aggregates' tables.
 */
import { and, eq, lt, sql, type SQL } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import { AUDIT_RETENTION_DAYS_DEFAULT } from "../config";
import { auditEvents, devOutbox, oauthStates, personalAccessTokens, providerSessions, refreshTokens, tickets, users, webauthnChallenges } from "./schema";
import type { Database } from "./users";

export const PURGE_CHUNK_ROWS = 1000;
/** At most this many chunks per table per run: 100,000 rows. */
const MAX_CHUNKS_PER_TABLE = 100;
export const DEV_OUTBOX_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** An anonymous user this young is kept even without a session (it may be signing in right now). */
export const ANONYMOUS_USER_GRACE_MS = 24 * 60 * 60 * 1000;
/**
 * Provider tokens wait for the app's one fetch right after the callback; a day
 * later nobody is coming for them.
 */
export const PROVIDER_SESSION_RETENTION_MS = 24 * 60 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

export type PurgeCounts = Record<string, number>;

/** What the deployment keeps for a set time (its settings). */
export interface Retention {
  auditRetentionDays: number;
}

const DEFAULT_RETENTION: Retention = { auditRetentionDays: AUDIT_RETENTION_DAYS_DEFAULT };

function purgeTargets(now: number, retention: Retention): { name: string; table: SQLiteTable; dead: SQL }[] {
  return [
    { name: "refresh_tokens", table: refreshTokens, dead: lt(refreshTokens.expiresAt, now) },
    { name: "tickets", table: tickets, dead: lt(tickets.expiresAt, now) },
    { name: "webauthn_challenges", table: webauthnChallenges, dead: lt(webauthnChallenges.expiresAt, now) },
    { name: "oauth_states", table: oauthStates, dead: lt(oauthStates.expiresAt, now) },
    { name: "provider_sessions", table: providerSessions, dead: lt(providerSessions.createdAt, now - PROVIDER_SESSION_RETENTION_MS) },
    { name: "personal_access_tokens", table: personalAccessTokens, dead: lt(personalAccessTokens.expiresAt, now) },
    { name: "dev_outbox", table: devOutbox, dead: lt(devOutbox.createdAt, now - DEV_OUTBOX_RETENTION_MS) },
    // Served by the index on created_at alone: expiry spans every realm.
    { name: "audit_events", table: auditEvents, dead: lt(auditEvents.createdAt, now - retention.auditRetentionDays * DAY_MS) },
    {
      name: "anonymous_users",
      table: users,
      dead: and(
        eq(users.isAnonymous, true),
        lt(users.createdAt, now - ANONYMOUS_USER_GRACE_MS),
        sql`NOT EXISTS (SELECT 1 FROM ${refreshTokens} WHERE ${refreshTokens.userId} = ${users.id}
              AND ${refreshTokens.revokedAt} IS NULL AND ${refreshTokens.expiresAt} > ${now})`,
      )!,
    },
  ];
}

/** One chunk's delete for the target `name` (exported so a test can read its query plan). */
export function purgeChunkStatement(name: string, now: number, retention: Retention = DEFAULT_RETENTION): SQL {
  const target = purgeTargets(now, retention).find((candidate) => candidate.name === name);
  if (target === undefined) throw new Error(`no purge target ${name}`);
  return chunkStatement(target);
}

function chunkStatement({ table, dead }: { table: SQLiteTable; dead: SQL }): SQL {
  return sql`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${dead} LIMIT ${PURGE_CHUNK_ROWS})`;
}

/** Deletes what can never be used again as of `now`; answers how many rows of each table went. */
export async function purgeExpiredRows(db: Database, now: number, retention: Retention = DEFAULT_RETENTION): Promise<PurgeCounts> {
  const counts: PurgeCounts = {};
  for (const target of purgeTargets(now, retention)) {
    let deleted = 0;
    for (let chunk = 0; chunk < MAX_CHUNKS_PER_TABLE; chunk++) {
      const result = await db.run(chunkStatement(target));
      const changes = result.meta.changes;
      deleted += changes;
      if (changes < PURGE_CHUNK_ROWS) break;
    }
    counts[target.name] = deleted;
  }
  return counts;
}
