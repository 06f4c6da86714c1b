/**
 * A realm's signing keys through the admin API: `/admin/realms/{realm}/keys...`.
 * The same handlers serve the default realm at `/admin/keys...` (routes/admin-keys.ts).
 */
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { AuthError } from "../../errors";
import { realmKeys } from "../../keys/realm-keys";
import { adminRealm, authenticateAdmin, requireScope } from "./access";
import { recordAdminAction } from "./admin-action";
import type { AdminOperation } from "./operations";

/** The key routes relative to where they are mounted, for the realm of `c.var.context`. */
export const signingKeyHandlers = new Hono<AppEnv>()
  .get("/keys", async (c) => c.json({ keys: await realmKeys(c.var.context).list() }))
  // Counters of this KeyStore instance since it last started (leases, JWKS reads):
  // how often isolates had to reach it.
  .get("/keys/stats", async (c) => c.json(await realmKeys(c.var.context).stats()))
  .post("/keys/rotate", async (c) => {
    const keys = await realmKeys(c.var.context).rotate(c.req.url);
    recordAdminAction(c, "signing-key.rotate");
    return c.json({ keys });
  })
  .delete("/keys/:kid", async (c) => {
    const kid = c.req.param("kid");
    if (kid.length > 256) throw new AuthError("key-not-found");
    if (!(await realmKeys(c.var.context).revoke(kid, c.req.url))) throw new AuthError("key-not-found");
    recordAdminAction(c, "signing-key.revoke", { kid });
    return c.json("OK");
  });

const guard = [authenticateAdmin, adminRealm, requireScope("keys:write")] as const;

export const adminRealmSigningKeyRoutes = new Hono<AppEnv>()
  .use("/admin/realms/:realm/keys", ...guard)
  .use("/admin/realms/:realm/keys/*", ...guard)
  .route("/admin/realms/:realm", signingKeyHandlers);

function keyOperations(prefix: string, realmNote: string): AdminOperation[] {
  return [
    {
      method: "get",
      path: `${prefix}/keys`,
      summary: `List the signing keys${realmNote} (public parts only)`,
      access: "keys:write",
      response: { status: 200, description: "`{ keys: [{ kid, state, ... }] }`" },
    },
    {
      method: "get",
      path: `${prefix}/keys/stats`,
      summary: `Call counters of the KeyStore${realmNote}`,
      access: "keys:write",
      response: { status: 200, description: "`{ jwksReads, leases }`" },
    },
    {
      method: "post",
      path: `${prefix}/keys/rotate`,
      summary: `Rotate the signing key${realmNote} now`,
      access: "keys:write",
      response: { status: 200, description: "`{ keys }`, the ring after the rotation" },
    },
    {
      method: "delete",
      path: `${prefix}/keys/{kid}`,
      summary: `Revoke a signing key${realmNote}: it leaves the JWKS at once`,
      access: "keys:write",
      response: { status: 200, description: '`"OK"`' },
    },
  ];
}

export const signingKeyOperations: AdminOperation[] = [
  ...keyOperations("/admin/realms/{realm}", " of the realm"),
  ...keyOperations("/admin", " of the default realm"),
];
