/**
 * Admin routes for signing keys: `GET /admin/keys`, `POST /admin/keys/rotate`,
 * `DELETE /admin/keys/:kid`, for the default realm. Authenticated by routes/admin/access.ts.
 */
import { Hono } from "hono";
import type { AppEnv } from "../context";
import { AuthError } from "../errors";
import { realmKeys } from "../keys/realm-keys";
import { authenticateAdmin, requireScope } from "./admin/access";

export const adminKeyRoutes = new Hono<AppEnv>()
  .use("/admin/*", authenticateAdmin)
  .use("/admin/keys", requireScope("keys:write"))
  .use("/admin/keys/*", requireScope("keys:write"))
  .get("/admin/keys", async (c) => c.json({ keys: await realmKeys(c.var.context).list() }))
  // Counters of this KeyStore instance since it last started (leases, JWKS reads):
  // how often isolates had to reach it.
  .get("/admin/keys/stats", async (c) => c.json(await realmKeys(c.var.context).stats()))
  .post("/admin/keys/rotate", async (c) => c.json({ keys: await realmKeys(c.var.context).rotate(c.req.url) }))
  .delete("/admin/keys/:kid", async (c) => {
    const kid = c.req.param("kid");
    if (kid.length > 256) throw new AuthError("key-not-found");
    if (!(await realmKeys(c.var.context).revoke(kid, c.req.url))) throw new AuthError("key-not-found");
    return c.json("OK");
  });
