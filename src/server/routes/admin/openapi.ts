/**
 * `GET /admin/openapi.json`: the admin API's OpenAPI 3.1 document. Served without
 * credentials: it describes routes and request shapes, as the README does, and
 * holds nothing secret; every route it lists still needs its credential.
 */
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import type { AdminScope } from "./access";
import { apiKeyOperations } from "./api-keys";
import { adminAuditOperations } from "./audit";
import { openApiDocument, type AdminOperation } from "./operations";
import { realmOperations } from "./realms";
import { signingKeyOperations } from "./signing-keys";
import { adminUserOperations } from "./users";

/** The users and audit modules describe an operation by its scope alone; their answers are in the README. */
function withScope(operations: readonly (Omit<AdminOperation, "access" | "response"> & { scope: AdminScope })[]): AdminOperation[] {
  return operations.map(({ scope, ...operation }) => ({
    ...operation,
    access: scope,
    response: { status: operation.method === "post" ? 201 : 200, description: "See the README, \"Admin API\"" },
  }));
}

/** Every admin route module's operations: a new module adds its list here. */
export const ADMIN_OPERATIONS: readonly AdminOperation[] = [
  ...realmOperations,
  ...apiKeyOperations,
  ...signingKeyOperations,
  ...withScope(adminUserOperations),
  ...withScope(adminAuditOperations),
];

let document: string | null = null;

export const adminOpenApiRoutes = new Hono<AppEnv>().get("/admin/openapi.json", (c) => {
  // Built on first use, once per isolate: nothing in it changes at run time.
  document ??= JSON.stringify(openApiDocument(ADMIN_OPERATIONS));
  return c.body(document, 200, { "content-type": "application/json" });
});
