/**
 * Admin routes for signing keys: `GET /admin/keys`, `POST /admin/keys/rotate`,
 * `DELETE /admin/keys/:kid`. Authenticated by the `x-admin-secret` header.
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";
import { AuthError } from "../errors";
import { constantTimeEqualStrings } from "../lib/crypto";
import { purgeJwks } from "../keys/jwks-response";
import { dropSigningKeyLease, keyStoreFor } from "../tokens/signing-keys";
import { dropServerVerifier } from "../tokens/verify";

/** After a change to the ring, this isolate and location stop serving stale copies at once. */
async function forgetCachedKeys(env: Env, requestUrl: string, realm: string): Promise<void> {
  dropSigningKeyLease(realm);
  dropServerVerifier(env, realm);
  await purgeJwks(requestUrl, realm);
}

const requireAdminSecret: MiddlewareHandler<AppEnv> = async (c, next) => {
  const expected = c.var.context.config.adminSecret;
  if (expected === null) throw new AuthError("admin-disabled");
  const presented = c.req.header("x-admin-secret");
  if (presented === undefined || !(await constantTimeEqualStrings(presented, expected))) {
    throw new AuthError("invalid-admin-secret");
  }
  await next();
};

export const adminKeyRoutes = new Hono<AppEnv>()
  .use("/admin/*", requireAdminSecret)
  .get("/admin/keys", async (c) => {
    const { env, realm } = c.var.context;
    return c.json({ keys: await keyStoreFor(env, realm.id).listKeys() });
  })
  // Counters of this KeyStore instance since it last started (leases, JWKS reads):
  // how often isolates had to reach it.
  .get("/admin/keys/stats", async (c) => {
    const { env, realm } = c.var.context;
    return c.json(await keyStoreFor(env, realm.id).stats());
  })
  .post("/admin/keys/rotate", async (c) => {
    const { env, realm } = c.var.context;
    const keys = await keyStoreFor(env, realm.id).rotate();
    await forgetCachedKeys(env, c.req.url, realm.id);
    return c.json({ keys });
  })
  .delete("/admin/keys/:kid", async (c) => {
    const { env, realm } = c.var.context;
    const kid = c.req.param("kid");
    if (kid.length > 256) throw new AuthError("key-not-found");
    if (!(await keyStoreFor(env, realm.id).revoke(kid))) throw new AuthError("key-not-found");
    await forgetCachedKeys(env, c.req.url, realm.id);
    return c.json("OK");
  });
