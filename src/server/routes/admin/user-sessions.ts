/**
 * A user's sessions in the admin API (README, "Admin API: users and sessions"):
 * `GET|DELETE /admin/realms/{realm}/users/{id}/sessions`,
 * `DELETE .../sessions/{sessionId}`, and `POST .../impersonate`. A session is a
 * refresh-token family; its id is the family id, the `sid` of its access tokens.
 */
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { listLiveSessionsOfUser, revokeAllSessionsOfUser, revokeSessionOfUser } from "../../db/admin-users";
import { insertRefreshTokenStatement } from "../../db/refresh-tokens";
import { runBatch } from "../../db/users";
import { AuthError } from "../../errors";
import { issueAccessToken } from "../../tokens/access-token";
import { newSessionToken } from "../../tokens/refresh-token";
import { requireScope, type AdminActor } from "./access";
import { adminUserResponse, auditAdminAction, requireUser, type AdminOperation } from "./user-helpers";

/** The RFC 8693 §4.1 `act` claim naming who acts: the deployment's secret or one admin API key. */
export function actorClaim(admin: AdminActor): { sub: string } {
  return { sub: admin.type === "admin-key" ? `admin-key:${admin.keyId}` : "admin-secret" };
}

const iso = (ms: number) => new Date(ms).toISOString();

export const adminUserSessionRoutes = new Hono<AppEnv>()
  .get("/admin/realms/:realm/users/:id/sessions", requireScope("users:read"), async (c) => {
    const { db, realm } = c.var.context;
    const user = await requireUser(c, c.req.param("id"));
    const sessions = await listLiveSessionsOfUser(db, realm.id, user.id, Date.now());
    return c.json({
      sessions: sessions.map((session) => ({
        id: session.id,
        createdAt: iso(session.createdAt),
        lastRefreshedAt: iso(session.lastRefreshedAt),
        expiresAt: iso(session.expiresAt),
        clientIp: session.clientIp,
        userAgent: session.userAgent,
      })),
    });
  })

  .delete("/admin/realms/:realm/users/:id/sessions", requireScope("sessions:write"), async (c) => {
    const { db, realm } = c.var.context;
    const user = await requireUser(c, c.req.param("id"));
    await revokeAllSessionsOfUser(db, realm.id, user.id, Date.now());
    auditAdminAction(c, "sessions.revoke-all", user.id);
    return c.json("OK");
  })

  .delete("/admin/realms/:realm/users/:id/sessions/:sessionId", requireScope("sessions:write"), async (c) => {
    const { db, realm } = c.var.context;
    const user = await requireUser(c, c.req.param("id"));
    const sessionId = c.req.param("sessionId");
    if (sessionId.length > 64 || !(await revokeSessionOfUser(db, realm.id, user.id, sessionId, Date.now()))) {
      throw new AuthError("session-not-found");
    }
    auditAdminAction(c, "sessions.revoke", user.id, { sessionId });
    return c.json("OK");
  })

  // users:write, not sessions:write: the token acts as the user, which is no more
  // than users:write can already reach (it sets passwords), while sessions:write
  // only ever takes access away.
  .post("/admin/realms/:realm/users/:id/impersonate", requireScope("users:write"), async (c) => {
    const context = c.var.context;
    const { config, db } = context;
    if (!config.adminImpersonationEnabled) throw new AuthError("impersonation-disabled");
    const user = await requireUser(c, c.req.param("id"));
    if (user.disabled) throw new AuthError("disabled-user");
    const act = actorClaim(c.var.admin!);
    // A session of its own (listed with the operator's address and user agent, ended
    // like any other), but no refresh token is handed out and the family ends with
    // the access token: refreshing would mint a token without `act`, because a
    // refresh-token row has nowhere to keep the mark.
    const { row } = await newSessionToken(context, user.id);
    const expiresAt = row.createdAt + config.accessTokenTtlSeconds * 1000;
    await runBatch(db, [insertRefreshTokenStatement(db, { ...row, expiresAt, sessionExpiresAt: expiresAt })]);
    const access = await issueAccessToken(context, user, row.familyId, { top: { act } });
    auditAdminAction(c, "user.impersonate", user.id, { sessionId: row.familyId, act: act.sub });
    return c.json(
      {
        accessToken: access.accessToken,
        accessTokenExpiresIn: access.accessTokenExpiresIn,
        sessionId: row.familyId,
        act,
        user: adminUserResponse(user),
      },
      201,
    );
  });

export const adminUserSessionOperations: AdminOperation[] = [
  { method: "get", path: "/admin/realms/{realm}/users/{id}/sessions", summary: "List the user's live sessions", scope: "users:read" },
  { method: "delete", path: "/admin/realms/{realm}/users/{id}/sessions", summary: "End every session of the user", scope: "sessions:write" },
  {
    method: "delete",
    path: "/admin/realms/{realm}/users/{id}/sessions/{sessionId}",
    summary: "End one session of the user",
    scope: "sessions:write",
  },
  {
    method: "post",
    path: "/admin/realms/{realm}/users/{id}/impersonate",
    summary: "Start a short session as the user, its access token naming the operator in `act` (ADMIN_IMPERSONATION_ENABLED)",
    scope: "users:write",
  },
];
