/**
 * Admin routes for the default realm's signing keys: `GET /admin/keys`,
 * `POST /admin/keys/rotate`, `DELETE /admin/keys/:kid`: the handlers of
 * `/admin/realms/{realm}/keys` (routes/admin/signing-keys.ts), kept at their first
 * paths. Authenticated by routes/admin/access.ts.
 */
import { Hono } from "hono";
import type { AppEnv } from "../context";
import { authenticateAdmin, requireScope } from "./admin/access";
import { signingKeyHandlers } from "./admin/signing-keys";

export const adminKeyRoutes = new Hono<AppEnv>()
  .use("/admin/keys", authenticateAdmin, requireScope("keys:write"))
  .use("/admin/keys/*", authenticateAdmin, requireScope("keys:write"))
  .route("/admin", signingKeyHandlers);
