/** Every admin action goes in the audit log (README, "Audit"), with who did it. */
import type { AppContext, RequestContext } from "../../context";
import { recordAudit } from "../../services/audit";

/**
 * Records `action` (`realm.create`, `api-key.revoke`, ...) as done by the caller,
 * in the log of `context`'s realm (the request's, unless given).
 */
export function recordAdminAction(c: AppContext, action: string, detail: Record<string, unknown> = {}, context: RequestContext = c.var.context): void {
  const admin = c.var.admin;
  const actor =
    admin?.type === "admin-key" ? { type: "admin-key" as const, id: admin.keyId } : { type: "admin-secret" as const, id: null };
  recordAudit(context, { type: "admin-action", outcome: "success", actor, detail: { action, ...detail } });
}
