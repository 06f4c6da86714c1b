/** What the admin routes about users share: the answer shape, the audit record, the user lookup. */
import type * as z from "zod/mini";
import type { AppContext } from "../../context";
import { findUserById, type UserWithRoles } from "../../db/users";
import { AuthError } from "../../errors";
import { recordAudit } from "../../services/audit";
import { toUserResponse } from "../../tokens/session";
import type { AdminScope } from "./access";

/** A user as the admin API answers it: the end-user `User` plus what only operators see. */
export function adminUserResponse(user: UserWithRoles) {
  return { ...toUserResponse(user), disabled: user.disabled, updatedAt: new Date(user.updatedAt).toISOString() };
}

/** Records an admin action on a user; the actor is the admin credential. */
export function auditAdminAction(c: AppContext, action: string, userId: string | null, detail: Record<string, unknown> = {}): void {
  const admin = c.var.admin;
  const actor = admin?.type === "admin-key" ? { type: "admin-key" as const, id: admin.keyId } : { type: "admin-secret" as const, id: null };
  recordAudit(c.var.context, { type: "admin-action", outcome: "success", userId, actor, detail: { action, ...detail } });
}

/** The realm's user `id`, or `user-not-found`. */
export async function requireUser(c: AppContext, id: string): Promise<UserWithRoles> {
  const { db, realm } = c.var.context;
  const user = id.length > 128 ? null : await findUserById(db, realm.id, id);
  if (user === null) throw new AuthError("user-not-found");
  return user;
}

/** One admin operation, for the OpenAPI document. */
export interface AdminOperation {
  method: "get" | "post" | "patch" | "delete";
  path: string;
  summary: string;
  scope: AdminScope;
  body?: z.ZodMiniType;
  query?: z.ZodMiniType;
}

