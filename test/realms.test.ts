/**
 * Realms as a per-request scope (design §7): the end-user API served for the
 * default realm at the root and for realm `r` under `/realms/r`, with its own
 * issuer, keys and users; a token of one realm is refused by the other; an unknown
 * realm answers 404. Driven through `@nhost/nhost-js` with `authUrl` ending in the
 * realm's path, as an application would.
 */
import { createClient } from "@nhost/nhost-js";
import { MemoryStorage } from "@nhost/nhost-js/session";
import { env } from "cloudflare:workers";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT } from "../src/server/config";
import { REALM_CACHE_SECONDS } from "../src/server/realm";
import { ADMIN_SECRET, GOOD_PASSWORD, api, uniqueEmail, workerFetch } from "./helpers";

const REALM = "acme-realm-test";

beforeAll(async () => {
  await env.DB.prepare("INSERT OR IGNORE INTO realms (id, created_at) VALUES (?, ?)").bind(REALM, Date.now()).run();
});

afterEach(() => vi.useRealTimers());

function clientFor(authUrl: string) {
  const nhost = createClient({ authUrl, storage: new MemoryStorage() });
  nhost.auth.pushChainFunction(() => (url, init) => workerFetch(url, init));
  return nhost;
}

async function signUpAt(prefix: string, email: string) {
  const response = await api(`${prefix}/signup/email-password`, { body: { email, password: GOOD_PASSWORD } });
  expect(response.status, response.text).toBe(200);
  return response.json.session as { accessToken: string; refreshToken: string; user: { id: string } };
}

