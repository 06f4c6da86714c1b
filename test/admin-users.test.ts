/**
 * The admin API's users and sessions (README, "Admin API: users and sessions"):
 * credentials and scopes on every route, cursor pagination stable under inserts,
 * imported password hashes, disabling and deleting users, sessions, and
 * impersonation tokens carrying RFC 8693's `act` claim.
 *
 * Scope and realm checks use real admin API keys, made through the admin API.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { AdminScope } from "../src/server/routes/admin/access";
import { createPbkdf2Hasher } from "../src/server/services/password";
import { ADMIN_SECRET, GOOD_PASSWORD, appFetch, createAdminApiKey, uniqueEmail } from "./helpers";

const REALM = "admin-users-test";
const OTHER_REALM = "admin-users-other";
const PAGED_REALM = "admin-users-paged";
const BASE = `/admin/realms/${REALM}`;
/** The bcryptjs/OpenBSD test vector also used by test/bcrypt-import.test.ts. */
const BCRYPT_VECTOR = { password: "U*U", hash: "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW" };

const adminKeys = new Map<string, Promise<{ key: string; id: string }>>();
/** A real admin API key of `realm` with `scopes` (its secret and id), made once per file. */
function adminApiKey(realm: string, scopes: AdminScope[]): Promise<{ key: string; id: string }> {
  const name = `${realm}:${scopes.join(",")}`;
  let key = adminKeys.get(name);
  if (key === undefined) adminKeys.set(name, (key = createAdminApiKey(realm, scopes)));
  return key;
}
async function adminKey(realm: string, scopes: AdminScope[]): Promise<string> {
  return (await adminApiKey(realm, scopes)).key;
}

beforeAll(async () => {
  for (const realm of [REALM, OTHER_REALM, PAGED_REALM]) {
    await env.DB.prepare("INSERT OR IGNORE INTO realms (id, created_at) VALUES (?, ?)").bind(realm, Date.now()).run();
  }
});

interface CallOptions {
  method?: string;
  body?: unknown;
  /** An admin credential (bearer); the admin secret unless null. */
  key?: string | null;
  /** A user's access token instead of an admin credential. */
  token?: string;
  settings?: Record<string, string>;
}

