/**
 * The end-user API's OpenAPI 3.1 document (`GET /openapi.json`, and per realm at
 * `/realms/{realm}/openapi.json` with that realm's URL as its server): generated
 * from the schemas the routes validate with, listing exactly the routes served.
 * Its agreement with the reference spec's field names is test/node/openapi-spec.test.ts.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { endUserApi } from "../src/server/app";
import { END_USER_OPERATIONS } from "../src/server/routes/openapi";
import { signUpEmailPasswordBody } from "../src/server/routes/email-password";
import { api } from "./helpers";

const REALM = "openapi-realm-test";

beforeAll(async () => {
  await env.DB.prepare("INSERT OR IGNORE INTO realms (id, created_at) VALUES (?, ?)").bind(REALM, Date.now()).run();
});

/** Hono's `:param` paths as OpenAPI's `{param}`. */
function asOpenApiPath(path: string): string {
  return path.replace(/:(\w+)/g, "{$1}");
}

/** `method path` of every route the end-user sub-app serves (middleware and the dev pages aside). */
function servedRoutes(): string[] {
  const served = endUserApi.routes
    .filter((route) => route.method !== "ALL" && !route.path.startsWith("/_dev/"))
    .map((route) => `${route.method.toLowerCase()} ${asOpenApiPath(route.path)}`);
  return [...new Set(served)].sort();
}

async function documentAt(path: string) {
  const response = await api(path);
  expect(response.status, response.text).toBe(200);
  expect(response.headers.get("content-type")).toContain("application/json");
  return response.json;
}

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1.0 document whose server is the default realm's URL, served without credentials", async () => {
    const doc = await documentAt("/openapi.json");
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBe("edgeauth end-user API");
    expect(doc.servers).toEqual([{ url: "http://localhost" }]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["BearerAuth", "BearerAuthElevated"]);
  });

  it("a realm's document names the realm's URL; an unknown realm's is a 404", async () => {
    const doc = await documentAt(`/realms/${REALM}/openapi.json`);
    expect(doc.servers).toEqual([{ url: `http://localhost/realms/${REALM}` }]);
    expect(Object.keys(doc.paths)).toEqual(Object.keys((await documentAt("/openapi.json")).paths));
    expect((await api("/realms/no-such-realm-openapi/openapi.json")).status).toBe(404);
  });

  it("lists every route the end-user API serves, and nothing it does not serve", async () => {
    const doc = await documentAt("/openapi.json");
    const served = servedRoutes();
    expect(served.length).toBeGreaterThan(30);
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`))
      .sort();
    // Written as two lists so that a failure names the routes: served but missing
    // from END_USER_OPERATIONS (routes/openapi.ts), or documented but not served.
    expect(served.filter((route) => !documented.includes(route)), "served, not documented").toEqual([]);
    expect(documented.filter((route) => !served.includes(route)), "documented, not served").toEqual([]);
    expect(END_USER_OPERATIONS.length).toBe(documented.length);
  });

  it("request bodies are the routes' own schemas: what the document requires, the route's validator requires", async () => {
    const doc = await documentAt("/openapi.json");
    const signUp = doc.paths["/signup/email-password"].post.requestBody;
    expect(signUp.required).toBe(true);
    const schema = signUp.content["application/json"].schema;
    expect([...schema.required].sort()).toEqual(["email", "password"]);
    expect(Object.keys(schema.properties).sort()).toEqual(["codeChallenge", "email", "options", "password"]);
    expect(schema.additionalProperties).toBe(false);
    expect(signUpEmailPasswordBody.safeParse({ email: "a@example.com" }).success).toBe(false);
    expect(signUpEmailPasswordBody.safeParse({ email: "a@example.com", password: "x".repeat(12) }).success).toBe(true);
    // Routes whose body may be absent say so.
    expect(doc.paths["/signin/anonymous"].post.requestBody.required).toBe(false);
    expect(doc.paths["/token/verify"].post.requestBody.required).toBe(false);
  });

  it("names each operation's credential, the spec's error shape, and marks edgeauth's own routes", async () => {
    const doc = await documentAt("/openapi.json");
    expect(doc.paths["/user"].get.security).toEqual([{ BearerAuth: [] }]);
    expect(doc.paths["/user/email/change"].post.security).toEqual([{ BearerAuthElevated: [] }]);
    expect(doc.paths["/signout"].post.security).toEqual([{ BearerAuth: [] }, {}]);
    expect(doc.paths["/signin/email-password"].post.security).toEqual([]);
    const error = doc.paths["/token"].post.responses.default.content["application/json"].schema;
    expect([...error.required].sort()).toEqual(["error", "message", "status"]);
    // The error shape is the one the routes answer with.
    const refused = await api("/token", { body: { refreshToken: crypto.randomUUID() } });
    expect(Object.keys(refused.json).sort()).toEqual(["error", "message", "status"]);
    expect(doc.paths["/pat/{id}"].delete["x-edgeauth-extension"]).toBe(true);
    expect(doc.paths["/pat"].post["x-edgeauth-extension"]).toBeUndefined();
    expect(doc.paths["/pat/{id}"].delete.parameters).toEqual([{ name: "id", in: "path", required: true, schema: { type: "string" } }]);
    expect(doc.paths["/verify"].get.parameters.map((parameter: { name: string }) => parameter.name)).toEqual(["ticket", "redirectTo", "type", "codeChallenge"]);
  });
});