describe("two realms side by side", () => {
  it("@nhost/nhost-js works with authUrl ending in /realms/{realm}: sign-up, sign-in, GET /user", async () => {
    const nhost = clientFor(`http://localhost/realms/${REALM}`);
    const email = uniqueEmail("realm-nhost");
    const signedUp = await nhost.auth.signUpEmailPassword({ email, password: GOOD_PASSWORD });
    expect(signedUp.body.session?.user?.email).toBe(email);
    const signedIn = await nhost.auth.signInEmailPassword({ email, password: GOOD_PASSWORD });
    expect(decodeJwt(signedIn.body.session!.accessToken).iss).toBe(`http://localhost/realms/${REALM}`);
    const user = await nhost.auth.getUser();
    expect(user.body.email).toBe(email);
  });

  it("one address, two accounts: each realm has its own users", async () => {
    const email = uniqueEmail("realm-both");
    const inDefault = await signUpAt("", email);
    const inRealm = await signUpAt(`/realms/${REALM}`, email);
    expect(inRealm.user.id).not.toBe(inDefault.user.id);
    // A password known to one realm signs in only there.
    expect((await api(`/realms/${REALM}/signin/email-password`, { body: { email, password: GOOD_PASSWORD } })).status).toBe(200);
    const other = uniqueEmail("realm-only-default");
    await signUpAt("", other);
    expect((await api(`/realms/${REALM}/signin/email-password`, { body: { email: other, password: GOOD_PASSWORD } })).status).toBe(401);
  });

  it("each realm has its own issuer and its own keys", async () => {
    const inDefault = await signUpAt("", uniqueEmail("realm-iss-default"));
    const inRealm = await signUpAt(`/realms/${REALM}`, uniqueEmail("realm-iss"));
    expect(decodeJwt(inDefault.accessToken).iss).toBe("http://localhost");
    expect(decodeJwt(inRealm.accessToken).iss).toBe(`http://localhost/realms/${REALM}`);
    const defaultKeys = (await api("/.well-known/jwks.json")).json.keys.map((key: { kid: string }) => key.kid);
    const realmKeys = (await api(`/realms/${REALM}/.well-known/jwks.json`)).json.keys.map((key: { kid: string }) => key.kid);
    expect(realmKeys.length).toBeGreaterThan(0);
    expect(realmKeys.filter((kid: string) => defaultKeys.includes(kid))).toEqual([]);
    expect(realmKeys).toContain(decodeProtectedHeader(inRealm.accessToken).kid);
  });

  it("a token of one realm is refused by the other, on every route family", async () => {
    const inDefault = await signUpAt("", uniqueEmail("realm-cross-default"));
    const inRealm = await signUpAt(`/realms/${REALM}`, uniqueEmail("realm-cross"));
    for (const [prefix, session] of [
      [`/realms/${REALM}`, inDefault],
      ["", inRealm],
    ] as const) {
      expect((await api(`${prefix}/user`, { token: session.accessToken })).status).toBe(401);
      expect((await api(`${prefix}/token/verify`, { body: { token: session.accessToken } })).status).toBe(401);
      expect((await api(`${prefix}/token`, { body: { refreshToken: session.refreshToken } })).status).toBe(401);
      expect((await api(`${prefix}/user/password`, { token: session.accessToken, body: { newPassword: "a new long passphrase here" } })).status).toBe(401);
      expect((await api(`${prefix}/pat`, { token: session.accessToken, body: { expiresAt: new Date(Date.now() + 86_400_000).toISOString() } })).status).toBe(401);
      expect((await api(`${prefix}/signout`, { token: session.accessToken, body: { all: true } })).status).toBe(401);
    }
    // Both still work at home.
    expect((await api("/user", { token: inDefault.accessToken })).status).toBe(200);
    expect((await api(`/realms/${REALM}/user`, { token: inRealm.accessToken })).status).toBe(200);
  });

  it("limits count per realm: failures in one realm do not lock the same address in another", async () => {
    const email = uniqueEmail("realm-limits");
    await signUpAt("", email);
    await signUpAt(`/realms/${REALM}`, email);
    for (let i = 0; i < RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT; i++) {
      expect((await api("/signin/email-password", { body: { email, password: "wrong password here" } })).status).toBe(401);
    }
    expect((await api("/signin/email-password", { body: { email, password: GOOD_PASSWORD } })).status).toBe(429);
    expect((await api(`/realms/${REALM}/signin/email-password`, { body: { email, password: GOOD_PASSWORD } })).status).toBe(200);
  });

  it("a realm's mail links go to the realm's own /verify and sign in its user there", async () => {
    const email = uniqueEmail("realm-link");
    const session = await signUpAt(`/realms/${REALM}`, email);
    expect((await api(`/realms/${REALM}/signin/passwordless/email`, { body: { email } })).status).toBe(200);
    let link: string | undefined;
    for (let attempt = 0; attempt < 100 && link === undefined; attempt++) {
      const mails = (await api(`/realms/${REALM}/_dev/outbox`)).json.mails as { to: string; links: string[] }[];
      link = mails.find((mail) => mail.to === email)?.links.find((candidate) => candidate.includes("/verify?"));
      if (link === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(link).toMatch(new RegExp(`^http://localhost/realms/${REALM}/verify\\?`));
    // The default realm's outbox does not hold the realm's mail.
    const defaultMails = (await api("/_dev/outbox")).json.mails as { to: string }[];
    expect(defaultMails.some((mail) => mail.to === email)).toBe(false);
    const response = await workerFetch(link!, { redirect: "manual" });
    expect(response.status).toBe(302);
    const refreshToken = new URL(response.headers.get("location")!).searchParams.get("refreshToken");
    const refreshed = await api(`/realms/${REALM}/token`, { body: { refreshToken } });
    expect(refreshed.status, refreshed.text).toBe(200);
    expect(refreshed.json.user.id).toBe(session.user.id);
  });

  it("an unknown, malformed or `default` realm path answers 404 not-found", async () => {
    for (const path of ["/realms/no-such-realm/healthz", "/realms/default/healthz", "/realms/Upper/healthz", "/realms/-x/healthz", `/realms/${"a".repeat(64)}/healthz`]) {
      const response = await api(path);
      expect(response.status, path).toBe(404);
      expect(response.json).toMatchObject({ error: "not-found" });
    }
    expect((await api(`/realms/${REALM}/healthz`)).status).toBe(200);
  });
});

describe("a realm's own settings", () => {
  const SETTINGS_REALM = "settings-realm-test";

  it("override the deployment's for that realm alone, and a change is seen within the cache bound", async () => {
    await env.DB.prepare("INSERT OR REPLACE INTO realms (id, created_at, settings) VALUES (?, ?, ?)")
      .bind(SETTINGS_REALM, Date.now(), JSON.stringify({ ACCESS_TOKEN_TTL_SECONDS: "120" }))
      .run();
    const session = await signUpAt(`/realms/${SETTINGS_REALM}`, uniqueEmail("realm-settings"));
    const claims = decodeJwt(session.accessToken);
    expect(claims.exp! - claims.iat!).toBe(120);
    // The default realm keeps the deployment's lifetime.
    const inDefault = decodeJwt((await signUpAt("", uniqueEmail("realm-settings-default"))).accessToken);
    expect(inDefault.exp! - inDefault.iat!).toBe(900);

    // An operator turns sign-up off for the realm: within REALM_CACHE_SECONDS every isolate refuses sign-ups.
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Date.now();
    vi.setSystemTime(t0);
    await env.DB.prepare("UPDATE realms SET settings = ? WHERE id = ?").bind(JSON.stringify({ SIGNUP_DISABLED: "true" }), SETTINGS_REALM).run();
    vi.setSystemTime(t0 + (REALM_CACHE_SECONDS + 1) * 1000);
    const refused = await api(`/realms/${SETTINGS_REALM}/signup/email-password`, { body: { email: uniqueEmail("realm-off"), password: GOOD_PASSWORD } });
    expect(refused.status, refused.text).toBe(403);
    expect(refused.json.error).toBe("signup-disabled");
    expect((await api("/signup/email-password", { body: { email: uniqueEmail("realm-on"), password: GOOD_PASSWORD } })).status).toBe(200);
  });

  it("a deleted realm answers 404 once the cache bound has passed", async () => {
    const doomed = "deleted-realm-test";
    await env.DB.prepare("INSERT OR REPLACE INTO realms (id, created_at) VALUES (?, ?)").bind(doomed, Date.now()).run();
    expect((await api(`/realms/${doomed}/healthz`)).status).toBe(200);
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Date.now();
    vi.setSystemTime(t0);
    await env.DB.prepare("UPDATE realms SET deleted_at = ? WHERE id = ?").bind(t0, doomed).run();
    vi.setSystemTime(t0 + (REALM_CACHE_SECONDS + 1) * 1000);
    expect((await api(`/realms/${doomed}/healthz`)).status).toBe(404);
  });

  it("a realm may keep its rows in another D1 database (DATABASE names the binding)", async () => {
    const apart = "second-db-realm-test";
    await env.DB.prepare("INSERT OR REPLACE INTO realms (id, created_at, settings) VALUES (?, ?, ?)")
      .bind(apart, Date.now(), JSON.stringify({ DATABASE: "DB_2" }))
      .run();
    // Its row in the second database too: the rows there name their realm (a foreign key).
    await env.DB_2.prepare("INSERT OR IGNORE INTO realms (id, created_at) VALUES (?, ?)").bind(apart, Date.now()).run();
    const email = uniqueEmail("realm-db2");
    const session = await signUpAt(`/realms/${apart}`, email);
    const inSecond = await env.DB_2.prepare("SELECT realm FROM users WHERE id = ?").bind(session.user.id).first<{ realm: string }>();
    const inFirst = await env.DB.prepare("SELECT realm FROM users WHERE id = ?").bind(session.user.id).first();
    expect(inSecond).toEqual({ realm: apart });
    expect(inFirst).toBeNull();
    // The whole flow works there: refresh, GET /user, sign-in.
    expect((await api(`/realms/${apart}/token`, { body: { refreshToken: session.refreshToken } })).status).toBe(200);
    expect((await api(`/realms/${apart}/user`, { token: session.accessToken })).json.email).toBe(email);
    expect((await api(`/realms/${apart}/signin/email-password`, { body: { email, password: GOOD_PASSWORD } })).status).toBe(200);
  });

  it("a realm naming a binding the Worker does not have fails closed, naming the setting in the log", async () => {
    const broken = "broken-db-realm-test";
    await env.DB.prepare("INSERT OR REPLACE INTO realms (id, created_at, settings) VALUES (?, ?, ?)")
      .bind(broken, Date.now(), JSON.stringify({ DATABASE: "NO_SUCH_DB" }))
      .run();
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await api(`/realms/${broken}/healthz`);
    expect(response.status).toBe(500);
    expect(response.text).not.toContain("NO_SUCH_DB");
    expect(error.mock.calls.flat().join(" ")).toContain("DATABASE");
    error.mockRestore();
  });

  it("a stored override of a deployment setting or secret fails the realm closed instead of applying", async () => {
    const sneaky = "sneaky-settings-realm-test";
    await env.DB.prepare("INSERT OR REPLACE INTO realms (id, created_at, settings) VALUES (?, ?, ?)")
      .bind(sneaky, Date.now(), JSON.stringify({ ENVIRONMENT: "development" }))
      .run();
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await api(`/realms/${sneaky}/_dev/outbox`)).status).toBe(500);
    expect(error.mock.calls.flat().join(" ")).toContain("ENVIRONMENT");
    error.mockRestore();
  });

  it("impersonation is allowed per realm: a realm's override turns it on there only", async () => {
    const support = "impersonation-realm-test";
    await env.DB.prepare("INSERT OR REPLACE INTO realms (id, created_at, settings) VALUES (?, ?, ?)")
      .bind(support, Date.now(), JSON.stringify({ ADMIN_IMPERSONATION_ENABLED: "true" }))
      .run();
    const inRealm = await signUpAt(`/realms/${support}`, uniqueEmail("impersonated"));
    const inDefault = await signUpAt("", uniqueEmail("not-impersonated"));
    const headers = { "x-admin-secret": ADMIN_SECRET };
    const allowed = await api(`/admin/realms/${support}/users/${inRealm.user.id}/impersonate`, { method: "POST", headers });
    expect(allowed.status, allowed.text).toBe(201);
    expect(decodeJwt(allowed.json.accessToken).act).toEqual({ sub: "admin-secret" });
    const refused = await api(`/admin/realms/default/users/${inDefault.user.id}/impersonate`, { method: "POST", headers });
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe("impersonation-disabled");
  });
});
