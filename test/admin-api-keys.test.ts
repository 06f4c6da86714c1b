/**
 * Admin API keys (README, "Admin API"): shown once as `eak_...`, stored as a hash,
 * bound to one realm, limited to their scopes; revoked and expired keys refused.
 * The scope matrix is driven by the operation lists the OpenAPI document is
 * built from, so a route added to them is checked here too.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN_SCOPES, type AdminScope } from "../src/server/routes/admin/access";
import { apiKeyOperations } from "../src/server/routes/admin/api-keys";
import { realmOperations } from "../src/server/routes/admin/realms";
import { signingKeyOperations } from "../src/server/routes/admin/signing-keys";

/** The routes of this module family (other admin modules test their own scopes). */
const OPERATIONS = [...realmOperations, ...apiKeyOperations, ...signingKeyOperations];
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { ADMIN_SECRET, api, appFetch } from "./helpers";

const REALM = `keys-${Date.now().toString(36)}`;
const OTHER_REALM = `keys-other-${Date.now().toString(36)}`;

function asSecret(path: string, method = "GET", body?: unknown) {
  return api(path, { method, body, headers: { "x-admin-secret": ADMIN_SECRET } });
}

function asKey(key: string, path: string, method = "GET", body?: unknown) {
  return api(path, { method, body, token: key });
}

async function createKey(realm: string, scopes: AdminScope[], extra: Record<string, unknown> = {}) {
  const response = await asSecret(`/admin/realms/${realm}/api-keys`, "POST", { name: `key ${scopes.join(" ")}`, scopes, ...extra });
  expect(response.status, response.text).toBe(201);
  return response.json as { id: string; key: string; prefix: string };
}

beforeAll(async () => {
  for (const id of [REALM, OTHER_REALM]) expect((await asSecret("/admin/realms", "POST", { id })).status).toBe(201);
});

describe("creating and listing keys", () => {
  it("answers the secret once, as eak_ + 43 base64url characters; stores only its SHA-256", async () => {
    const created = await createKey(REALM, ["users:read"]);
    expect(created.key).toMatch(/^eak_[A-Za-z0-9_-]{43}$/);
    expect(created.prefix).toBe(created.key.slice(4, 12));
    const row = await env.DB.prepare("SELECT key_hash FROM admin_api_keys WHERE id = ?").bind(created.id).first<{ key_hash: string }>();
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(created.key)));
    expect(row!.key_hash).toBe([...digest].map((byte) => byte.toString(16).padStart(2, "0")).join(""));
    const listed = await asSecret(`/admin/realms/${REALM}/api-keys`);
    expect(listed.status).toBe(200);
    expect(listed.text).not.toContain(created.key);
    expect(listed.json.apiKeys.find((key: { id: string }) => key.id === created.id)).toMatchObject({ prefix: created.prefix, scopes: ["users:read"] });
    expect(listed.json.apiKeys[0]).not.toHaveProperty("key");
  });

  it("records lastUsedAt after a key is used", async () => {
    const created = await createKey(REALM, ["realm:write"]);
    expect((await asKey(created.key, `/admin/realms/${REALM}`)).status).toBe(200);
    let lastUsedAt: string | null = null;
    for (let attempt = 0; attempt < 50 && lastUsedAt === null; attempt++) {
      const listed = await asKey(created.key, `/admin/realms/${REALM}/api-keys`);
      lastUsedAt = listed.json.apiKeys.find((key: { id: string }) => key.id === created.id).lastUsedAt;
      if (lastUsedAt === null) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(lastUsedAt).not.toBeNull();
  });

  it("refuses unknown scopes and past expiries", async () => {
    expect((await asSecret(`/admin/realms/${REALM}/api-keys`, "POST", { name: "x", scopes: ["everything"] })).status).toBe(400);
    expect((await asSecret(`/admin/realms/${REALM}/api-keys`, "POST", { name: "x", scopes: [] })).status).toBe(400);
    const past = await asSecret(`/admin/realms/${REALM}/api-keys`, "POST", { name: "x", scopes: ["users:read"], expiresAt: "2001-01-01T00:00:00Z" });
    expect(past.status).toBe(400);
  });

  it("a key cannot mint a key with a scope it does not hold", async () => {
    const minter = await createKey(REALM, ["realm:write", "users:read"]);
    const refused = await asKey(minter.key, `/admin/realms/${REALM}/api-keys`, "POST", { name: "more", scopes: ["keys:write"] });
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe("admin-forbidden");
    const allowed = await asKey(minter.key, `/admin/realms/${REALM}/api-keys`, "POST", { name: "less", scopes: ["users:read"] });
    expect(allowed.status, allowed.text).toBe(201);
  });
});

