/** `GET|HEAD /healthz`, `GET /version`, `GET /.well-known/jwks.json`. */
import { Hono } from "hono";
import type { AppEnv } from "../context";
import { realmKeys } from "../keys/realm-keys";
import { EDGEAUTH_VERSION } from "../version";

export const systemRoutes = new Hono<AppEnv>()
  // Hono answers HEAD with the GET handler's headers and no body.
  .get("/healthz", (c) => c.json("OK"))
  .get("/version", (c) => c.json({ version: EDGEAUTH_VERSION }))
  .get("/.well-known/jwks.json", (c) => realmKeys(c.var.context).jwksResponse(c));
