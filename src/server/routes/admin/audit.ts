/**
 * The audit log and a realm's overview for operators (README, "Audit"):
 * `GET /admin/realms/{realm}/audit` (scope `audit:read`) and
 * `GET /admin/realms/{realm}/stats` (scope `users:read`: counts of the realm's
 * users and sign-ins, nothing about any one event).
 */
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../../context";
import { countSignInsPerDay, listAuditEvents, type AuditEventRow, type AuditPosition } from "../../db/audit";
import { countUsersAndSessions } from "../../db/stats";
import { AuthError } from "../../errors";
import { describeIssue } from "../../lib/body";
import { boundedString } from "../../lib/schema";
import { AUDIT_EVENT_TYPES } from "../../services/audit";
import { adminRealm, authenticateAdmin, requireScope, type AdminScope } from "./access";

export const AUDIT_PAGE_LIMIT_DEFAULT = 50;
export const AUDIT_PAGE_LIMIT_MAX = 200;
/** The stats cover today (UTC) and the 29 days before it. */
export const STATS_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

const isoTime = z.iso.datetime({ offset: true });

// Strict: a misspelt filter must not silently answer the unfiltered log.
const auditQuery = z.strictObject({
  type: z.optional(z.enum(AUDIT_EVENT_TYPES)),
  userId: z.optional(boundedString(1, 64)),
  since: z.optional(isoTime),
  until: z.optional(isoTime),
  limit: z.optional(z.string().check(z.regex(/^\d{1,3}$/, "must be a whole number from 1 to 200"))),
  cursor: z.optional(boundedString(1, 256)),
});

/** The admin routes of this module, for the OpenAPI document. */
export const adminAuditOperations: { method: "get"; path: string; summary: string; scope: AdminScope; query?: z.ZodMiniType }[] = [
  {
    method: "get",
    path: "/admin/realms/{realm}/audit",
    summary: "The realm's audit events, newest first, filtered and paged with an opaque cursor",
    scope: "audit:read",
    query: auditQuery,
  },
  {
    method: "get",
    path: "/admin/realms/{realm}/stats",
    summary: "The realm's users, live sessions and successful sign-ins per day over the last 30 days",
    scope: "users:read",
  },
];

/** The cursor is where the page ended, opaque to clients: base64url of `createdAt.id`. */
function encodeCursor(position: AuditPosition): string {
  return btoa(`${position.createdAt}.${position.id}`).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodeCursor(cursor: string): AuditPosition | null {
  let text: string;
  try {
    text = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    return null;
  }
  const match = /^(\d{1,15})\.([\w-]{1,64})$/.exec(text);
  return match === null ? null : { createdAt: Number(match[1]), id: match[2]! };
}

function toAuditEvent(row: AuditEventRow) {
  let detail: unknown = {};
  try {
    detail = JSON.parse(row.detail);
  } catch {
    // Written by us as JSON; an unreadable value is shown empty rather than failing the page.
  }
  return {
    id: row.id,
    type: row.type,
    outcome: row.outcome,
    userId: row.userId,
    actor: { type: row.actorType, id: row.actorId },
    clientIp: row.clientIp,
    userAgent: row.userAgent,
    detail,
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

export const adminAuditRoutes = new Hono<AppEnv>()
  .get("/audit", authenticateAdmin, adminRealm, requireScope("audit:read"), async (c) => {
    const { db, realm } = c.var.context;
    const parsed = auditQuery.safeParse(c.req.query());
    if (!parsed.success) throw new AuthError("invalid-request", describeIssue(parsed.error.issues));
    const query = parsed.data;
    const limit = query.limit === undefined ? AUDIT_PAGE_LIMIT_DEFAULT : Number(query.limit);
    if (limit < 1 || limit > AUDIT_PAGE_LIMIT_MAX) throw new AuthError("invalid-request", `limit: must be from 1 to ${AUDIT_PAGE_LIMIT_MAX}`);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (after === null) throw new AuthError("invalid-request", "cursor: not a cursor this route gave");

    // One more than the page: whether it exists says if there is a next page.
    const rows = await listAuditEvents(db, realm.id, {
      ...(query.type === undefined ? {} : { type: query.type }),
      ...(query.userId === undefined ? {} : { userId: query.userId }),
      ...(query.since === undefined ? {} : { since: Date.parse(query.since) }),
      ...(query.until === undefined ? {} : { until: Date.parse(query.until) }),
      ...(after === undefined ? {} : { after }),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > limit && last !== undefined ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null;
    return c.json({ events: page.map(toAuditEvent), nextCursor });
  })

  .get("/stats", authenticateAdmin, adminRealm, requireScope("users:read"), async (c) => {
    const { db, realm } = c.var.context;
    const now = Date.now();
    const today = Math.floor(now / DAY_MS);
    const firstDay = today - (STATS_DAYS - 1);
    const [counts, perDay] = await Promise.all([countUsersAndSessions(db, realm.id, now), countSignInsPerDay(db, realm.id, firstDay * DAY_MS)]);
    const byDay = new Map(perDay.map(({ day, count }) => [Number(day), count]));
    const signInsPerDay = Array.from({ length: STATS_DAYS }, (_, index) => {
      const day = firstDay + index;
      return { date: new Date(day * DAY_MS).toISOString().slice(0, 10), count: byDay.get(day) ?? 0 };
    });
    return c.json({ users: counts.users, activeSessions: counts.activeSessions, signInsPerDay });
  });
