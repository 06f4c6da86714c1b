/**
 * Sessions: refresh-token rotation with a reuse grace window and family
 * revocation (design §3), sign-out, token verification, the signed-in user,
 * password changes (signed in and by reset ticket), and the system routes.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SESSION_MAX_LIFETIME_SECONDS_DEFAULT } from "../src/server/config";
import { api, GOOD_PASSWORD, signIn, signUp, uniqueEmail, appFetch } from "./helpers";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const GRACE_MS = 10_000;
const NEW_PASSWORD = "a brand new passphrase";

afterEach(() => {
  vi.useRealTimers();
});

function expectError(response: { status: number; json: any }, status: number, error: string) {
  expect(response.status, JSON.stringify(response.json)).toBe(status);
  expect(response.json).toMatchObject({ status, error });
  expect(Object.keys(response.json).sort()).toEqual(["error", "message", "status"]);
}

function refresh(refreshToken: string) {
  return api("/token", { body: { refreshToken } });
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function familyRows(familyId: string) {
  const { results } = await env.DB.prepare(
    "SELECT id, rotated_at, revoked_at FROM refresh_tokens WHERE family_id = ? ORDER BY created_at",
  )
    .bind(familyId)
    .all<{ id: string; rotated_at: number | null; revoked_at: number | null }>();
  return results;
}

async function liveTokenCount(where: string, value: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM refresh_tokens WHERE ${where} = ? AND revoked_at IS NULL`)
    .bind(value)
    .first<{ n: number }>();
  return row!.n;
}

function sidOf(accessToken: string): string {
  return (decodeJwt(accessToken) as { sid: string }).sid;
}

/** Freezes `Date` (the Worker shares the test's isolate, so its clock moves too). */
function freezeClockAt(ms: number) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(ms);
}

