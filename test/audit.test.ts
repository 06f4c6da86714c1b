/**
 * The audit log (README, "Audit"): what the end-user API records, written after
 * the answer (never delaying it, never lost silently); the admin route that lists
 * it (filters, keyset cursor, scope); its retention; and the realm's stats.
 *
 * Requests go through the app with an execution context that the test waits on,
 * so the entries written in `waitUntil` are there when the test reads them.
 * Each test works in a realm of its own, so counts and pages are its own.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../src/server/index";
import { parseConfig } from "../src/server/config";
import type { RequestContext } from "../src/server/context";
import { drizzle } from "drizzle-orm/d1";
import { base32Decode, hotp, timeStep } from "../src/server/lib/totp";
import { recordAudit } from "../src/server/services/audit";
import { purgeExpiredRows } from "../src/server/db/purge";
import { ADMIN_SECRET, GOOD_PASSWORD, appFetch, createAdminApiKey, uniqueEmail, withClockHeld } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const DAY_MS = 24 * 60 * 60 * 1000;

async function newRealm(): Promise<string> {
  const realm = `audit-${crypto.randomUUID().slice(0, 8)}`;
  await env.DB.prepare("INSERT INTO realms (id, created_at) VALUES (?, ?)").bind(realm, Date.now()).run();
  return realm;
}

interface CallOptions {
  body?: unknown;
  method?: string;
  token?: string;
  headers?: Record<string, string>;
  bindings?: Partial<Env>;
}

/** One request through the app; returns once its `waitUntil` work (the audit entries) is done. */
async function call(path: string, options: CallOptions = {}) {
  const headers: Record<string, string> = { "user-agent": "audit-test/1.0", ...options.headers };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const request = new Request(`http://localhost${path}`, {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    redirect: "manual",
  });
  const ctx = createExecutionContext();
  const response = await appFetch(request, { ...env, ...options.bindings } as Env, ctx);
  const text = await response.text();
  await waitOnExecutionContext(ctx);
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json };
}

const admin = { "x-admin-secret": ADMIN_SECRET };

async function auditOf(realm: string, query: Record<string, string> = {}) {
  const response = await call(`/admin/realms/${realm}/audit?${new URLSearchParams(query)}`, { headers: admin });
  expect(response.status, JSON.stringify(response.json)).toBe(200);
  return response.json as { events: any[]; nextCursor: string | null };
}

async function signUpIn(realm: string, email = uniqueEmail("audit")) {
  const response = await call(`/realms/${realm}/signup/email-password`, { body: { email, password: GOOD_PASSWORD } });
  expect(response.status, JSON.stringify(response.json)).toBe(200);
  return { email, session: response.json.session as { accessToken: string; refreshToken: string; user: { id: string } } };
}

function codeFor(totpSecret: string, atMs = Date.now()): Promise<string> {
  return hotp(base32Decode(totpSecret)!, timeStep(atMs));
}

