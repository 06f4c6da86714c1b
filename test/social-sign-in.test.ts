/**
 * Social sign-in against real providers on loopback (test/global-setup/oidc-provider.ts):
 * the `oidc-provider` package as a generic `oidc-*` provider and as the `google`
 * and `apple` presets (pointed at it by PROVIDER_<NAME>_ISSUER), and a
 * GitHub-shaped OAuth 2.0 server. Every flow runs through the Worker the way a
 * browser would: redirects followed by hand, cookies carried per host.
 */
import { env } from "cloudflare:workers";
import { createClient } from "@nhost/nhost-js";
import { MemoryStorage } from "@nhost/nhost-js/session";
import { decodeJwt, generateKeyPair, importJWK, SignJWT, type JWTPayload } from "jose";
import { describe, expect, inject, it } from "vitest";
import { drizzle } from "drizzle-orm/d1";
import { sha256Hex } from "../src/server/lib/crypto";
import { purgeExpiredRows } from "../src/server/db/purge";
import { base32Decode, hotp, timeStep } from "../src/server/lib/totp";
import { emailOf, GOOGLE_MOBILE_CLIENT_ID, OIDC_CLIENTS, SOCIAL_REALM } from "./global-setup/social-fixtures";
import { api, signUp, workerFetch } from "./helpers";
import { APP_URL, Browser, providerStart } from "./support/social-browser";

const ISSUER = `http://127.0.0.1:${inject("oidcPort")}`;

function uniqueLogin(prefix = "user"): string {
  return `${prefix}${crypto.randomUUID().slice(0, 8)}`;
}

interface TokenSession {
  accessToken: string;
  refreshToken: string;
  user: { id: string; email?: string; emailVerified: boolean; displayName: string; avatarUrl: string; locale: string; metadata: Record<string, unknown> };
}

/** A finished round trip's session: the refresh token from the app's URL, exchanged at `/token`. */
async function sessionFrom(landed: URL, base = ""): Promise<TokenSession> {
  expect(landed.searchParams.get("error"), landed.searchParams.get("errorDescription") ?? "").toBeNull();
  const refreshToken = landed.searchParams.get("refreshToken");
  expect(refreshToken).toMatch(/^[0-9a-f-]{36}$/);
  const refreshed = await api(`${base}/token`, { body: { refreshToken } });
  expect(refreshed.status, refreshed.text).toBe(200);
  return refreshed.json as TokenSession;
}

/** The app's URL after a refused round trip: the spec's error, and no credential of any kind. */
function expectRefused(landed: URL, code: string): void {
  expect(landed.searchParams.get("error"), landed.toString()).toBe(code);
  expect(landed.searchParams.get("errorDescription")).not.toBeNull();
  for (const credential of ["refreshToken", "code", "mfaTicket"]) expect(landed.searchParams.get(credential)).toBeNull();
}

async function signInWith(provider: string, login: string, query: Record<string, string> = {}): Promise<TokenSession> {
  return sessionFrom(await new Browser().navigate(providerStart(provider, login, query)));
}

/** An ID token as the test provider would sign it (its own key), with the claims a test chooses. */
async function idToken(claims: JWTPayload, { key, kid = "test-provider-key" }: { key?: CryptoKey; kid?: string } = {}): Promise<string> {
  const signingKey = key ?? ((await importJWK(inject("oidcSigningKey"), "RS256")) as CryptoKey);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email_verified: true, iat: now, exp: now + 600, ...claims }).setProtectedHeader({ alg: "RS256", kid }).sign(signingKey);
}

function googleToken(sub: string, claims: JWTPayload = {}): Promise<string> {
  return idToken({ iss: ISSUER, aud: OIDC_CLIENTS.google.id, sub, email: emailOf(sub), ...claims });
}

async function verifyEmailOf(userId: string): Promise<void> {
  await env.DB.prepare("UPDATE users SET email_verified = 1 WHERE id = ?").bind(userId).run();
}