describe("POST /token: rotation", () => {
  it("rotates to a new token in the same family and keeps the parent row for reuse detection", async () => {
    const { session } = await signUp();
    const response = await refresh(session.refreshToken);
    expect(response.status, response.text).toBe(200);
    const child = response.json;
    expect(Object.keys(child).sort()).toEqual(["accessToken", "accessTokenExpiresIn", "refreshToken", "refreshTokenId", "user"]);
    expect(child.refreshToken).toMatch(UUID);
    expect(child.refreshTokenId).toMatch(UUID);
    expect(child.refreshToken).not.toBe(session.refreshToken);
    expect(child.refreshTokenId).not.toBe(session.refreshTokenId);
    expect(child.accessToken).not.toBe(session.accessToken);
    expect(child.accessTokenExpiresIn).toBe(900);
    expect(child.user).toEqual(session.user);
    expect(sidOf(child.accessToken)).toBe(sidOf(session.accessToken));

    const rows = await familyRows(sidOf(session.accessToken));
    expect(rows.map((row) => row.id)).toEqual([session.refreshTokenId, child.refreshTokenId]);
    expect(rows[0]!.rotated_at).not.toBeNull();
    expect(rows[1]!.rotated_at).toBeNull();
    expect(rows.every((row) => row.revoked_at === null)).toBe(true);

    // Only hashes are stored: neither token appears in its row.
    const stored = await env.DB.prepare("SELECT * FROM refresh_tokens WHERE family_id = ?").bind(sidOf(session.accessToken)).all();
    const dump = JSON.stringify(stored.results);
    expect(dump).not.toContain(session.refreshToken);
    expect(dump).not.toContain(child.refreshToken);
    expect(dump).toContain(await sha256Hex(child.refreshToken));

    // The child rotates in turn.
    const grandchild = await refresh(child.refreshToken);
    expect(grandchild.status).toBe(200);
    expect(grandchild.json.refreshToken).not.toBe(child.refreshToken);
  });

  it("inside the grace window the old token returns the SAME child, up to and including 10 s", async () => {
    const t0 = Date.now();
    freezeClockAt(t0);
    const { session } = await signUp();
    const first = await refresh(session.refreshToken);
    expect(first.status).toBe(200);

    vi.setSystemTime(t0 + 1_000);
    const again = await refresh(session.refreshToken);
    expect(again.status, again.text).toBe(200);
    expect(again.json.refreshToken).toBe(first.json.refreshToken);
    expect(again.json.refreshTokenId).toBe(first.json.refreshTokenId);

    vi.setSystemTime(t0 + GRACE_MS);
    const atEdge = await refresh(session.refreshToken);
    expect(atEdge.status, atEdge.text).toBe(200);
    expect(atEdge.json.refreshToken).toBe(first.json.refreshToken);

    // Still exactly one child row: the repeat hand-outs wrote nothing.
    const rows = await familyRows(sidOf(session.accessToken));
    expect(rows).toHaveLength(2);
    expect(rows.every((row) => row.revoked_at === null)).toBe(true);

    // And the child works.
    const next = await refresh(first.json.refreshToken);
    expect(next.status).toBe(200);
  });

  it("concurrent refreshes of one token all succeed with the same child", async () => {
    const { session } = await signUp();
    const responses = await Promise.all(Array.from({ length: 12 }, () => refresh(session.refreshToken)));
    for (const response of responses) expect(response.status, response.text).toBe(200);
    const children = new Set(responses.map((response) => response.json.refreshToken));
    expect(children.size).toBe(1);
    expect(new Set(responses.map((response) => response.json.refreshTokenId)).size).toBe(1);

    const rows = await familyRows(sidOf(session.accessToken));
    expect(rows).toHaveLength(2);
    expect(rows.every((row) => row.revoked_at === null)).toBe(true);
    expect((await refresh([...children][0]!)).status).toBe(200);
  });

  it("a reuse after the grace window revokes the whole family, descendants included", async () => {
    const t0 = Date.now();
    freezeClockAt(t0);
    const { session, email } = await signUp();
    const other = await signIn(email);
    expect(other.status).toBe(200);
    const child = await refresh(session.refreshToken);
    expect(child.status).toBe(200);
    vi.setSystemTime(t0 + 2_000);
    const grandchild = await refresh(child.json.refreshToken);
    expect(grandchild.status).toBe(200);

    vi.setSystemTime(t0 + GRACE_MS + 1);
    expectError(await refresh(session.refreshToken), 401, "invalid-refresh-token");

    const familyId = sidOf(session.accessToken);
    expect(await liveTokenCount("family_id", familyId)).toBe(0);
    expect((await familyRows(familyId)).length).toBe(3);
    expectError(await refresh(child.json.refreshToken), 401, "invalid-refresh-token");
    expectError(await refresh(grandchild.json.refreshToken), 401, "invalid-refresh-token");
    expectError(await refresh(session.refreshToken), 401, "invalid-refresh-token");
    expect(await liveTokenCount("family_id", familyId)).toBe(0);

    // The user's other session is a different family and lives on.
    expect((await refresh(other.json.session.refreshToken)).status).toBe(200);
  });

  it("the grace window is measured from the rotation (rotated_at), simulated in D1", async () => {
    // The same rule without a fake clock: push the parent's rotation into the past.
    const { session } = await signUp();
    const child = await refresh(session.refreshToken);
    expect(child.status).toBe(200);
    await env.DB.prepare("UPDATE refresh_tokens SET rotated_at = rotated_at - ? WHERE id = ?")
      .bind(GRACE_MS + 5_000, session.refreshTokenId)
      .run();
    expectError(await refresh(session.refreshToken), 401, "invalid-refresh-token");
    expectError(await refresh(child.json.refreshToken), 401, "invalid-refresh-token");
    expect(await liveTokenCount("family_id", sidOf(session.accessToken))).toBe(0);
  });

  it("an expired refresh token is invalid-refresh-token", async () => {
    const { session } = await signUp();
    await env.DB.prepare("UPDATE refresh_tokens SET expires_at = ? WHERE id = ?").bind(Date.now() - 1, session.refreshTokenId).run();
    expectError(await refresh(session.refreshToken), 401, "invalid-refresh-token");
  });

  it("the refresh token lives 30 days", async () => {
    const { session } = await signUp();
    const row = await env.DB.prepare("SELECT created_at, expires_at FROM refresh_tokens WHERE id = ?")
      .bind(session.refreshTokenId)
      .first<{ created_at: number; expires_at: number }>();
    expect(row!.expires_at - row!.created_at).toBe(30 * 24 * 3600 * 1000);
  });

  it("malformed or unknown refresh tokens are invalid-refresh-token", async () => {
    const { session } = await signUp();
    for (const token of [
      "",
      "not-a-token",
      session.refreshToken.toUpperCase(),
      ` ${session.refreshToken}`,
      `${session.refreshToken}x`,
      session.refreshTokenId,
      crypto.randomUUID(),
      session.accessToken.slice(0, 256),
      "' OR 1=1 --",
    ]) {
      expectError(await refresh(token), 401, "invalid-refresh-token");
    }
    // None of those touched the real session.
    expect((await refresh(session.refreshToken)).status).toBe(200);
  });

  it("a disabled user cannot refresh (disabled-user), and the refused attempt rotates nothing", async () => {
    const t0 = Date.now();
    freezeClockAt(t0);
    const { session } = await signUp();
    await env.DB.prepare("UPDATE users SET disabled = 1 WHERE id = ?").bind(session.user.id).run();
    expectError(await refresh(session.refreshToken), 401, "disabled-user");
    expectError(await api("/user", { token: session.accessToken }), 401, "disabled-user");
    const rows = await familyRows(sidOf(session.accessToken));
    expect(rows).toEqual([{ id: session.refreshTokenId, rotated_at: null, revoked_at: null }]);

    // Re-enabled later, the same token still works: the refused attempt was not a rotation
    // that would make this request look like a replay.
    await env.DB.prepare("UPDATE users SET disabled = 0 WHERE id = ?").bind(session.user.id).run();
    vi.setSystemTime(t0 + GRACE_MS + 60_000);
    const response = await refresh(session.refreshToken);
    expect(response.status, response.text).toBe(200);
  });

  it("a refreshed session reflects the user's current roles", async () => {
    const { session } = await signUp(uniqueEmail(), GOOD_PASSWORD, { allowedRoles: ["user"] });
    await env.DB.prepare("INSERT INTO user_roles (user_id, role, realm) VALUES (?, 'editor', 'default')").bind(session.user.id).run();
    const refreshed = await refresh(session.refreshToken);
    expect(refreshed.json.user.roles).toEqual(["editor", "user"]);
    const claims = decodeJwt(refreshed.json.accessToken) as any;
    expect(claims["https://hasura.io/jwt/claims"]["x-hasura-allowed-roles"]).toEqual(["editor", "user"]);
  });
});