describe("what the end-user API records", () => {
  it("sign-up and sign-in by password: success, a wrong password (with the user), an unknown address (without it)", async () => {
    const realm = await newRealm();
    const { email, session } = await signUpIn(realm);
    expect((await call(`/realms/${realm}/signin/email-password`, { body: { email, password: GOOD_PASSWORD } })).status).toBe(200);
    expect((await call(`/realms/${realm}/signin/email-password`, { body: { email, password: "wrong horse battery staple" } })).status).toBe(401);
    const stranger = uniqueEmail("stranger");
    expect((await call(`/realms/${realm}/signin/email-password`, { body: { email: stranger, password: GOOD_PASSWORD } })).status).toBe(401);

    const { events } = await auditOf(realm);
    const userId = session.user.id;
    expect(events.map((event) => [event.type, event.outcome, event.userId, event.detail])).toEqual([
      ["signin", "failure", null, { method: "email-password", error: "invalid-email-password" }],
      ["signin", "failure", userId, { method: "email-password", error: "invalid-email-password" }],
      ["signin", "success", userId, { method: "email-password" }],
      ["signup", "success", userId, { method: "email-password" }],
    ]);
    // The address a stranger typed is kept nowhere in the log.
    expect(JSON.stringify(events)).not.toContain(stranger);
    expect(events[0]).toMatchObject({ actor: { type: "anonymous", id: null }, userAgent: "audit-test/1.0" });
    expect(events[0].clientIp).toMatch(/^10\./);
    expect(events[2]).toMatchObject({ actor: { type: "user", id: userId } });
    expect(Date.parse(events[0].createdAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("refused sign-ups record their method and error code, never the address", async () => {
    const realm = await newRealm();
    const { email } = await signUpIn(realm);
    const weak = uniqueEmail("weak");
    expect((await call(`/realms/${realm}/signup/email-password`, { body: { email, password: GOOD_PASSWORD } })).status).toBe(409);
    expect((await call(`/realms/${realm}/signup/email-password`, { body: { email: weak, password: "qwertyuiop" } })).status).toBe(400);
    expect((await call(`/realms/${realm}/signup/webauthn`, { body: { email } })).status).toBe(409);
    const anonymous = await call(`/realms/${realm}/signin/anonymous`, { body: {} });
    const anonymousId = anonymous.json.session.user.id;
    const taken = await call(`/realms/${realm}/user/deanonymize`, {
      token: anonymous.json.session.accessToken,
      body: { signInMethod: "email-password", email, password: GOOD_PASSWORD },
    });
    expect(taken.status).toBe(409);

    const failures = (await auditOf(realm, { type: "signup" })).events.filter((event) => event.outcome === "failure");
    expect(failures.map((event) => [event.userId, event.detail])).toEqual([
      [anonymousId, { method: "deanonymize", error: "user-already-exists" }],
      [null, { method: "passkey", error: "user-already-exists" }],
      [null, { method: "email-password", error: "password-in-hibp-database" }],
      [null, { method: "email-password", error: "user-already-exists" }],
    ]);
    expect(JSON.stringify(failures)).not.toContain(weak);
  });

  it("password-reset requests: sent for an account, refused for an unknown address (without it), with enumeration protection (the default) or not", async () => {
    const realm = await newRealm();
    const { email, session } = await signUpIn(realm);
    const stranger = uniqueEmail("reset-stranger");
    expect((await call(`/realms/${realm}/user/password/reset`, { body: { email } })).status).toBe(200);
    const told = await call(`/realms/${realm}/user/password/reset`, { body: { email: stranger }, bindings: { ENUMERATION_PROTECTION: "false" } });
    expect(told.status).toBe(400);
    expect((await call(`/realms/${realm}/user/password/reset`, { body: { email: stranger } })).status).toBe(200);

    const { events } = await auditOf(realm, { type: "password-reset-request" });
    expect(events.map((event) => [event.outcome, event.userId, event.detail])).toEqual([
      ["failure", null, { error: "invalid-request" }],
      ["failure", null, { error: "invalid-request" }],
      ["success", session.user.id, {}],
    ]);
    expect(JSON.stringify(events)).not.toContain(stranger);
  });

  it("each sign-in method records a failure with its method and error code", async () => {
    const realm = await newRealm();
    const email = uniqueEmail("methods");
    const attempts: [string, string, unknown][] = [
      ["email-otp", "/signin/otp/email/verify", { email, otp: "123456" }],
      ["sms-otp", "/signin/passwordless/sms/otp", { phoneNumber: "+14155550100", otp: "123456" }],
      ["pat", "/signin/pat", { personalAccessToken: crypto.randomUUID() }],
      ["mfa-totp", "/signin/mfa/totp", { ticket: `mfaTotp:${crypto.randomUUID()}`, otp: "123456" }],
      ["passkey", "/signin/webauthn/verify", { credential: { id: "x" } }],
    ];
    for (const [, path, body] of attempts) expect((await call(`/realms/${realm}${path}`, { body })).status).toBeGreaterThanOrEqual(400);
    const link = await call(`/realms/${realm}/verify?ticket=signinPasswordless:${crypto.randomUUID()}`);
    expect(link.status).toBe(302);
    // Anonymous sign-in turned off: a failure too.
    const anonymous = await call(`/realms/${realm}/signin/anonymous`, { body: {}, bindings: { ANONYMOUS_USERS_ENABLED: "false" } });
    expect(anonymous.status).toBe(409);

    const { events } = await auditOf(realm, { type: "signin" });
    const byMethod = new Map(events.map((event) => [event.detail.method, event]));
    for (const [method] of attempts) expect(byMethod.get(method), method).toMatchObject({ outcome: "failure", userId: null });
    expect(byMethod.get("email-otp").detail.error).toBe("invalid-otp");
    expect(byMethod.get("pat").detail.error).toBe("invalid-pat");
    expect(byMethod.get("mfa-totp").detail.error).toBe("invalid-ticket");
    expect(byMethod.get("magic-link")).toMatchObject({ outcome: "failure", detail: { error: "invalid-ticket", link: "signinPasswordless" } });
    expect(byMethod.get("anonymous")).toMatchObject({ outcome: "failure", detail: { error: "disabled-endpoint" } });
  });

  it("anonymous and PAT sign-ins, with the anonymous sign-up", async () => {
    const realm = await newRealm();
    const anonymous = await call(`/realms/${realm}/signin/anonymous`, { body: {} });
    expect(anonymous.status).toBe(200);
    const anonymousId = anonymous.json.session.user.id;

    const { session } = await signUpIn(realm);
    const expiresAt = new Date(Date.now() + 30 * DAY_MS).toISOString();
    const pat = await call(`/realms/${realm}/pat`, { token: session.accessToken, body: { expiresAt } });
    expect(pat.status).toBe(200);
    expect((await call(`/realms/${realm}/signin/pat`, { body: { personalAccessToken: pat.json.personalAccessToken } })).status).toBe(200);

    const { events } = await auditOf(realm);
    expect(events.filter((event) => event.userId === anonymousId).map((event) => [event.type, event.detail])).toEqual([
      ["signin", { method: "anonymous" }],
      ["signup", { method: "anonymous" }],
    ]);
    expect(events[0]).toMatchObject({ type: "signin", outcome: "success", userId: session.user.id, detail: { method: "pat" } });

    const deanonymized = await call(`/realms/${realm}/user/deanonymize`, {
      token: anonymous.json.session.accessToken,
      body: { signInMethod: "email-password", email: uniqueEmail("deanon"), password: GOOD_PASSWORD },
    });
    expect(deanonymized.status, JSON.stringify(deanonymized.json)).toBe(200);
    const latest = (await auditOf(realm, { userId: anonymousId, type: "signup" })).events[0];
    expect(latest.detail).toEqual({ method: "deanonymize", signInMethod: "email-password" });
  });

  it("TOTP: turning it on and off, and a two-step sign-in counted once", async () => {
    const realm = await newRealm();
    const { email, session } = await signUpIn(realm);
    const generated = await call(`/realms/${realm}/mfa/totp/generate`, { token: session.accessToken });
    const { totpSecret } = generated.json;
    const on = await withClockHeld(async () =>
      call(`/realms/${realm}/user/mfa`, { token: session.accessToken, body: { code: await codeFor(totpSecret, Date.now() - 30_000), activeMfaType: "totp" } }),
    );
    expect(on.status, JSON.stringify(on.json)).toBe(200);
    const first = await call(`/realms/${realm}/signin/email-password`, { body: { email, password: GOOD_PASSWORD } });
    expect(first.json.mfa.ticket).toMatch(/^mfaTotp:/);
    const second = await call(`/realms/${realm}/signin/mfa/totp`, { body: { ticket: first.json.mfa.ticket, otp: await codeFor(totpSecret) } });
    expect(second.status, JSON.stringify(second.json)).toBe(200);
    const off = await call(`/realms/${realm}/user/mfa`, {
      token: second.json.session.accessToken,
      body: { code: await codeFor(totpSecret, Date.now() + 30_000), activeMfaType: "" },
    });
    expect(off.status, JSON.stringify(off.json)).toBe(200);

    const { events } = await auditOf(realm, { userId: session.user.id });
    expect(events.slice(0, 4).map((event) => [event.type, event.detail])).toEqual([
      ["factor-change", { factor: "totp", change: "disabled" }],
      ["signin", { method: "mfa-totp" }],
      ["signin", { method: "email-password", secondFactor: "due" }],
      ["factor-change", { factor: "totp", change: "enabled" }],
    ]);
  });

  it("sign-out of one session and of all, and a signed-in password change", async () => {
    const realm = await newRealm();
    const { email, session } = await signUpIn(realm);
    const other = await call(`/realms/${realm}/signin/email-password`, { body: { email, password: GOOD_PASSWORD } });
    expect((await call(`/realms/${realm}/signout`, { body: { refreshToken: other.json.session.refreshToken } })).status).toBe(200);
    const changed = await call(`/realms/${realm}/user/password`, { token: session.accessToken, body: { newPassword: "another horse battery staple" } });
    expect(changed.status, JSON.stringify(changed.json)).toBe(200);
    expect((await call(`/realms/${realm}/signout`, { token: session.accessToken, body: { all: true } })).status).toBe(200);

    const { events } = await auditOf(realm, { userId: session.user.id });
    expect(events.slice(0, 3).map((event) => [event.type, event.outcome, event.detail.scope ?? event.detail.via])).toEqual([
      ["signout", "success", "all"],
      ["password-change", "success", "signed-in"],
      ["signout", "success", "session"],
    ]);
  });

  it("a refresh-token reuse records the revoked session; a refresh does not", async () => {
    const realm = await newRealm();
    const t0 = Date.now();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(t0);
    try {
      const { session } = await signUpIn(realm);
      expect((await call(`/realms/${realm}/token`, { body: { refreshToken: session.refreshToken } })).status).toBe(200);
      vi.setSystemTime(t0 + 60_000);
      expect((await call(`/realms/${realm}/token`, { body: { refreshToken: session.refreshToken } })).status).toBe(401);
    } finally {
      vi.useRealTimers();
    }
    const { events } = await auditOf(realm);
    expect(events.map((event) => event.type)).toEqual(["refresh-reuse", "signup"]);
    expect(events[0]).toMatchObject({ outcome: "failure", actor: { type: "anonymous", id: null } });
    expect(events[0].detail.sessionId).toEqual(expect.any(String));
  });

  it("a limit hit records which limit (no address), and the refused attempt is no sign-in failure", async () => {
    const realm = await newRealm();
    const { email } = await signUpIn(realm);
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 11; attempt++) {
      statuses.push((await call(`/realms/${realm}/signin/email-password`, { body: { email, password: "wrong horse battery staple" } })).status);
    }
    expect(statuses.at(-1)).toBe(429);
    const limits = await auditOf(realm, { type: "rate-limit" });
    expect(limits.events).toHaveLength(1);
    expect(limits.events[0]).toMatchObject({ outcome: "failure", detail: { limit: "attempts-per-account" } });
    expect(JSON.stringify(limits.events)).not.toContain(email);
    expect((await auditOf(realm, { type: "signin" })).events).toHaveLength(10);
  });
});

describe("writing an entry", () => {
  it("a failed write is logged with the type and realm, and rejects nothing", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const pending: Promise<unknown>[] = [];
    const failingDb = {
      insert: () => ({ values: () => ({ run: () => Promise.reject(new Error("D1_ERROR: database is down")) }) }),
    } as unknown as RequestContext["db"];
    const context = {
      db: failingDb,
      realm: { id: "some-realm", issuer: "http://localhost/realms/some-realm" },
      clientIp: "10.0.0.1",
      userAgent: null,
      waitUntil: (promise: Promise<unknown>) => pending.push(promise),
    } as unknown as RequestContext;
    recordAudit(context, { type: "signin", outcome: "failure", detail: { method: "email-password", error: "invalid-email-password" } });
    expect(pending).toHaveLength(1);
    await expect(pending[0]).resolves.toBeUndefined();
    expect(error).toHaveBeenCalledWith(expect.stringContaining("audit: writing a signin event of realm some-realm failed: D1_ERROR: database is down"));
  });

  it("a sign-in is answered before its entry is written", async () => {
    const realm = await newRealm();
    const { email } = await signUpIn(realm);
    // D1 whose audit inserts wait until the test lets them through.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const gated = (statement: D1PreparedStatement): D1PreparedStatement =>
      new Proxy(statement, {
        get(target, property) {
          if (property === "bind") return (...values: unknown[]) => gated(target.bind(...values));
          if (property === "run") return () => gate.then(() => target.run());
          const value = Reflect.get(target, property);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    const db = new Proxy(env.DB, {
      get(target, property) {
        if (property === "prepare") {
          return (query: string) => (/insert into "audit_events"/i.test(query) ? gated(target.prepare(query)) : target.prepare(query));
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });

    const ctx = createExecutionContext();
    const request = new Request(`http://localhost/realms/${realm}/signin/email-password`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: GOOD_PASSWORD }),
    });
    const response = await appFetch(request, { ...env, DB: db } as Env, ctx);
    expect(response.status).toBe(200);
    expect((await auditOf(realm, { type: "signin" })).events).toHaveLength(0);
    release();
    await waitOnExecutionContext(ctx);
    expect((await auditOf(realm, { type: "signin" })).events).toHaveLength(1);
  });
});

/** Writes events straight to the table: times and ids a test chooses. */
async function insertEvents(realm: string, events: { id: string; createdAt: number; type?: string; userId?: string | null; detail?: object }[]) {
  await env.DB.batch(
    events.map((event) =>
      env.DB.prepare(
        "INSERT INTO audit_events (id, realm, type, user_id, actor_type, actor_id, outcome, detail, created_at) VALUES (?, ?, ?, ?, 'anonymous', NULL, 'success', ?, ?)",
      ).bind(event.id, realm, event.type ?? "signin", event.userId ?? null, JSON.stringify(event.detail ?? { method: "email-password" }), event.createdAt),
    ),
  );
}

describe("GET /admin/realms/{realm}/audit", () => {
  it("filters by type, user and time, and bounds the page", async () => {
    const realm = await newRealm();
    const t = Date.UTC(2026, 0, 10, 12);
    await insertEvents(realm, [
      { id: "e1", createdAt: t, type: "signup", userId: "u1" },
      { id: "e2", createdAt: t + 1000, type: "signin", userId: "u1" },
      { id: "e3", createdAt: t + 2000, type: "signin", userId: "u2" },
      { id: "e4", createdAt: t + 3000, type: "signout", userId: "u2" },
    ]);
    const ids = async (query: Record<string, string>) => (await auditOf(realm, query)).events.map((event) => event.id);
    expect(await ids({})).toEqual(["e4", "e3", "e2", "e1"]);
    expect(await ids({ type: "signin" })).toEqual(["e3", "e2"]);
    expect(await ids({ userId: "u2" })).toEqual(["e4", "e3"]);
    expect(await ids({ since: new Date(t + 1000).toISOString(), until: new Date(t + 2000).toISOString() })).toEqual(["e3", "e2"]);
    const page = await auditOf(realm, { limit: "3" });
    expect(page.events).toHaveLength(3);
    expect(page.nextCursor).toEqual(expect.any(String));
    expect((await auditOf(realm, { limit: "4" })).nextCursor).toBeNull();

    for (const query of ["limit=0", "limit=201", "type=nope", "since=yesterday", "cursor=%21%21", "color=blue"]) {
      const response = await call(`/admin/realms/${realm}/audit?${query}`, { headers: admin });
      expect(response.status, query).toBe(400);
      expect(response.json.error.code, query).toBe("invalid-request");
    }
  });

  it("pages newest first with a cursor that neither repeats nor skips while new events arrive", async () => {
    const realm = await newRealm();
    const t = Date.UTC(2026, 0, 10, 12);
    // Two events share a millisecond: the id orders them.
    await insertEvents(realm, [
      { id: "a", createdAt: t },
      { id: "b", createdAt: t + 1 },
      { id: "c", createdAt: t + 1 },
      { id: "d", createdAt: t + 2 },
      { id: "e", createdAt: t + 3 },
    ]);
    const seen: string[] = [];
    let cursor: string | null = null;
    let newer = 0;
    do {
      const page: { events: any[]; nextCursor: string | null } = await auditOf(realm, { limit: "2", ...(cursor === null ? {} : { cursor }) });
      seen.push(...page.events.map((event) => event.id));
      cursor = page.nextCursor;
      // An event written between pages is newer than every page already read.
      await insertEvents(realm, [{ id: `new-${newer++}`, createdAt: t + 1000 + newer }]);
    } while (cursor !== null);
    expect(seen).toEqual(["e", "d", "c", "b", "a"]);
  });

  it("needs an admin credential (401) with the audit:read scope on the realm (403); unknown realms are 404", async () => {
    const realm = await newRealm();
    const anonymous = await call(`/admin/realms/${realm}/audit`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.error.code).toBe("invalid-admin-secret");
    expect((await call(`/admin/realms/${realm}/audit`, { headers: { "x-admin-secret": "not-the-secret-at-all-0123" } })).status).toBe(401);

    const keys = { users: (await createAdminApiKey(realm, ["users:read"])).key, audit: (await createAdminApiKey(realm, ["audit:read"])).key };
    const bearer = (key: keyof typeof keys) => ({ authorization: `Bearer ${keys[key]}` });
    const forbidden = await call(`/admin/realms/${realm}/audit`, { headers: bearer("users") });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json.error.code).toBe("admin-forbidden");
    expect((await call(`/admin/realms/${realm}/audit`, { headers: bearer("audit") })).status).toBe(200);
    // A key of one realm reads no other's log.
    expect((await call(`/admin/realms/default/audit`, { headers: bearer("audit") })).status).toBe(403);
    expect((await call(`/admin/realms/${realm}/stats`, { headers: bearer("audit") })).status).toBe(403);
    expect((await call(`/admin/realms/${realm}/stats`, { headers: bearer("users") })).status).toBe(200);
    expect((await call(`/admin/realms/no-such-realm-here/audit`, { headers: admin })).status).toBe(404);
  });
});

describe("GET /admin/realms/{realm}/stats", () => {
  it("counts users, live sessions and successful sign-ins per UTC day for 30 days, zeros included", async () => {
    const realm = await newRealm();
    const first = await signUpIn(realm);
    const second = await signUpIn(realm);
    await call(`/realms/${realm}/signin/email-password`, { body: { email: first.email, password: GOOD_PASSWORD } });
    await call(`/realms/${realm}/signin/email-password`, { body: { email: first.email, password: "wrong horse battery staple" } });
    expect((await call(`/realms/${realm}/signout`, { body: { refreshToken: second.session.refreshToken } })).status).toBe(200);
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    await insertEvents(realm, [
      { id: `${realm}-old-1`, createdAt: today - 3 * DAY_MS + 5 },
      { id: `${realm}-old-2`, createdAt: today - 3 * DAY_MS + 6 },
      { id: `${realm}-due`, createdAt: today - 3 * DAY_MS + 7, detail: { method: "email-password", secondFactor: "due" } },
      { id: `${realm}-too-old`, createdAt: today - 30 * DAY_MS },
    ]);

    const response = await call(`/admin/realms/${realm}/stats`, { headers: admin });
    expect(response.status).toBe(200);
    const { users, activeSessions, signInsPerDay } = response.json;
    expect(users).toBe(2);
    expect(activeSessions).toBe(2);
    expect(signInsPerDay).toHaveLength(30);
    expect(signInsPerDay[29]).toEqual({ date: new Date(today).toISOString().slice(0, 10), count: 1 });
    expect(signInsPerDay[26]).toEqual({ date: new Date(today - 3 * DAY_MS).toISOString().slice(0, 10), count: 2 });
    expect(signInsPerDay[0].date).toBe(new Date(today - 29 * DAY_MS).toISOString().slice(0, 10));
    expect(signInsPerDay.reduce((sum: number, day: { count: number }) => sum + day.count, 0)).toBe(3);
  });
});

describe("retention", () => {
  it("AUDIT_RETENTION_DAYS defaults to 90 and is bounded 1..3650", () => {
    const base = { PUBLIC_URL: "https://auth.example.com", REFRESH_TOKEN_SECRET: "x".repeat(32) };
    expect(parseConfig(base).auditRetentionDays).toBe(90);
    expect(parseConfig({ ...base, AUDIT_RETENTION_DAYS: "365" }).auditRetentionDays).toBe(365);
    expect(() => parseConfig({ ...base, AUDIT_RETENTION_DAYS: "0" })).toThrow(/AUDIT_RETENTION_DAYS/);
    expect(() => parseConfig({ ...base, AUDIT_RETENTION_DAYS: "3651" })).toThrow(/AUDIT_RETENTION_DAYS/);
  });

  it("the daily purge deletes events older than the retention and keeps the rest", async () => {
    const realm = await newRealm();
    const now = Date.now();
    await insertEvents(realm, [
      { id: `${realm}-91d`, createdAt: now - 91 * DAY_MS },
      { id: `${realm}-89d`, createdAt: now - 89 * DAY_MS },
      { id: `${realm}-1d`, createdAt: now - DAY_MS },
    ]);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: now, cron: "17 3 * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect((await auditOf(realm)).events.map((event) => event.id)).toEqual([`${realm}-1d`, `${realm}-89d`]);

    // A shorter retention, as AUDIT_RETENTION_DAYS=30 sets it.
    const counts = await purgeExpiredRows(drizzle(env.DB), now, { auditRetentionDays: 30 });
    expect(counts.audit_events).toBeGreaterThanOrEqual(1);
    expect((await auditOf(realm)).events.map((event) => event.id)).toEqual([`${realm}-1d`]);
  });
});