describe("refused keys", () => {
  it("a revoked key is refused at once", async () => {
    const created = await createKey(REALM, ["realm:write"]);
    expect((await asKey(created.key, `/admin/realms/${REALM}`)).status).toBe(200);
    expect((await asSecret(`/admin/realms/${REALM}/api-keys/${created.id}`, "DELETE")).status).toBe(200);
    const refused = await asKey(created.key, `/admin/realms/${REALM}`);
    expect(refused.status).toBe(401);
    expect(refused.json.error.code).toBe("invalid-admin-secret");
    expect((await asSecret(`/admin/realms/${REALM}/api-keys`)).json.apiKeys.map((key: { id: string }) => key.id)).not.toContain(created.id);
    expect((await asSecret(`/admin/realms/${REALM}/api-keys/${created.id}`, "DELETE")).status).toBe(404);
  });

  it("an expired key is refused", async () => {
    const created = await createKey(REALM, ["realm:write"], { expiresAt: new Date(Date.now() + 60_000).toISOString() });
    expect((await asKey(created.key, `/admin/realms/${REALM}`)).status).toBe(200);
    await env.DB.prepare("UPDATE admin_api_keys SET expires_at = ? WHERE id = ?").bind(Date.now() - 1, created.id).run();
    expect((await asKey(created.key, `/admin/realms/${REALM}`)).status).toBe(401);
  });

  it("a key of one realm is refused on another, and on the default realm's aliases", async () => {
    const created = await createKey(REALM, [...ADMIN_SCOPES]);
    for (const [path, method] of [
      [`/admin/realms/${OTHER_REALM}`, "GET"],
      [`/admin/realms/${OTHER_REALM}/api-keys`, "GET"],
      [`/admin/realms/${OTHER_REALM}/keys`, "GET"],
      ["/admin/realms/default/keys", "GET"],
      ["/admin/keys", "GET"],
    ] as const) {
      const response = await asKey(created.key, path, method);
      expect(response.status, path).toBe(403);
      expect(response.json.error.code).toBe("admin-forbidden");
    }
  });

  it("without ADMIN_SECRET the admin API says it is disabled (403), yet a live key still works", async () => {
    const created = await createKey(REALM, ["realm:write"]);
    const { ADMIN_SECRET: _unset, ...withoutSecret } = env;
    const call = async (headers: Record<string, string>) => {
      const ctx = createExecutionContext();
      const response = await appFetch(new Request(`http://localhost/admin/realms/${REALM}`, { headers }), withoutSecret as Env, ctx);
      await waitOnExecutionContext(ctx);
      return { status: response.status, json: (await response.json()) as any };
    };
    const disabled = await call({});
    expect(disabled.status).toBe(403);
    expect(disabled.json.error.code).toBe("admin-disabled");
    expect((await call({ "x-admin-secret": ADMIN_SECRET })).json.error.code).toBe("admin-disabled");
    expect((await call({ authorization: `Bearer ${created.key}` })).status).toBe(200);
  });

  it("a wrong or malformed bearer is refused", async () => {
    for (const token of ["eak_" + "A".repeat(43), "eak_short", "nonsense"]) {
      expect((await asKey(token, `/admin/realms/${REALM}`)).status, token).toBe(401);
    }
  });
});

describe("scopes", () => {
  function concrete(path: string): string {
    return path.replace("{realm}", REALM).replace("{kid}", "no-such-kid").replace("{id}", "no-such-id");
  }

  function bodyFor(path: string, scope: AdminScope): unknown {
    if (path.endsWith("/api-keys")) return { name: "from the matrix", scopes: [scope] };
    if (path === "/admin/realms") return { id: `never-${scope.replace(":", "-")}` };
    return { displayName: "matrix" };
  }

  it("each scope allows exactly its routes", async () => {
    for (const scope of ADMIN_SCOPES) {
      const { key } = await createKey(REALM, [scope]);
      for (const operation of OPERATIONS) {
        // Deleting with a key is refused before anything happens; still, never delete the realm under test.
        const path = concrete(operation.path);
        const onThisRealm = path.startsWith(`/admin/realms/${REALM}`);
        const allowed = onThisRealm && (operation.access === scope || operation.access === "realm-key");
        const body = operation.method === "post" || operation.method === "patch" ? bodyFor(path, scope) : undefined;
        const response = await asKey(key, path, operation.method.toUpperCase(), body);
        const label = `${scope} ${operation.method} ${operation.path}: ${response.text}`;
        if (allowed) expect([200, 201, 404], label).toContain(response.status);
        else expect(response.status, label).toBe(403);
      }
    }
  });
});