async function call(path: string, { method, body, key, token, settings = {} }: CallOptions = {}) {
  const headers: Record<string, string> = { "user-agent": "admin-users-test" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const bearer = token ?? (key === undefined ? ADMIN_SECRET : key);
  if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
  const ctx = createExecutionContext();
  const response = await appFetch(
    new Request(`http://localhost${path}`, {
      method: method ?? (body === undefined ? "GET" : "POST"),
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    { ...env, ...settings } as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  return { status: response.status, json: text === "" ? undefined : (JSON.parse(text) as any) };
}

async function createUser(body: Record<string, unknown>, realmBase = BASE) {
  const response = await call(`${realmBase}/users`, { body });
  expect(response.status, JSON.stringify(response.json)).toBe(201);
  return response.json as { id: string; email?: string; roles: string[]; disabled: boolean };
}

/** Signs a user of the default realm in; its session. */
async function signInDefault(email: string, password = GOOD_PASSWORD) {
  const response = await call("/signin/email-password", { body: { email, password }, key: null });
  expect(response.status, JSON.stringify(response.json)).toBe(200);
  return response.json.session as { accessToken: string; refreshToken: string; user: { id: string } };
}

async function count(table: string, userId: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE user_id = ?`).bind(userId).first<{ n: number }>();
  return row!.n;
}

describe("admin credentials and scopes", () => {
  const routes: [string, string][] = [
    ["GET", `${BASE}/users`],
    ["POST", `${BASE}/users`],
    ["GET", `${BASE}/users/x`],
    ["PATCH", `${BASE}/users/x`],
    ["DELETE", `${BASE}/users/x`],
    ["GET", `${BASE}/users/x/sessions`],
    ["DELETE", `${BASE}/users/x/sessions`],
    ["DELETE", `${BASE}/users/x/sessions/y`],
    ["POST", `${BASE}/users/x/impersonate`],
  ];

  it.each(routes)("%s %s answers 401 invalid-admin-secret without a credential, or with a wrong one", async (method, path) => {
    for (const key of [null, "not-the-secret-at-all"]) {
      const response = await call(path, { method, key, body: method === "POST" || method === "PATCH" ? {} : undefined });
      expect(response.status).toBe(401);
      expect(response.json.error.code).toBe("invalid-admin-secret");
    }
  });

  it("an unknown realm answers 404, after authentication", async () => {
    expect((await call("/admin/realms/no-such-realm/users")).status).toBe(404);
    expect((await call("/admin/realms/no-such-realm/users", { key: null })).status).toBe(401);
  });

  it("a key needs the route's scope, on the route's realm: 403 admin-forbidden otherwise", async () => {
    const reader = await adminKey(REALM, ["users:read"]);
    expect((await call(`${BASE}/users`, { key: reader })).status).toBe(200);
    const write = await call(`${BASE}/users`, { key: reader, body: { email: uniqueEmail("scoped") } });
    expect(write.status).toBe(403);
    expect(write.json.error.code).toBe("admin-forbidden");
    expect((await call(`${BASE}/users/x/sessions`, { key: reader, method: "DELETE" })).status).toBe(403);
    expect((await call(`${BASE}/users/x/impersonate`, { key: await adminKey(REALM, ["sessions:write"]), method: "POST" })).status).toBe(403);
    const elsewhere = await adminKey(OTHER_REALM, ["users:read", "users:write"]);
    expect((await call(`${BASE}/users`, { key: elsewhere })).status).toBe(403);
    expect((await call(`/admin/realms/${OTHER_REALM}/users`, { key: elsewhere })).status).toBe(200);
  });
});

describe("POST /admin/realms/{realm}/users", () => {
  it("creates a user through the account service: 201 with the User shape plus disabled and updatedAt", async () => {
    const email = uniqueEmail("created");
    const response = await call(`${BASE}/users`, {
      body: {
        email: email.toUpperCase(),
        password: GOOD_PASSWORD,
        displayName: "Ada",
        roles: ["user", "editor"],
        defaultRole: "editor",
        metadata: { plan: "pro" },
        emailVerified: true,
      },
    });
    expect(response.status).toBe(201);
    expect(response.json).toMatchObject({
      email: email.toUpperCase(),
      displayName: "Ada",
      roles: ["editor", "user"],
      defaultRole: "editor",
      metadata: { plan: "pro" },
      emailVerified: true,
      disabled: false,
      isAnonymous: false,
    });
    expect(typeof response.json.updatedAt).toBe("string");
    // The user is the realm's only.
    expect((await call(`/admin/realms/${OTHER_REALM}/users/${response.json.id}`)).status).toBe(404);
    // And can sign in there.
    expect((await call(`/realms/${REALM}/signin/email-password`, { key: null, body: { email, password: GOOD_PASSWORD } })).status).toBe(200);
  });

  it("a taken address is 409, whatever its case; a taken phone number too", async () => {
    const email = uniqueEmail("taken");
    const phoneNumber = `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
    await createUser({ email, phoneNumber });
    const again = await call(`${BASE}/users`, { body: { email: email.toUpperCase() } });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("email-already-in-use");
    const phone = await call(`${BASE}/users`, { body: { phoneNumber } });
    expect(phone.status).toBe(409);
    expect(phone.json.error.code).toBe("phone-number-already-in-use");
  });

  it.each([
    [{}, "invalid-request"],
    [{ email: "not-an-email" }, "invalid-request"],
    [{ phoneNumber: "12345" }, "invalid-request"],
    [{ email: "weak@example.com", password: "short" }, "password-too-short"],
    [{ email: "both@example.com", password: GOOD_PASSWORD, passwordHash: BCRYPT_VECTOR.hash }, "invalid-request"],
    [{ email: "role@example.com", roles: ["user"], defaultRole: "admin" }, "default-role-must-be-in-allowed-roles"],
    [{ email: "locale@example.com", locale: "xx" }, "locale-not-allowed"],
    [{ email: "scrypt@example.com", passwordHash: "$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA" }, "unsupported-password-hash"],
    [{ email: "argon@example.com", passwordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g" }, "unsupported-password-hash"],
    [{ email: "cost@example.com", passwordHash: `$2b$13$${BCRYPT_VECTOR.hash.slice(7)}` }, "unsupported-password-hash"],
    [{ email: "bad@example.com", passwordHash: "pbkdf2-sha256$i=999999999,p=0$AAAA$AAAA" }, "unsupported-password-hash"],
  ])("refuses %j with 400 %s", async (body, code) => {
    const response = await call(`${BASE}/users`, { body });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe(code);
  });

  it("an imported bcrypt hash signs in, and is re-hashed to PBKDF2 at that sign-in", async () => {
    const email = uniqueEmail("bcrypt-import");
    const user = await createUser({ email, passwordHash: BCRYPT_VECTOR.hash }, "/admin/realms/default");
    await signInDefault(email, BCRYPT_VECTOR.password);
    const row = await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?").bind(user.id).first<{ password_hash: string }>();
    expect(row!.password_hash).toMatch(/^pbkdf2-sha256\$i=100000,p=0\$/);
    await signInDefault(email, BCRYPT_VECTOR.password);
  });

  it("an imported pbkdf2-sha256 hash signs in", async () => {
    const email = uniqueEmail("pbkdf2-import");
    const hash = await createPbkdf2Hasher({ pepper: null, iterations: 1_000 }).hash("an imported passphrase");
    await createUser({ email, passwordHash: hash }, "/admin/realms/default");
    await signInDefault(email, "an imported passphrase");
  });
});

describe("GET /admin/realms/{realm}/users", () => {
  it("pages by cursor over the id index: users inserted between pages neither repeat nor skip an earlier one", async () => {
    const before: string[] = [];
    for (let i = 0; i < 7; i += 1) before.push((await createUser({ email: uniqueEmail("paged") }, `/admin/realms/${PAGED_REALM}`)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? "?limit=3" : `?limit=3&cursor=${cursor}`;
      const page = await call(`/admin/realms/${PAGED_REALM}/users${query}`);
      expect(page.status).toBe(200);
      expect(page.json.users.length).toBeLessThanOrEqual(3);
      seen.push(...page.json.users.map((user: { id: string }) => user.id));
      cursor = page.json.nextCursor;
      pages += 1;
      // New users between pages: random ids land before and after the cursor.
      if (pages <= 2) for (let i = 0; i < 3; i += 1) await createUser({ email: uniqueEmail("inserted") }, `/admin/realms/${PAGED_REALM}`);
    } while (cursor !== null);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of before) expect(seen).toContain(id);
    expect([...seen].sort()).toEqual(seen);
  });

  it("filters by search (case-insensitive prefix of email, display name or phone), role and disabled", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const phoneNumber = `+4420${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`;
    const byEmail = await createUser({ email: `zed-${tag}@example.com`, roles: ["user", "auditor"], defaultRole: "user" });
    const byName = await createUser({ email: uniqueEmail("named"), displayName: `Quentin ${tag}`, disabled: true });
    const byPhone = await createUser({ phoneNumber });
    const ids = async (query: string) => {
      const response = await call(`${BASE}/users?${query}`);
      expect(response.status).toBe(200);
      return response.json.users.map((user: { id: string }) => user.id) as string[];
    };
    expect(await ids(`search=ZED-${tag}`)).toEqual([byEmail.id]);
    expect(await ids(`search=${encodeURIComponent(`quentin ${tag}`)}`)).toEqual([byName.id]);
    expect(await ids(`search=${encodeURIComponent(phoneNumber.slice(0, 12))}`)).toContain(byPhone.id);
    expect(await ids(`search=${tag}`)).toEqual([]);
    expect(await ids("role=auditor&limit=200")).toContain(byEmail.id);
    expect(await ids("role=auditor&limit=200")).not.toContain(byName.id);
    const disabled = await ids("disabled=true&limit=200");
    expect(disabled).toContain(byName.id);
    expect(disabled).not.toContain(byEmail.id);
    expect(await ids("disabled=false&limit=200")).not.toContain(byName.id);
  });

  it.each(["limit=0", "limit=201", "limit=abc", "cursor=%21%21", "disabled=maybe", "unknown=1"])("refuses ?%s with 400", async (query) => {
    const response = await call(`${BASE}/users?${query}`);
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe("invalid-request");
  });
});

describe("GET, PATCH and DELETE /admin/realms/{realm}/users/{id}", () => {
  it("GET answers the user, 404 user-not-found for an unknown id", async () => {
    const user = await createUser({ email: uniqueEmail("read") });
    expect((await call(`${BASE}/users/${user.id}`)).json.id).toBe(user.id);
    const missing = await call(`${BASE}/users/${crypto.randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe("user-not-found");
  });

  it("PATCH changes fields, keeps emails unique case-insensitively and the default role among the roles", async () => {
    const other = await createUser({ email: uniqueEmail("other") });
    const user = await createUser({ email: uniqueEmail("patched"), emailVerified: true });
    const email = uniqueEmail("moved");
    const patched = await call(`${BASE}/users/${user.id}`, {
      method: "PATCH",
      body: { displayName: "Grace", email: email.toUpperCase(), roles: ["user", "staff"], defaultRole: "staff", metadata: { a: 1 }, locale: "en" },
    });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ displayName: "Grace", email: email.toUpperCase(), emailVerified: false, roles: ["staff", "user"], defaultRole: "staff", metadata: { a: 1 } });
    const taken = await call(`${BASE}/users/${user.id}`, { method: "PATCH", body: { email: other.email!.toUpperCase() } });
    expect(taken.status).toBe(409);
    expect(taken.json.error.code).toBe("email-already-in-use");
    const orphanDefault = await call(`${BASE}/users/${user.id}`, { method: "PATCH", body: { roles: ["user"] } });
    expect(orphanDefault.json.error.code).toBe("default-role-must-be-in-allowed-roles");
    expect((await call(`${BASE}/users/${user.id}`, { method: "PATCH", body: { password: "short" } })).json.error.code).toBe("password-too-short");
    expect((await call(`${BASE}/users/${crypto.randomUUID()}`, { method: "PATCH", body: {} })).status).toBe(404);
  });

  it("disabling a user ends its sessions and its personal access tokens", async () => {
    const email = uniqueEmail("disabled");
    const user = await createUser({ email, password: GOOD_PASSWORD }, "/admin/realms/default");
    const session = await signInDefault(email);
    const pat = await call("/pat", { token: session.accessToken, body: { expiresAt: new Date(Date.now() + 86_400_000).toISOString() } });
    expect(pat.status).toBe(200);
    const patched = await call(`/admin/realms/default/users/${user.id}`, { method: "PATCH", body: { disabled: true } });
    expect(patched.json.disabled).toBe(true);
    const live = await env.DB.prepare("SELECT COUNT(*) AS n FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL").bind(user.id).first<{ n: number }>();
    expect(live!.n).toBe(0);
    const livePats = await env.DB.prepare("SELECT COUNT(*) AS n FROM personal_access_tokens WHERE user_id = ? AND revoked_at IS NULL")
      .bind(user.id)
      .first<{ n: number }>();
    expect(livePats!.n).toBe(0);
    // Enabled again, the old session stays ended.
    await call(`/admin/realms/default/users/${user.id}`, { method: "PATCH", body: { disabled: false } });
    expect((await call("/token", { key: null, body: { refreshToken: session.refreshToken } })).status).toBe(401);
    expect((await call("/signin/pat", { key: null, body: { personalAccessToken: pat.json.personalAccessToken } })).status).toBe(401);
  });

  it('DELETE removes every row of the user in one batch and answers "OK"; then 404', async () => {
    const email = uniqueEmail("deleted");
    const user = await createUser({ email, password: GOOD_PASSWORD }, "/admin/realms/default");
    const session = await signInDefault(email);
    await call("/pat", { token: session.accessToken, body: { expiresAt: new Date(Date.now() + 86_400_000).toISOString() } });
    await env.DB.prepare(
      "INSERT INTO tickets (ticket_hash, realm, user_id, purpose, created_at, expires_at) VALUES (?, 'default', ?, 'passwordReset', ?, ?)",
    )
      .bind(crypto.randomUUID(), user.id, Date.now(), Date.now() + 60_000)
      .run();
    await env.DB.prepare("INSERT INTO webauthn_credentials (id, realm, user_id, public_key, created_at) VALUES (?, 'default', ?, 'pk', ?)")
      .bind(crypto.randomUUID(), user.id, Date.now())
      .run();
    for (const table of ["user_roles", "refresh_tokens", "tickets", "personal_access_tokens", "webauthn_credentials"]) {
      expect(await count(table, user.id), table).toBeGreaterThan(0);
    }
    const deleted = await call(`/admin/realms/default/users/${user.id}`, { method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(deleted.json).toBe("OK");
    for (const table of ["user_roles", "refresh_tokens", "tickets", "personal_access_tokens", "webauthn_credentials"]) {
      expect(await count(table, user.id), table).toBe(0);
    }
    expect(await env.DB.prepare("SELECT id FROM users WHERE id = ?").bind(user.id).first()).toBeNull();
    expect((await call(`/admin/realms/default/users/${user.id}`, { method: "DELETE" })).status).toBe(404);
  });

  it("records every admin action in the audit log, naming the operator", async () => {
    const user = await createUser({ email: uniqueEmail("audited") });
    await call(`${BASE}/users/${user.id}`, { method: "PATCH", body: { displayName: "Audited" }, key: await adminKey(REALM, ["users:write"]) });
    const rows = await env.DB.prepare("SELECT actor_type, actor_id, detail FROM audit_events WHERE user_id = ? AND type = 'admin-action' ORDER BY created_at")
      .bind(user.id)
      .all<{ actor_type: string; actor_id: string | null; detail: string }>();
    expect(rows.results.map((row) => [row.actor_type, row.actor_id, JSON.parse(row.detail).action])).toEqual([
      ["admin-secret", null, "user.create"],
      ["admin-key", (await adminApiKey(REALM, ["users:write"])).id, "user.update"],
    ]);
  });
});

describe("a user's sessions", () => {
  it("lists live sessions (refresh-token families), ends one, then all", async () => {
    const email = uniqueEmail("sessions");
    const user = await createUser({ email, password: GOOD_PASSWORD }, "/admin/realms/default");
    const first = await signInDefault(email);
    const second = await signInDefault(email);
    const refreshed = await call("/token", { key: null, body: { refreshToken: first.refreshToken } });
    expect(refreshed.status).toBe(200);
    const path = `/admin/realms/default/users/${user.id}/sessions`;
    const listed = await call(path);
    expect(listed.status).toBe(200);
    expect(listed.json.sessions).toHaveLength(2);
    const firstSid = decodeJwt(first.accessToken).sid as string;
    const session = listed.json.sessions.find((s: { id: string }) => s.id === firstSid);
    expect(session).toMatchObject({ userAgent: "admin-users-test" });
    expect(typeof session.clientIp).toBe("string");
    expect(Date.parse(session.lastRefreshedAt)).toBeGreaterThanOrEqual(Date.parse(session.createdAt));
    expect(Date.parse(session.expiresAt)).toBeGreaterThan(Date.now());

    const ended = await call(`${path}/${firstSid}`, { method: "DELETE", key: await adminKey("default", ["sessions:write"]) });
    expect(ended.status).toBe(200);
    expect((await call("/token", { key: null, body: { refreshToken: refreshed.json.refreshToken } })).status).toBe(401);
    expect((await call(path)).json.sessions.map((s: { id: string }) => s.id)).toEqual([decodeJwt(second.accessToken).sid]);
    const again = await call(`${path}/${firstSid}`, { method: "DELETE" });
    expect(again.status).toBe(404);
    expect(again.json.error.code).toBe("session-not-found");

    expect((await call(path, { method: "DELETE" })).json).toBe("OK");
    expect((await call(path)).json.sessions).toEqual([]);
    expect((await call("/token", { key: null, body: { refreshToken: second.refreshToken } })).status).toBe(401);
    expect((await call(`/admin/realms/default/users/${crypto.randomUUID()}/sessions`)).status).toBe(404);
  });
});

describe("POST /admin/realms/{realm}/users/{id}/impersonate", () => {
  const enabled = { ADMIN_IMPERSONATION_ENABLED: "true" };

  it("is refused with 403 impersonation-disabled unless ADMIN_IMPERSONATION_ENABLED", async () => {
    const user = await createUser({ email: uniqueEmail("no-impersonation") });
    const response = await call(`${BASE}/users/${user.id}/impersonate`, { method: "POST" });
    expect(response.status).toBe(403);
    expect(response.json.error.code).toBe("impersonation-disabled");
  });

  it("answers an access token whose act claim names the operator (RFC 8693 §4.1), and no refresh token", async () => {
    const email = uniqueEmail("impersonated");
    const user = await createUser({ email, password: GOOD_PASSWORD }, "/admin/realms/default");
    const bySecret = await call(`/admin/realms/default/users/${user.id}/impersonate`, { method: "POST", settings: enabled });
    expect(bySecret.status).toBe(201);
    expect(bySecret.json.refreshToken).toBeUndefined();
    const claims = decodeJwt(bySecret.json.accessToken);
    expect(claims.sub).toBe(user.id);
    expect(claims.act).toEqual({ sub: "admin-secret" });
    expect(claims.sid).toBe(bySecret.json.sessionId);

    const byKey = await call(`/admin/realms/default/users/${user.id}/impersonate`, {
      method: "POST",
      settings: enabled,
      key: await adminKey("default", ["users:write"]),
    });
    expect(decodeJwt(byKey.json.accessToken).act).toEqual({ sub: `admin-key:${(await adminApiKey("default", ["users:write"])).id}` });

    // It reads as the user, and is listed among its sessions until it expires...
    const me = await call("/user", { token: bySecret.json.accessToken, settings: enabled });
    expect(me.status).toBe(200);
    expect(me.json.id).toBe(user.id);
    const sessions = (await call(`/admin/realms/default/users/${user.id}/sessions`)).json.sessions;
    expect(sessions.map((s: { id: string }) => s.id)).toContain(bySecret.json.sessionId);
    // ...but cannot change the account's credentials.
    const change = await call("/user/password", { token: bySecret.json.accessToken, body: { newPassword: "another long passphrase" }, settings: enabled });
    expect(change.status).toBe(403);
    expect(change.json.error).toBe("impersonation-forbidden");
    const pat = await call("/pat", { token: bySecret.json.accessToken, body: { expiresAt: new Date(Date.now() + 86_400_000).toISOString() }, settings: enabled });
    expect(pat.status).toBe(403);
  });

  it("is refused for a disabled user and for an unknown one", async () => {
    const user = await createUser({ email: uniqueEmail("impersonate-disabled"), disabled: true });
    const disabled = await call(`${BASE}/users/${user.id}/impersonate`, { method: "POST", settings: enabled });
    expect(disabled.json.error.code).toBe("disabled-user");
    expect((await call(`${BASE}/users/${crypto.randomUUID()}/impersonate`, { method: "POST", settings: enabled })).status).toBe(404);
  });
});
