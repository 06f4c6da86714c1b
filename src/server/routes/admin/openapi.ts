/**
 * `GET /admin/openapi.json`: the admin API's OpenAPI 3.1 document. Served without
 * credentials: it describes routes and request shapes, as the README does, and
 * holds nothing secret; every route it lists still needs its credential.
 */
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { apiKeyOperations } from "./api-keys";
import { openApiDocument, type AdminOperation } from "./operations";
import { realmOperations } from "./realms";
import { signingKeyOperations } from "./signing-keys";

/** Every admin route module's operations: a new module adds its list here. */
export const ADMIN_OPERATIONS: readonly AdminOperation[] = [...realmOperations, ...apiKeyOperations, ...signingKeyOperations];

let document: string | null = null;

export const adminOpenApiRoutes = new Hono<AppEnv>().get("/admin/openapi.json", (c) => {
  // Built on first use, once per isolate: nothing in it changes at run time.
  document ??= JSON.stringify(openApiDocument(ADMIN_OPERATIONS));
  return c.body(document, 200, { "content-type": "application/json" });
});
