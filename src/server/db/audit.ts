/** Queries of the audit log. */
import { and, count, desc, eq, gte, lt, lte, or, sql, type SQL } from "drizzle-orm";
import { auditEvents } from "./schema";
import type { Database } from "./users";

export type AuditOutcome = "success" | "failure";
export type AuditActorType = "user" | "admin-key" | "admin-secret" | "anonymous";

export interface NewAuditEvent {
  id: string;
  realm: string;
  type: string;
  userId: string | null;
  actorType: AuditActorType;
  actorId: string | null;
  clientIp: string | null;
  userAgent: string | null;
  outcome: AuditOutcome;
  detail: Record<string, unknown>;
  createdAt: number;
}

export function insertAuditEventStatement(db: Database, event: NewAuditEvent) {
  return db.insert(auditEvents).values({ ...event, detail: JSON.stringify(event.detail) });
}

export type AuditEventRow = typeof auditEvents.$inferSelect;

/** Where a page ends: the last event's time and id (the list is newest first). */
export interface AuditPosition {
  createdAt: number;
  id: string;
}

export interface AuditFilter {
  type?: string;
  userId?: string;
  /** Inclusive bounds, ms since the epoch. */
  since?: number;
  until?: number;
  /** Only events older than this position (the next page). */
  after?: AuditPosition;
  limit: number;
}

/**
 * One page of a realm's events, newest first, by keyset on (created_at, id): an
 * event written while a client pages is newer than every page it has, so pages
 * neither repeat nor skip an event (OFFSET would shift them). The realm's
 * indexes on (realm, created_at, id), (realm, user_id, created_at) and
 * (realm, type, created_at) serve each filter.
 */
export function listAuditEvents(db: Database, realm: string, filter: AuditFilter): Promise<AuditEventRow[]> {
  const conditions: SQL[] = [eq(auditEvents.realm, realm)];
  if (filter.type !== undefined) conditions.push(eq(auditEvents.type, filter.type));
  if (filter.userId !== undefined) conditions.push(eq(auditEvents.userId, filter.userId));
  if (filter.since !== undefined) conditions.push(gte(auditEvents.createdAt, filter.since));
  if (filter.until !== undefined) conditions.push(lte(auditEvents.createdAt, filter.until));
  if (filter.after !== undefined) {
    const { createdAt, id } = filter.after;
    conditions.push(or(lt(auditEvents.createdAt, createdAt), and(eq(auditEvents.createdAt, createdAt), lt(auditEvents.id, id)))!);
  }
  return db
    .select()
    .from(auditEvents)
    .where(and(...conditions))
    .orderBy(desc(auditEvents.createdAt), desc(auditEvents.id))
    .limit(filter.limit);
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Successful sign-ins of a realm per UTC day since `since`, as `{ day, count }`
 * with `day` the days since the epoch. A first factor that still awaits its TOTP
 * code is not counted: `/signin/mfa/totp` records that sign-in.
 */
export async function countSignInsPerDay(db: Database, realm: string, since: number): Promise<{ day: number; count: number }[]> {
  // Inlined, not bound: a bound JS number may reach SQLite as a real, and this must be integer division.
  const day = sql<number>`${auditEvents.createdAt} / ${sql.raw(String(DAY_MS))}`;
  return db
    .select({ day, count: count() })
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.realm, realm),
        eq(auditEvents.type, "signin"),
        gte(auditEvents.createdAt, since),
        eq(auditEvents.outcome, "success"),
        sql`json_extract(${auditEvents.detail}, '$.secondFactor') IS NULL`,
      ),
    )
    .groupBy(day);
}
