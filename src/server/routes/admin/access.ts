/**
 * Who may call the admin API (`/admin/*`), and for what. Two credentials:
 * - the deployment's `ADMIN_SECRET`, in `x-admin-secret` or as
 *   `Authorization: Bearer <secret>`: every route of every realm;
 * - an admin API key (`Authorization: Bearer eak_...`), bound to one realm and
 *   limited to its scopes (README, "Admin API").
 */
import type { MiddlewareHandler } from "hono";
import { databaseOf, type AppEnv } from "../../context";
import { AuthError } from "../../errors";
import { constantTimeEqualStrings } from "../../lib/crypto";
import { configForRealm, resolveRealm } from "../../realm";
import { lookUpAdminApiKey, type AdminKeyHolder, type AdminScope } from "../../services/admin-api-keys";

export { ADMIN_SCOPES, type AdminScope } from "../../services/admin-api-keys";

export type AdminActor = { type: "admin-secret" } | AdminKeyHolder;

/** The credential a request presents, if any: the `x-admin-secret` header, else a bearer token. */
export function presentedAdminCredential(headers: { header(name: string): string | undefined }): string | null {
  const secret = headers.header("x-admin-secret");
  if (secret !== undefined) return secret;
  const authorization = headers.header("authorization");
  const match = authorization === undefined ? null : /^Bearer\s+(\S+)$/i.exec(authorization);
  return match?.[1] ?? null;
}

/** Authenticates the caller and records who it is (`c.var.admin`); `invalid-admin-secret` otherwise. */
export const authenticateAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  // Route modules each put it in front of their routes; a request passes once.
  if (c.var.admin !== undefined) return next();
  const context = c.var.context;
  const presented = presentedAdminCredential(c.req);
  const expected = context.config.adminSecret;
  if (presented !== null && expected !== null && (await constantTimeEqualStrings(presented, expected))) {
    c.set("admin", { type: "admin-secret" });
    return next();
  }
  const viaKey = presented === null ? null : await lookUpAdminApiKey(context, presented);
  if (viaKey !== null) {
    c.set("admin", viaKey);
    return next();
  }
  // Without ADMIN_SECRET no key can be made, so there is nothing to present: say so.
  if (expected === null) throw new AuthError("admin-disabled");
  throw new AuthError("invalid-admin-secret");
};

/**
 * The route needs `scope`: the admin secret has every scope; a key needs the scope
 * and must belong to the realm the route acts on (`c.var.context.realm`).
 */
export function requireScope(scope: AdminScope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const admin = c.var.admin;
    if (admin === undefined) throw new AuthError("invalid-admin-secret");
    if (admin.type === "admin-key" && (!admin.scopes.includes(scope) || admin.realm !== c.var.context.realm.id)) {
      throw new AuthError("admin-forbidden", `needs the ${scope} scope on realm ${c.var.context.realm.id}`);
    }
    return next();
  };
}

/** Only the admin secret: routes that act across realms (creating one, listing them). */
export const requireAdminSecret: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.var.admin?.type !== "admin-secret") throw new AuthError("admin-forbidden", "needs the deployment's ADMIN_SECRET");
  return next();
};

/** For `/admin/realms/:realm/*`: the realm the route acts on (`default` included), or 404. */
export const adminRealm: MiddlewareHandler<AppEnv> = async (c, next) => {
  const context = c.var.context;
  const realm = await resolveRealm(context.deploymentDb, context.config, c.req.param("realm"), { allowDefault: true });
  const config = configForRealm(c.env, context.config, realm);
  c.set("context", { ...context, realm, config, db: databaseOf(c.env, config, context.deploymentDb) });
  return next();
};
