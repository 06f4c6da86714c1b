/**
 * The admin API's OpenAPI 3.1 document (`GET /admin/openapi.json`): served without
 * credentials, generated from the schemas the routes validate with, listing every
 * route served.
 */
import { describe, expect, it } from "vitest";
import { app } from "../src/server/app";
import { createApiKeyBody } from "../src/server/routes/admin/api-keys";
import { ADMIN_OPERATIONS } from "../src/server/routes/admin/openapi";
import { createRealmBody } from "../src/server/routes/admin/realms";
import { api } from "./helpers";

async function document() {
  const response = await api("/admin/openapi.json");
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("application/json");
  return response.json;
}

/** Hono's `:param` paths as OpenAPI's `{param}`. */
function asOpenApiPath(path: string): string {
  return path.replace(/:(\w+)/g, "{$1}");
}

describe("GET /admin/openapi.json", () => {
  it("is an OpenAPI 3.1.0 document, served without credentials", async () => {
    const doc = await document();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toContain("edgeauth");
    expect(Object.keys(doc.paths).length).toBeGreaterThan(0);
  });

  it("lists every admin route the app serves", async () => {
    const doc = await document();
    const served = app.routes
      .filter((route) => route.path.startsWith("/admin/") && route.method !== "ALL" && route.path !== "/admin/openapi.json")
      .map((route) => `${route.method.toLowerCase()} ${asOpenApiPath(route.path)}`);
    expect(served.length).toBeGreaterThan(10);
    for (const route of new Set(served)) {
      const [method, path] = route.split(" ") as [string, string];
      expect(doc.paths[path]?.[method], route).toBeDefined();
    }
    // And the list the document is built from has nothing the app does not serve.
    for (const operation of ADMIN_OPERATIONS) expect(served, `${operation.method} ${operation.path}`).toContain(`${operation.method} ${operation.path}`);
  });

  it("request bodies are the routes' own schemas: required fields match", async () => {
    const doc = await document();
    const realmBody = doc.paths["/admin/realms"].post.requestBody.content["application/json"].schema;
    expect(realmBody.required).toEqual(["id"]);
    expect(Object.keys(realmBody.properties).sort()).toEqual(Object.keys(createRealmBody.shape).sort());
    const keyBody = doc.paths["/admin/realms/{realm}/api-keys"].post.requestBody.content["application/json"].schema;
    expect([...keyBody.required].sort()).toEqual(["name", "scopes"]);
    expect(keyBody.properties.scopes.items.enum).toContain("realm:write");
    // The schema agrees with the validator: what it requires, the route refuses without.
    expect(createApiKeyBody.safeParse({ name: "x" }).success).toBe(false);
    expect(createApiKeyBody.safeParse({ name: "x", scopes: ["users:read"] }).success).toBe(true);
  });

  it("names each operation's credential and the admin error shape", async () => {
    const doc = await document();
    const rotate = doc.paths["/admin/realms/{realm}/keys/rotate"].post;
    expect(rotate["x-edgeauth-access"]).toBe("keys:write");
    expect(rotate.parameters[0]).toMatchObject({ name: "realm", in: "path", required: true });
    expect(rotate.responses.default.content["application/json"].schema.required).toEqual(["error"]);
    expect(doc.paths["/admin/realms"].post["x-edgeauth-access"]).toBe("admin-secret");
  });
});