describe("generic OpenID provider (oidc-*)", () => {
  it("signs up a new user with the provider's verified profile, then signs the same identity in again", async () => {
    const login = uniqueLogin("alice");
    const landed = await new Browser().navigate(providerStart("oidc-test", login));
    expect(landed.origin + landed.pathname).toBe(APP_URL);
    const first = await sessionFrom(landed);
    expect(first.user.email).toBe(emailOf(login));
    expect(first.user.emailVerified).toBe(true);
    expect(first.user.displayName).toBe(`Test ${login}`);
    expect(first.user.avatarUrl).toBe(`https://pictures.example.com/${login}.png`);

    const again = await signInWith("oidc-test", login);
    expect(again.user.id).toBe(first.user.id);
    // Both sign-ins are in the audit log (written after the answer, so polled).
    await expect
      .poll(async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE user_id = ? AND type = 'signin' AND outcome = 'success' AND detail LIKE '%\"provider\"%'").bind(first.user.id).first<{ n: number }>())!.n)
      .toBe(2);
  });

  it("starts with PKCE (S256), state, nonce and a __Host- cookie binding the browser", async () => {
    const response = await workerFetch(providerStart("oidc-test", "anyone", { state: "app-state-1" }), { redirect: "manual" });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get("location")!);
    expect(location.origin).toBe(ISSUER);
    expect(location.searchParams.get("client_id")).toBe(OIDC_CLIENTS.generic.id);
    expect(location.searchParams.get("redirect_uri")).toBe("http://localhost/signin/provider/oidc-test/callback");
    expect(location.searchParams.get("code_challenge_method")).toBe("S256");
    expect(location.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(location.searchParams.get("nonce")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Our state, not the app's: the app's comes back on its own redirect.
    expect(location.searchParams.get("state")).not.toBe("app-state-1");
    expect(location.searchParams.get("login_hint")).toBe("anyone");
    const cookie = response.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^__Host-edgeauth-oauth=[A-Za-z0-9_-]{43};/);
    for (const attribute of ["Path=/", "Secure", "HttpOnly", "SameSite=None", "Max-Age=600"]) expect(cookie).toContain(attribute);
    expect(cookie).not.toMatch(/Domain=/i);
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  it("forwards upstreamParams in the spec's deepObject form too", async () => {
    const start = new URL(providerStart("oidc-test", "deep"));
    start.searchParams.delete("upstreamParams");
    start.searchParams.set("upstreamParams[login_hint]", "deep-object");
    start.searchParams.set("upstreamParams[ui_locales]", "fr");
    const location = new URL((await workerFetch(start.toString(), { redirect: "manual" })).headers.get("location")!);
    expect(location.searchParams.get("login_hint")).toBe("deep-object");
    expect(location.searchParams.get("ui_locales")).toBe("fr");
  });

  it("hands the app's own state back with the session", async () => {
    const landed = await new Browser().navigate(providerStart("oidc-test", uniqueLogin(), { state: "app-state-2" }));
    expect(landed.searchParams.get("state")).toBe("app-state-2");
    await sessionFrom(landed);
  });

  it("applies the sign-up options of the query (displayName, locale, metadata) to a new account", async () => {
    const session = await signInWith("oidc-test", uniqueLogin(), { displayName: "Chosen Name", locale: "fr", metadata: JSON.stringify({ plan: "pro" }) });
    expect(session.user.displayName).toBe("Chosen Name");
    expect(session.user.locale).toBe("fr");
    expect(session.user.metadata).toEqual({ plan: "pro" });
  });

  it("refuses a callback without the browser cookie: invalid-state, no session", async () => {
    const callback = await new Browser().untilCallback(providerStart("oidc-test", uniqueLogin()));
    expectRefused(await new Browser().navigate(callback.url), "invalid-state");
  });

  it("refuses a replayed state: the second use of a callback finds nothing", async () => {
    const browser = new Browser();
    const callback = await browser.untilCallback(providerStart("oidc-test", uniqueLogin()));
    await sessionFrom(await browser.navigate(callback.url));
    const replayed = await browser.navigate(callback.url);
    expectRefused(replayed, "invalid-state");
    // The round trip is gone, so nothing says where the app is but CLIENT_URL.
    expect(replayed.origin).toBe("https://app.example.com");
  });

  it("refuses a foreign state (login CSRF): a callback planted in another browser does not sign it in", async () => {
    const attacker = new Browser();
    const planted = await attacker.untilCallback(providerStart("oidc-test", uniqueLogin("attacker")));
    const victim = new Browser();
    // The victim has its own round trip (and cookie) in flight.
    await victim.untilCallback(providerStart("oidc-test", uniqueLogin("victim")));
    expectRefused(await victim.navigate(planted.url), "invalid-state");
  });

  it("refuses an expired round trip", async () => {
    const browser = new Browser();
    const callback = await browser.untilCallback(providerStart("oidc-test", uniqueLogin()));
    const state = new URL(callback.url).searchParams.get("state")!;
    await env.DB.prepare("UPDATE oauth_states SET expires_at = ? WHERE state_hash = ?").bind(Date.now() - 1, await sha256Hex(state)).run();
    expectRefused(await browser.navigate(callback.url), "invalid-state");
  });

  it("sends a code the provider does not know back as oauth-token-echange-failed", async () => {
    const browser = new Browser();
    const callback = new URL((await browser.untilCallback(providerStart("oidc-test", uniqueLogin()))).url);
    callback.searchParams.set("code", "not-a-code-the-provider-issued");
    expectRefused(await browser.navigate(callback.toString()), "oauth-token-echange-failed");
  });

  it("refuses a disabled user with disabled-user", async () => {
    const login = uniqueLogin("disabled");
    const { user } = await signInWith("oidc-test", login);
    await env.DB.prepare("UPDATE users SET disabled = 1 WHERE id = ?").bind(user.id).run();
    expectRefused(await new Browser().navigate(providerStart("oidc-test", login)), "disabled-user");
  });

  it("sends a provider error back to the app as oauth-provider-error", async () => {
    // prompt=none with no session at the provider: it answers login_required.
    const landed = await new Browser().navigate(providerStart("oidc-test", uniqueLogin(), { upstreamParams: JSON.stringify({ prompt: "none" }) }));
    expectRefused(landed, "oauth-provider-error");
  });

  it("refuses reserved upstreamParams, unknown providers and disallowed redirects", async () => {
    const reserved = await new Browser().navigate(providerStart("oidc-test", "x", { upstreamParams: JSON.stringify({ redirect_uri: "https://evil.example.com" }) }));
    expectRefused(reserved, "invalid-request");
    const deepObject = new URL(providerStart("oidc-test", "x"));
    deepObject.searchParams.set("upstreamParams[client_id]", "other");
    expectRefused(await new Browser().navigate(deepObject.toString()), "invalid-request");
    expectRefused(await new Browser().navigate(providerStart("facebook", "x")), "disabled-endpoint");
    expectRefused(await new Browser().navigate(providerStart("oidc-test", "x", { allowedRoles: "admin" })), "role-not-allowed");
    const evil = await api("/signin/provider/oidc-test?redirectTo=https://evil.example.com/");
    expect(evil.status).toBe(400);
    expect(evil.json.error).toBe("redirectTo-not-allowed");
  });

  it("answers /signup/provider for an identity that already has an account with user-already-exists", async () => {
    const login = uniqueLogin();
    await signInWith("oidc-test", login);
    expectRefused(await new Browser().navigate(providerStart("oidc-test", login, {}, "http://localhost", "signup")), "user-already-exists");
    // A new identity signs up there.
    await sessionFrom(await new Browser().navigate(providerStart("oidc-test", uniqueLogin(), {}, "http://localhost", "signup")));
  });

  it("gives a TOTP user only an MFA ticket, which /signin/mfa/totp turns into a session", async () => {
    const login = uniqueLogin("totp");
    const first = await signInWith("oidc-test", login);
    const generated = await api("/mfa/totp/generate", { token: first.accessToken });
    const secret = base32Decode(generated.json.totpSecret)!;
    const previousStep = await hotp(secret, timeStep(Date.now()) - 1);
    expect((await api("/user/mfa", { token: first.accessToken, body: { code: previousStep, activeMfaType: "totp" } })).status).toBe(200);

    const landed = await new Browser().navigate(providerStart("oidc-test", login));
    expect(landed.searchParams.get("refreshToken")).toBeNull();
    const ticket = landed.searchParams.get("mfaTicket");
    expect(ticket).toMatch(/^mfaTotp:/);
    const finished = await api("/signin/mfa/totp", { body: { ticket, otp: await hotp(secret, timeStep(Date.now())) } });
    expect(finished.status, finished.text).toBe(200);
    expect(finished.json.session.user.id).toBe(first.user.id);
  });

  it("with codeChallenge answers with a single-use code bound to the challenge, not a refresh token", async () => {
    const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const landed = await new Browser().navigate(providerStart("oidc-test", uniqueLogin(), { codeChallenge: challenge }));
    expect(landed.searchParams.get("refreshToken")).toBeNull();
    const code = landed.searchParams.get("code")!;
    expect(code.length).toBeGreaterThanOrEqual(32);
    // Stored hashed, as a live authorization code for POST /token/exchange.
    const row = await env.DB.prepare("SELECT purpose, used_at FROM tickets WHERE ticket_hash = ?").bind(await sha256Hex(code)).first();
    expect(row).toEqual({ purpose: "authorizationCode", used_at: null });
    expectRefused(await new Browser().navigate(providerStart("oidc-test", "x", { codeChallenge: "too-short" })), "invalid-request");
  });
});

describe("linking without takeover", () => {
  it("does not link a new identity to an account whose email is unverified: user-already-exists", async () => {
    const login = uniqueLogin("bob");
    const owner = await signUp(emailOf(login));
    expectRefused(await new Browser().navigate(providerStart("oidc-test", login)), "user-already-exists");
    // Once the owner proved the address, the provider's verified identity joins the account.
    await verifyEmailOf(owner.session.user.id);
    const linked = await signInWith("oidc-test", login);
    expect(linked.user.id).toBe(owner.session.user.id);
  });

  it("does not link when the provider does not assert the email verified", async () => {
    const login = uniqueLogin("unverified-carl");
    const owner = await signUp(emailOf(login));
    await verifyEmailOf(owner.session.user.id);
    expectRefused(await new Browser().navigate(providerStart("oidc-test", login)), "user-already-exists");
    expectRefused(await new Browser().navigate(providerStart("github", login)), "user-already-exists");
  });

  it("links an identity to the signed-in user with connect, and refuses one linked to someone else", async () => {
    const { session } = await signUp();
    const login = uniqueLogin("connect");
    const landed = await new Browser().navigate(providerStart("oidc-test", login, { connect: session.accessToken, state: "s" }));
    expect(landed.searchParams.get("error")).toBeNull();
    expect(landed.searchParams.get("refreshToken")).toBeNull();
    expect(landed.searchParams.get("state")).toBe("s");
    expect((await signInWith("oidc-test", login)).user.id).toBe(session.user.id);

    const other = await signUp();
    expectRefused(await new Browser().navigate(providerStart("oidc-test", login, { connect: other.session.accessToken })), "provider-account-already-linked");
    expectRefused(await new Browser().navigate(providerStart("oidc-test", login, { connect: "not-a-token" })), "unauthenticated-user");
  });
});

describe("presets pointed at the test providers", () => {
  it("google: the code flow signs up and in with the ID token's identity", async () => {
    const login = uniqueLogin("g");
    const first = await signInWith("google", login);
    expect(first.user.email).toBe(emailOf(login));
    expect((await signInWith("google", login)).user.id).toBe(first.user.id);
    // Another provider's identity with the same subject is another identity (linked by verified email here).
    expect((await signInWith("oidc-test", login)).user.id).toBe(first.user.id);
  });

  it("apple: the callback arrives as a form_post and signs in", async () => {
    const browser = new Browser();
    const landed = await browser.navigate(providerStart("apple", uniqueLogin("a")));
    expect(browser.hops.some((hop) => hop.method === "POST" && hop.url === "http://localhost/signin/provider/apple/callback")).toBe(true);
    expect((await sessionFrom(landed)).user.emailVerified).toBe(true);
  });

  it("apple: takes the name from the form's user field, which Apple sends on the first sign-in only", async () => {
    const browser = new Browser();
    const callback = await browser.untilCallback(providerStart("apple", uniqueLogin("named")));
    expect(callback.init.method).toBe("POST");
    const form = new URLSearchParams(callback.init.body);
    form.set("user", JSON.stringify({ name: { firstName: "Ann", lastName: "Apple" }, email: "ignored@example.com" }));
    const session = await sessionFrom(await browser.navigate(callback.url, { ...callback.init, body: form.toString() }));
    expect(session.user.displayName).toBe("Ann Apple");
  });

  it("github: the profile and the primary verified address come from the API, PKCE is checked by the server", async () => {
    const login = uniqueLogin("octo");
    const session = await signInWith("github", login);
    expect(session.user.email).toBe(emailOf(login));
    expect(session.user.emailVerified).toBe(true);
    expect(session.user.displayName).toBe(login);
    expect(session.user.avatarUrl).toMatch(/^https:\/\/avatars\.example\.com\/u\/\d+$/);
    expect((await signInWith("github", login)).user.id).toBe(session.user.id);

    const unverified = await signInWith("github", uniqueLogin("unverified-octo"));
    expect(unverified.user.emailVerified).toBe(false);
  });
});

describe("ID tokens (POST /signin/idtoken, /signup/idtoken, /link/idtoken)", () => {
  it("signs in with a Google ID token checked against the provider's JWKS", async () => {
    const sub = uniqueLogin("gid");
    const response = await api("/signin/idtoken", { body: { provider: "google", idToken: await googleToken(sub, { nonce: "n-1" }), nonce: "n-1" } });
    expect(response.status, response.text).toBe(200);
    expect(response.json.session.user.email).toBe(emailOf(sub));
    expect(decodeJwt(response.json.session.accessToken).sub).toBe(response.json.session.user.id);
    const again = await api("/signin/idtoken", { body: { provider: "google", idToken: await googleToken(sub) } });
    expect(again.json.session.user.id).toBe(response.json.session.user.id);
    // A mobile app's own client id (PROVIDER_GOOGLE_AUDIENCES) is an audience too.
    const mobile = await api("/signin/idtoken", { body: { provider: "google", idToken: await googleToken(sub, { aud: GOOGLE_MOBILE_CLIENT_ID }) } });
    expect(mobile.json.session.user.id).toBe(response.json.session.user.id);
  });

  it("refuses ID tokens with the wrong audience, issuer, nonce, expiry or key", async () => {
    const sub = uniqueLogin("bad");
    const now = Math.floor(Date.now() / 1000);
    const { privateKey: foreignKey } = await generateKeyPair("RS256");
    const bad = {
      audience: await googleToken(sub, { aud: "someone-elses-client" }),
      issuer: await googleToken(sub, { iss: "https://accounts.example.com" }),
      nonce: await googleToken(sub, { nonce: "other-nonce" }),
      expiry: await googleToken(sub, { exp: now - 3600, iat: now - 7200 }),
      key: await idToken({ iss: ISSUER, aud: OIDC_CLIENTS.google.id, sub }, { key: foreignKey }),
      unknownKid: await idToken({ iss: ISSUER, aud: OIDC_CLIENTS.google.id, sub }, { key: foreignKey, kid: "not-a-provider-key" }),
      otherProvidersAudience: await googleToken(sub, { aud: OIDC_CLIENTS.apple.id }),
    };
    for (const [what, token] of Object.entries(bad)) {
      const response = await api("/signin/idtoken", { body: { provider: "google", idToken: token, nonce: what === "nonce" ? "expected-nonce" : undefined } });
      expect(response.status, what).toBe(400);
      expect(response.json.error, what).toBe("invalid-request");
    }
    // A token with a nonce when the app says which one it expects.
    expect((await api("/signin/idtoken", { body: { provider: "google", idToken: await googleToken(sub), nonce: "expected" } })).status).toBe(400);
    expect((await api("/signin/idtoken", { body: { provider: "github", idToken: await googleToken(sub) } })).json.error).toBe("invalid-request");
  });

  it("accepts Apple's SHA-256-hashed nonce for the raw nonce the app holds", async () => {
    const raw = "raw-nonce-from-the-app";
    const hashed = [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(raw)))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const sub = uniqueLogin("aid");
    const token = await idToken({ iss: ISSUER, aud: OIDC_CLIENTS.apple.id, sub, email: emailOf(sub), email_verified: "true", nonce: hashed });
    const response = await api("/signin/idtoken", { body: { provider: "apple", idToken: token, nonce: raw } });
    expect(response.status, response.text).toBe(200);
    expect(response.json.session.user.emailVerified).toBe(true);
    expect((await api("/signin/idtoken", { body: { provider: "apple", idToken: token, nonce: "another" } })).status).toBe(400);
  });

  it("under DISABLE_AUTO_SIGNUP an ID-token sign-in makes no account; /signup/idtoken does, and then sign-in works", async () => {
    const realm = `social-no-auto-${crypto.randomUUID().slice(0, 8)}`;
    await env.DB.prepare("INSERT INTO realms (id, created_at, settings) VALUES (?, ?, ?)")
      .bind(realm, Date.now(), JSON.stringify({ DISABLE_AUTO_SIGNUP: "true" }))
      .run();
    const sub = uniqueLogin("no-auto");
    const refused = await api(`/realms/${realm}/signin/idtoken`, { body: { provider: "google", idToken: await googleToken(sub) } });
    expect(refused.status, refused.text).toBe(401);
    expect(refused.json.error).toBe("invalid-email-password");
    const count = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE realm = ?").bind(realm).first<{ n: number }>();
    expect(count!.n).toBe(0);

    const signedUp = await api(`/realms/${realm}/signup/idtoken`, { body: { provider: "google", idToken: await googleToken(sub) } });
    expect(signedUp.status, signedUp.text).toBe(200);
    const signedIn = await api(`/realms/${realm}/signin/idtoken`, { body: { provider: "google", idToken: await googleToken(sub) } });
    expect(signedIn.status, signedIn.text).toBe(200);
    expect(signedIn.json.session.user.id).toBe(signedUp.json.session.user.id);
  });

  it("signs up once with /signup/idtoken; a second sign-up is user-already-exists", async () => {
    const sub = uniqueLogin("sup");
    const first = await api("/signup/idtoken", { body: { provider: "google", idToken: await googleToken(sub), options: { displayName: "Signed Up" } } });
    expect(first.status, first.text).toBe(200);
    expect(first.json.session.user.displayName).toBe("Signed Up");
    const second = await api("/signup/idtoken", { body: { provider: "google", idToken: await googleToken(sub) } });
    expect(second.status).toBe(409);
    expect(second.json.error).toBe("user-already-exists");
  });

  it("links an ID token's identity to the signed-in user, never to a second one", async () => {
    const { session } = await signUp();
    const sub = uniqueLogin("lnk");
    const linked = await api("/link/idtoken", { token: session.accessToken, body: { provider: "google", idToken: await googleToken(sub) } });
    expect(linked.status, linked.text).toBe(200);
    expect(linked.json).toBe("OK");
    const signedIn = await api("/signin/idtoken", { body: { provider: "google", idToken: await googleToken(sub) } });
    expect(signedIn.json.session.user.id).toBe(session.user.id);
    await expect
      .poll(async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE user_id = ? AND type = 'factor-change' AND detail LIKE '%linked%'").bind(session.user.id).first<{ n: number }>())!.n)
      .toBe(1);

    const other = await signUp();
    const refused = await api("/link/idtoken", { token: other.session.accessToken, body: { provider: "google", idToken: await googleToken(sub) } });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toBe("provider-account-already-linked");
    expect((await api("/link/idtoken", { body: { provider: "google", idToken: await googleToken(sub) } })).status).toBe(401);
  });
});

describe("provider tokens", () => {
  it("hands the provider's tokens out once after the callback, and refreshes them", async () => {
    const session = await signInWith("oidc-test", uniqueLogin("tok"));
    const first = await api("/signin/provider/oidc-test/callback/tokens", { token: session.accessToken });
    expect(first.status, first.text).toBe(200);
    expect(first.json).toMatchObject({ accessToken: expect.any(String), expiresIn: expect.any(Number), refreshToken: expect.any(String) });
    expect(Date.parse(first.json.expiresAt)).toBeGreaterThan(Date.now());
    // Stored encrypted, not in clear.
    const stored = await env.DB.prepare("SELECT tokens_encrypted FROM provider_sessions WHERE user_id = ?").bind(session.user.id).first();
    expect(stored).toBeNull();
    const second = await api("/signin/provider/oidc-test/callback/tokens", { token: session.accessToken });
    expect(second.status).toBe(400);

    const refreshed = await api("/token/provider/oidc-test", { token: session.accessToken, body: { refreshToken: first.json.refreshToken } });
    expect(refreshed.status, refreshed.text).toBe(200);
    expect(refreshed.json.accessToken).not.toBe(first.json.accessToken);
    expect(refreshed.json.refreshToken).toEqual(expect.any(String));
    const bogus = await api("/token/provider/oidc-test", { token: session.accessToken, body: { refreshToken: "not-a-refresh-token" } });
    expect(bogus.status).toBe(400);
    expect(bogus.json.error).toBe("oauth-provider-error");
    expect((await api("/token/provider/oidc-test", { body: { refreshToken: first.json.refreshToken } })).status).toBe(401);
  });

  it("keeps the tokens encrypted at rest until they are fetched", async () => {
    const session = await signInWith("oidc-test", uniqueLogin("enc"));
    const stored = await env.DB.prepare("SELECT tokens_encrypted FROM provider_sessions WHERE user_id = ?").bind(session.user.id).first<{ tokens_encrypted: string }>();
    expect(stored!.tokens_encrypted).toMatch(/^v1\./);
    const fetched = await api("/signin/provider/oidc-test/callback/tokens", { token: session.accessToken });
    expect(stored!.tokens_encrypted).not.toContain(fetched.json.accessToken);
  });
});

describe("housekeeping", () => {
  it("the daily purge removes dead round trips and keeps live ones", async () => {
    const browser = new Browser();
    const live = new URL((await browser.untilCallback(providerStart("oidc-test", uniqueLogin()))).url).searchParams.get("state")!;
    const dead = new URL((await browser.untilCallback(providerStart("oidc-test", uniqueLogin()))).url).searchParams.get("state")!;
    await env.DB.prepare("UPDATE oauth_states SET expires_at = ? WHERE state_hash = ?").bind(Date.now() - 1, await sha256Hex(dead)).run();
    await purgeExpiredRows(drizzle(env.DB), Date.now());
    const left = async (state: string) => (await env.DB.prepare("SELECT COUNT(*) AS n FROM oauth_states WHERE state_hash = ?").bind(await sha256Hex(state)).first<{ n: number }>())!.n;
    expect(await left(dead)).toBe(0);
    expect(await left(live)).toBe(1);
  });
});

describe("realms", () => {
  it("a realm signs in with its own app at the provider, into its own users", async () => {
    await env.DB.prepare("INSERT OR IGNORE INTO realms (id, created_at, settings) VALUES (?, ?, ?)")
      .bind(
        SOCIAL_REALM,
        Date.now(),
        JSON.stringify({ PROVIDER_OIDC_TEST_CLIENT_ID: OIDC_CLIENTS.realm.id, PROVIDER_OIDC_TEST_CLIENT_SECRET: OIDC_CLIENTS.realm.secret, PROVIDER_GITHUB_ENABLED: "false", CONCEAL_ERRORS: "true" }),
      )
      .run();
    const login = uniqueLogin("realm");
    const start = providerStart("oidc-test", login, {}, `http://localhost/realms/${SOCIAL_REALM}`);
    const first = await workerFetch(start, { redirect: "manual" });
    const location = new URL(first.headers.get("location")!);
    expect(location.searchParams.get("client_id")).toBe(OIDC_CLIENTS.realm.id);
    expect(location.searchParams.get("redirect_uri")).toBe(`http://localhost/realms/${SOCIAL_REALM}/signin/provider/oidc-test/callback`);

    const inRealm = await sessionFrom(await new Browser().navigate(start), `/realms/${SOCIAL_REALM}`);
    expect(decodeJwt(inRealm.accessToken).iss).toBe(`http://localhost/realms/${SOCIAL_REALM}`);
    const inDefault = await signInWith("oidc-test", login);
    expect(inDefault.user.id).not.toBe(inRealm.user.id);
    // The realm conceals what tells about an account, in the redirect as in JSON.
    expectRefused(await new Browser().navigate(providerStart("oidc-test", login, {}, `http://localhost/realms/${SOCIAL_REALM}`, "signup")), "invalid-request");
    // The realm turned GitHub off; the deployment has it on.
    expectRefused(await new Browser().navigate(providerStart("github", login, {}, `http://localhost/realms/${SOCIAL_REALM}`)), "disabled-endpoint");
    // A realm's state is not the default realm's: the callback of one does not finish in the other.
    const callback = await new Browser().untilCallback(start);
    expectRefused(await new Browser().navigate(callback.url.replace(`/realms/${SOCIAL_REALM}`, "")), "invalid-state");
  });
});

describe("@nhost/nhost-js 4.7", () => {
  function client() {
    const nhost = createClient({ authUrl: "http://localhost", storage: new MemoryStorage() });
    nhost.auth.pushChainFunction(() => (url, init = {}) => workerFetch(url, init));
    return nhost;
  }

  it("signInProviderURL and signUpProviderURL start round trips the app finishes", async () => {
    const nhost = client();
    const login = uniqueLogin("nj");
    const signUpUrl = new URL(nhost.auth.signUpProviderURL("google", { redirectTo: APP_URL, displayName: "From Nhost", allowedRoles: ["user"], metadata: { via: "nhost" } }));
    signUpUrl.searchParams.set("upstreamParams", JSON.stringify({ login_hint: login }));
    const signedUp = await sessionFrom(await new Browser().navigate(signUpUrl.toString()));
    expect(signedUp.user.displayName).toBe("From Nhost");
    expect(signedUp.user.metadata).toEqual({ via: "nhost" });

    const signInUrl = new URL(nhost.auth.signInProviderURL("google", { redirectTo: APP_URL, state: "nhost-state" }));
    signInUrl.searchParams.set("upstreamParams", JSON.stringify({ login_hint: login }));
    const landed = await new Browser().navigate(signInUrl.toString());
    expect(landed.searchParams.get("state")).toBe("nhost-state");
    expect((await sessionFrom(landed)).user.id).toBe(signedUp.user.id);
  });

  it("signInIdToken, signUpIdToken, linkIdToken, getProviderTokens and refreshProviderToken", async () => {
    const nhost = client();
    const sub = uniqueLogin("njid");
    const signedUp = await nhost.auth.signUpIdToken({ provider: "google", idToken: await googleToken(sub) });
    const userId = signedUp.body.session!.user!.id;
    const signedIn = await nhost.auth.signInIdToken({ provider: "google", idToken: await googleToken(sub, { nonce: "nj" }), nonce: "nj" });
    expect(signedIn.body.session!.user!.id).toBe(userId);

    // The client now holds the session: it links an Apple identity to it.
    const appleSub = uniqueLogin("njapple");
    const appleToken = await idToken({ iss: ISSUER, aud: OIDC_CLIENTS.apple.id, sub: appleSub });
    expect((await nhost.auth.linkIdToken({ provider: "apple", idToken: appleToken })).body).toBe("OK");
    const viaApple = await api("/signin/idtoken", { body: { provider: "apple", idToken: appleToken } });
    expect(viaApple.json.session.user.id).toBe(userId);

    // Provider tokens of a redirect sign-in, fetched and refreshed through the client.
    const browserSession = await signInWith("oidc-test", uniqueLogin("njtok"));
    const withSession = createClient({ authUrl: "http://localhost", storage: new MemoryStorage() });
    withSession.auth.pushChainFunction(() => (url, init = {}) => {
      const headers = new Headers(init.headers);
      headers.set("authorization", `Bearer ${browserSession.accessToken}`);
      return workerFetch(url, { ...init, headers });
    });
    const tokens = await withSession.auth.getProviderTokens("oidc-test" as never);
    expect(tokens.body.accessToken).toEqual(expect.any(String));
    const refreshed = await withSession.auth.refreshProviderToken("oidc-test" as never, { refreshToken: tokens.body.refreshToken! });
    expect(refreshed.body.accessToken).not.toBe(tokens.body.accessToken);
  });
});