describe("POST /signout", () => {
  it("with a refreshToken ends that session: the token and its family stop refreshing", async () => {
    const { session, email } = await signUp();
    const other = await signIn(email);
    const child = await refresh(session.refreshToken);
    const response = await api("/signout", { body: { refreshToken: child.json.refreshToken } });
    expect(response.status).toBe(200);
    expect(response.json).toBe("OK");
    expectError(await refresh(child.json.refreshToken), 401, "invalid-refresh-token");
    expect(await liveTokenCount("family_id", sidOf(session.accessToken))).toBe(0);
    // The user's other session is untouched.
    expect((await refresh(other.json.session.refreshToken)).status).toBe(200);
  });

  it("with all: true and a bearer ends every session of that user and no one else's", async () => {
    const { session, email } = await signUp();
    const second = await signIn(email);
    const third = await signIn(email);
    const stranger = await signUp();

    const response = await api("/signout", { body: { all: true }, token: second.json.session.accessToken });
    expect(response.status, response.text).toBe(200);
    expect(response.json).toBe("OK");
    expect(await liveTokenCount("user_id", session.user.id)).toBe(0);
    for (const token of [session.refreshToken, second.json.session.refreshToken, third.json.session.refreshToken]) {
      expectError(await refresh(token), 401, "invalid-refresh-token");
    }
    expect((await refresh(stranger.session.refreshToken)).status).toBe(200);
  });

  it("all: true without a bearer is 400 invalid-request (as Nhost answers), with a bad one 401; neither ends anything", async () => {
    const { session } = await signUp();
    expectError(await api("/signout", { body: { all: true } }), 400, "invalid-request");
    expectError(await api("/signout", { body: { all: true }, token: "garbage" }), 401, "unauthenticated-user");
    // A refresh token is not an access token.
    expectError(await api("/signout", { body: { all: true, refreshToken: session.refreshToken } }), 400, "invalid-request");
    expectError(await api("/signout", { body: { all: true }, token: session.refreshToken }), 401, "unauthenticated-user");
    expect((await refresh(session.refreshToken)).status).toBe(200);
  });

  it("neither refreshToken nor all is invalid-request (400)", async () => {
    expectError(await api("/signout", { body: {} }), 400, "invalid-request");
    expectError(await api("/signout", { body: { all: false } }), 400, "invalid-request");
  });

  it("an unknown refresh token is invalid-refresh-token (401)", async () => {
    expectError(await api("/signout", { body: { refreshToken: crypto.randomUUID() } }), 401, "invalid-refresh-token");
    expectError(await api("/signout", { body: { refreshToken: "nope" } }), 401, "invalid-refresh-token");
  });
});

