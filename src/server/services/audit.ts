/**
 * The audit log (README, "Audit"): who did what, from where, and how it ended.
 * Writing an entry never delays the answer (it goes in `waitUntil`, after the
 * response) and is never lost silently: a failed write is logged with the event's
 * type and realm (never its detail, which may name an address).
 */
import type { RequestContext } from "../context";
import { insertAuditEventStatement, type AuditActorType, type AuditOutcome } from "../db/audit";

/** The kinds of event recorded; the admin API filters by them. */
export const AUDIT_EVENT_TYPES = [
  "signin",
  "signup",
  "signout",
  "refresh-reuse",
  "password-change",
  "password-reset-request",
  "factor-change",
  "admin-action",
  "rate-limit",
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export interface AuditEntry {
  type: AuditEventType;
  outcome: AuditOutcome;
  /** The user the event is about, when known. */
  userId?: string | null;
  /** Who acted; by default the user (when known), else `anonymous`. */
  actor?: { type: AuditActorType; id: string | null };
  /** What else to keep: the sign-in method, the error code, the admin route... never a secret. */
  detail?: Record<string, unknown>;
}

/** Records `entry` after the answer has left; the request's realm, address and user agent come with it. */
export function recordAudit(context: RequestContext, entry: AuditEntry): void {
  const userId = entry.userId ?? null;
  const actor = entry.actor ?? (userId === null ? { type: "anonymous" as const, id: null } : { type: "user" as const, id: userId });
  const write = insertAuditEventStatement(context.db, {
    id: crypto.randomUUID(),
    realm: context.realm.id,
    type: entry.type,
    userId,
    actorType: actor.type,
    actorId: actor.id,
    clientIp: context.clientIp,
    userAgent: context.userAgent,
    outcome: entry.outcome,
    detail: entry.detail ?? {},
    createdAt: Date.now(),
  })
    .run()
    .then(
      () => undefined,
      (error: unknown) =>
        console.error(
          `audit: writing a ${entry.type} event of realm ${context.realm.id} failed: ${error instanceof Error ? error.message : "unknown error"}`,
        ),
    );
  context.waitUntil(write);
}
