/** Queries of the audit log. */
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