describe("POST /token/verify", () => {
  it("accepts a valid token in the body (with or without a Bearer prefix) or in the Authorization header", async () => {
    const { session } = await signUp();
    for (const response of [
      await api("/token/verify", { body: { token: session.accessToken } }),
      await api("/token/verify", { body: { token: `Bearer ${session.accessToken}` } }),
      await api("/token/verify", { method: "POST", token: session.accessToken }),
      await api("/token/verify", { body: {}, token: session.accessToken }),
    ]) {
      expect(response.status, response.text).toBe(200);
      expect(response.json).toBe("OK");
    }
  });

  it("refuses a bad token, a tampered one, and no token at all (401)", async () => {
    const { session } = await signUp();
    const [header, payload, signature] = session.accessToken.split(".") as [string, string, string];
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    claims["https://hasura.io/jwt/claims"]["x-hasura-default-role"] = "admin";
    const forgedPayload = btoa(JSON.stringify(claims)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const flipped = signature.slice(0, 10) + (signature[10] === "A" ? "B" : "A") + signature.slice(11);
    for (const token of ["garbage", `${header}.${forgedPayload}.${signature}`, `${header}.${payload}.${flipped}`, `${header}.${payload}.`]) {
      expectError(await api("/token/verify", { body: { token } }), 401, "unauthenticated-user");
      expectError(await api("/token/verify", { method: "POST", token }), 401, "unauthenticated-user");
    }
    expectError(await api("/token/verify", { method: "POST" }), 401, "unauthenticated-user");
    expectError(await api("/token/verify", { body: {} }), 401, "unauthenticated-user");
    // A refresh token is not an access token.
    expectError(await api("/token/verify", { body: { token: session.refreshToken } }), 401, "unauthenticated-user");
  });

  it("refuses an expired access token", async () => {
    const { session } = await signUp();
    const claims = decodeJwt(session.accessToken);
    freezeClockAt((claims.exp! + 3600) * 1000);
    expectError(await api("/token/verify", { body: { token: session.accessToken } }), 401, "unauthenticated-user");
    expectError(await api("/user", { token: session.accessToken }), 401, "unauthenticated-user");
  });
});

describe("GET /user", () => {
  it("returns the signed-in user in the spec's User shape", async () => {
    const { session } = await signUp(uniqueEmail(), GOOD_PASSWORD, { metadata: { plan: "pro" }, locale: "fr" });
    const response = await api("/user", { token: session.accessToken });
    expect(response.status).toBe(200);
    expect(response.json).toEqual(session.user);
    expect(response.json).toMatchObject({ id: session.user.id, email: session.user.email, locale: "fr", metadata: { plan: "pro" } });
    expect(response.json).not.toHaveProperty("passwordHash");
  });

  it("no bearer, a garbage bearer or a non-Bearer scheme is unauthenticated-user (401)", async () => {
    const { session } = await signUp();
    expectError(await api("/user"), 401, "unauthenticated-user");
    expectError(await api("/user", { token: "garbage" }), 401, "unauthenticated-user");
    expectError(await api("/user", { token: session.refreshToken }), 401, "unauthenticated-user");
    expectError(await api("/user", { headers: { authorization: `Basic ${session.accessToken}` } }), 401, "unauthenticated-user");
    expectError(await api("/user", { headers: { authorization: "Bearer" } }), 401, "unauthenticated-user");
  });
});

describe("POST /user/password (signed in)", () => {
  it("changes the password and revokes every session of the user, the caller's too (latest spec), nobody else's", async () => {
    const { session, email } = await signUp();
    const other = await signIn(email);
    const stranger = await signUp();
    // The caller's session has rotated once: its family, not its first token, is kept.
    const callerNow = await refresh(session.refreshToken);

    const response = await api("/user/password", { body: { newPassword: NEW_PASSWORD }, token: callerNow.json.accessToken });
    expect(response.status, response.text).toBe(200);
    expect(response.json).toBe("OK");

    expectError(await signIn(email, GOOD_PASSWORD), 401, "invalid-email-password");
    expect((await signIn(email, NEW_PASSWORD)).status).toBe(200);

    expectError(await refresh(callerNow.json.refreshToken), 401, "invalid-refresh-token");
    expect(await liveTokenCount("family_id", sidOf(callerNow.json.accessToken))).toBe(0);
    expectError(await refresh(other.json.session.refreshToken), 401, "invalid-refresh-token");
    expect(await liveTokenCount("family_id", sidOf(other.json.session.accessToken))).toBe(0);
    expect((await refresh(stranger.session.refreshToken)).status).toBe(200);
  });

  it("password-too-short leaves the password as it was", async () => {
    const { session, email } = await signUp();
    expectError(await api("/user/password", { body: { newPassword: "short" }, token: session.accessToken }), 400, "password-too-short");
    expect((await signIn(email, GOOD_PASSWORD)).status).toBe(200);
  });

  it("without a bearer or ticket is unauthenticated-user (401)", async () => {
    expectError(await api("/user/password", { body: { newPassword: NEW_PASSWORD } }), 401, "unauthenticated-user");
    expectError(await api("/user/password", { body: { newPassword: NEW_PASSWORD }, token: "garbage" }), 401, "unauthenticated-user");
  });
});

describe("POST /user/password (reset ticket)", () => {
  async function insertTicket(userId: string, options: { purpose?: string; prefix?: string; expiresInMs?: number } = {}) {
    const purpose = options.purpose ?? "passwordReset";
    const ticket = `${options.prefix ?? purpose}:${crypto.randomUUID()}`;
    const now = Date.now();
    await env.DB.prepare(
      "INSERT INTO tickets (ticket_hash, realm, user_id, purpose, created_at, expires_at, used_at) VALUES (?, 'default', ?, ?, ?, ?, NULL)",
    )
      .bind(await sha256Hex(ticket), userId, purpose, now, now + (options.expiresInMs ?? 3_600_000))
      .run();
    return ticket;
  }

  it("works once, ends every session of the user, then is invalid-ticket", async () => {
    const { session, email } = await signUp();
    const other = await signIn(email);
    const ticket = await insertTicket(session.user.id);

    const response = await api("/user/password", { body: { newPassword: NEW_PASSWORD, ticket } });
    expect(response.status, response.text).toBe(200);
    expect(response.json).toBe("OK");
    expectError(await signIn(email, GOOD_PASSWORD), 401, "invalid-email-password");
    expect((await signIn(email, NEW_PASSWORD)).status).toBe(200);
    expectError(await refresh(session.refreshToken), 401, "invalid-refresh-token");
    expectError(await refresh(other.json.session.refreshToken), 401, "invalid-refresh-token");

    const used = await env.DB.prepare("SELECT used_at FROM tickets WHERE ticket_hash = ?").bind(await sha256Hex(ticket)).first<{ used_at: number | null }>();
    expect(used!.used_at).not.toBeNull();

    expectError(await api("/user/password", { body: { newPassword: "yet another passphrase", ticket } }), 401, "invalid-ticket");
    expect((await signIn(email, NEW_PASSWORD)).status).toBe(200);
  });

  it("two concurrent redemptions: exactly one succeeds", async () => {
    const { session } = await signUp();
    const ticket = await insertTicket(session.user.id);
    const responses = await Promise.all(
      Array.from({ length: 5 }, (_, i) => api("/user/password", { body: { newPassword: `${NEW_PASSWORD} ${i}`, ticket } })),
    );
    expect(responses.filter((response) => response.status === 200)).toHaveLength(1);
    for (const response of responses) if (response.status !== 200) expectError(response, 401, "invalid-ticket");
  });

  it("a too-short password does not consume the ticket", async () => {
    const { session, email } = await signUp();
    const ticket = await insertTicket(session.user.id);
    expectError(await api("/user/password", { body: { newPassword: "short", ticket } }), 400, "password-too-short");
    expect((await api("/user/password", { body: { newPassword: NEW_PASSWORD, ticket } })).status).toBe(200);
    expect((await signIn(email, NEW_PASSWORD)).status).toBe(200);
  });

  it("an expired ticket is invalid-ticket", async () => {
    const { session, email } = await signUp();
    const ticket = await insertTicket(session.user.id, { expiresInMs: -1 });
    expectError(await api("/user/password", { body: { newPassword: NEW_PASSWORD, ticket } }), 401, "invalid-ticket");
    expect((await signIn(email, GOOD_PASSWORD)).status).toBe(200);
  });

  it("a ticket of another purpose, or a mislabelled one, is invalid-ticket", async () => {
    const { session, email } = await signUp();
    const verifyEmail = await insertTicket(session.user.id, { purpose: "verifyEmail" });
    expectError(await api("/user/password", { body: { newPassword: NEW_PASSWORD, ticket: verifyEmail } }), 401, "invalid-ticket");
    // The string says passwordReset, but the stored row was issued for another purpose.
    const mislabelled = await insertTicket(session.user.id, { purpose: "verifyEmail", prefix: "passwordReset" });
    expectError(await api("/user/password", { body: { newPassword: NEW_PASSWORD, ticket: mislabelled } }), 401, "invalid-ticket");
    expectError(await api("/user/password", { body: { newPassword: NEW_PASSWORD, ticket: `passwordReset:${crypto.randomUUID()}` } }), 401, "invalid-ticket");
    expectError(await api("/user/password", { body: { newPassword: NEW_PASSWORD, ticket: "garbage" } }), 401, "invalid-ticket");
    expect((await signIn(email, GOOD_PASSWORD)).status).toBe(200);
  });
});

describe("system routes", () => {
  it("GET /healthz answers \"OK\", HEAD /healthz answers 200 with no body", async () => {
    const get = await api("/healthz");
    expect(get.status).toBe(200);
    expect(get.json).toBe("OK");
    const head = await api("/healthz", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
  });

  it("GET /version answers { version }", async () => {
    const response = await api("/version");
    expect(response.status).toBe(200);
    expect(Object.keys(response.json)).toEqual(["version"]);
    expect(typeof response.json.version).toBe("string");
    expect(response.json.version.length).toBeGreaterThan(0);
  });
});

describe(`absolute session lifetime (SESSION_MAX_LIFETIME_SECONDS, default ${SESSION_MAX_LIFETIME_SECONDS_DEFAULT / 86_400} days)`, () => {
  const DAY_MS = 86_400_000;

  async function post(path: string, body: unknown, settings: Record<string, string> = {}) {
    const ctx = createExecutionContext();
    const response = await appFetch(
      new Request(`http://localhost${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
      { ...env, ...settings } as Env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return { status: response.status, json: (await response.json()) as any };
  }

  /** Signs up at t0 and refreshes on each of `days`; the sliding 30-day expiry alone would never end it. */
  async function keepRefreshing(days: number[], settings: Record<string, string> = {}) {
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Date.now();
    vi.setSystemTime(t0);
    const signedUp = await post("/signup/email-password", { email: uniqueEmail("lifetime"), password: GOOD_PASSWORD }, settings);
    let refreshToken = signedUp.json.session.refreshToken as string;
    for (const day of days) {
      vi.setSystemTime(t0 + day * DAY_MS);
      const refreshed = await post("/token", { refreshToken }, settings);
      expect(refreshed.status, JSON.stringify(refreshed.json)).toBe(200);
      refreshToken = refreshed.json.refreshToken;
    }
    return { t0, refreshToken };
  }

  it("ends an active session at its absolute end, however often it refreshes", async () => {
    const { t0, refreshToken } = await keepRefreshing([25, 50, 75]);
    const row = await env.DB.prepare("SELECT expires_at, session_expires_at FROM refresh_tokens WHERE token_hash = ?")
      .bind(await sha256Hex(refreshToken))
      .first<{ expires_at: number; session_expires_at: number }>();
    // The last child expires with the session, not 30 days after its refresh.
    expect(row!.session_expires_at).toBe(t0 + SESSION_MAX_LIFETIME_SECONDS_DEFAULT * 1000);
    expect(row!.expires_at).toBe(row!.session_expires_at);

    vi.setSystemTime(t0 + SESSION_MAX_LIFETIME_SECONDS_DEFAULT * 1000 - 1000);
    const lastRefresh = await post("/token", { refreshToken });
    expect(lastRefresh.status).toBe(200);
    vi.setSystemTime(t0 + SESSION_MAX_LIFETIME_SECONDS_DEFAULT * 1000 + 1000);
    expectError(await post("/token", { refreshToken: lastRefresh.json.refreshToken }), 401, "invalid-refresh-token");
  });

  it("0 turns the limit off: the session slides on", async () => {
    await keepRefreshing([25, 50, 75, 100, 125], { SESSION_MAX_LIFETIME_SECONDS: "0" });
  });
});
