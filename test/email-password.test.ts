/**
 * `POST /signup/email-password` and `POST /signin/email-password`: the Nhost
 * Session and User shapes, every documented error code, and the access token's
 * claims (design §3, §9).
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { api, GOOD_PASSWORD, signIn, signUp, uniqueEmail, appFetch } from "./helpers";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SESSION_KEYS = ["accessToken", "accessTokenExpiresIn", "refreshToken", "refreshTokenId", "user"];
const USER_REQUIRED_KEYS = [
  "avatarUrl",
  "createdAt",
  "defaultRole",
  "displayName",
  "emailVerified",
  "id",
  "isAnonymous",
  "locale",
  "metadata",
  "phoneNumberVerified",
  "roles",
];
/** Every property the spec's User schema declares (`additionalProperties: false`). */
const USER_KEYS = [...USER_REQUIRED_KEYS, "email", "phoneNumber", "activeMfaType"];

function expectSpecSession(session: any) {
  expect(Object.keys(session).sort()).toEqual([...SESSION_KEYS].sort());
  expect(typeof session.accessToken).toBe("string");
  expect(session.accessToken.split(".")).toHaveLength(3);
  expect(session.accessTokenExpiresIn).toBe(900);
  expect(Number.isInteger(session.accessTokenExpiresIn)).toBe(true);
  expect(session.refreshToken).toMatch(UUID);
  expect(session.refreshTokenId).toMatch(UUID);
  expect(session.refreshTokenId).not.toBe(session.refreshToken);
  expectSpecUser(session.user);
}

function expectSpecUser(user: any) {
  for (const key of USER_REQUIRED_KEYS) expect(user, key).toHaveProperty(key);
  for (const key of Object.keys(user)) expect(USER_KEYS, `unexpected User key ${key}`).toContain(key);
  expect(user.id).toMatch(UUID);
  expect(typeof user.avatarUrl).toBe("string");
  expect(new Date(user.createdAt).toISOString()).toBe(user.createdAt);
  expect(typeof user.defaultRole).toBe("string");
  expect(typeof user.displayName).toBe("string");
  expect(typeof user.emailVerified).toBe("boolean");
  expect(typeof user.isAnonymous).toBe("boolean");
  expect(typeof user.phoneNumberVerified).toBe("boolean");
  expect(user.locale.length).toBeGreaterThanOrEqual(2);
  expect(user.locale.length).toBeLessThanOrEqual(3);
  expect(Array.isArray(user.roles)).toBe(true);
  for (const role of user.roles) expect(typeof role).toBe("string");
  expect(typeof user.metadata).toBe("object");
  expect(Array.isArray(user.metadata)).toBe(false);
  expect(user.metadata).not.toBeNull();
  if ("activeMfaType" in user) expect(user.activeMfaType === null || typeof user.activeMfaType === "string").toBe(true);
}

function expectError(response: { status: number; json: any }, status: number, error: string) {
  expect(response.status, JSON.stringify(response.json)).toBe(status);
  expect(Object.keys(response.json).sort()).toEqual(["error", "message", "status"]);
  expect(response.json.status).toBe(status);
  expect(response.json.error).toBe(error);
  expect(typeof response.json.message).toBe("string");
  expect(response.json.message.length).toBeGreaterThan(0);
}

function signUpRequest(body: unknown) {
  return api("/signup/email-password", { body });
}

function base64UrlBytes(segment: string): Uint8Array {
  const base64 = segment.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (segment.length % 4)) % 4);
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}

/** Drives the same app under other settings: `configFor` is memoised per bindings object. */
function withSettings(settings: Record<string, string>) {
  const bindings = { ...env, ...settings } as Env;
  return async (path: string, body: unknown) => {
    const response = await appFetch(
      new Request(`http://localhost${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
      bindings,
      createExecutionContext(),
    );
    return { status: response.status, json: (await response.json()) as any };
  };
}

async function countUsersWithEmail(email: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE lower(email) = lower(?)").bind(email).first<{ n: number }>();
  return row!.n;
}

describe("sign-up: the spec's Session and User", () => {
  it("returns a Session with a User that carries the configured defaults", async () => {
    const email = uniqueEmail("shape");
    const response = await signUpRequest({ email, password: GOOD_PASSWORD });
    expect(response.status, response.text).toBe(200);
    expect(Object.keys(response.json)).toEqual(["session"]);
    const session = response.json.session;
    expectSpecSession(session);
    const user = session.user;
    expect(user.email).toBe(email);
    expect(user.displayName).toBe(email);
    expect(user.defaultRole).toBe("user");
    expect([...user.roles].sort()).toEqual(["editor", "me", "user"]);
    expect(user.locale).toBe("en");
    expect(user.metadata).toEqual({});
    expect(user.emailVerified).toBe(false);
    expect(user.isAnonymous).toBe(false);
    expect(user.phoneNumberVerified).toBe(false);
    // Gravatar, as Nhost fills it: the SHA-256 of the trimmed, lower-cased address.
    const hash = [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(email.trim().toLowerCase())))]
      .map((byte) => byte.toString(16).padStart(2, "0"))
      .join("");
    expect(user.avatarUrl).toBe(`https://www.gravatar.com/avatar/${hash}?d=blank&r=g`);
    expect(Math.abs(Date.parse(user.createdAt) - Date.now())).toBeLessThan(60_000);
  });

  it("keeps the email as entered (as Nhost does) and finds it whatever the case", async () => {
    const email = uniqueEmail("Emory_Mann");
    const { session } = await signUp(email);
    expect(session.user.email).toBe(email);
    expect(await countUsersWithEmail(email.toUpperCase())).toBe(1);
    const signedIn = await signIn(email.toLowerCase());
    expect(signedIn.status).toBe(200);
    expect(signedIn.json.session.user.email).toBe(email);
  });

  it("honours allowedRoles, defaultRole, locale, displayName and metadata", async () => {
    const metadata = { firstName: "Ada", nested: { list: [1, "two", null, true] }, unicode: "😀 ü" };
    const { session, email } = await signUp(uniqueEmail("opts"), GOOD_PASSWORD, {
      allowedRoles: ["user", "editor"],
      defaultRole: "editor",
      locale: "fr",
      displayName: "Ada Lovelace",
      metadata,
      redirectTo: "https://app.example.com/auth/callback",
    });
    expect(session.user.roles).toEqual(["editor", "user"]);
    expect(session.user.defaultRole).toBe("editor");
    expect(session.user.locale).toBe("fr");
    expect(session.user.displayName).toBe("Ada Lovelace");
    expect(session.user.metadata).toEqual(metadata);

    // The round trip through storage: sign-in and GET /user read the same values back.
    const signedIn = await signIn(email);
    expect(signedIn.status).toBe(200);
    expectSpecSession(signedIn.json.session);
    expect(signedIn.json.session.user).toEqual(session.user);
    const me = await api("/user", { token: signedIn.json.session.accessToken });
    expect(me.status).toBe(200);
    expect(me.json).toEqual(session.user);
  });

  it("accepts a displayName with letters, digits, symbols and the allowed punctuation", async () => {
    const { session } = await signUp(uniqueEmail("dn"), GOOD_PASSWORD, { displayName: "Zoë O'Neil-Smith, Jr. 3 ★" });
    expect(session.user.displayName).toBe("Zoë O'Neil-Smith, Jr. 3 ★");
  });
});

describe("sign-up errors", () => {
  it("user-already-exists (409), also when only the case differs", async () => {
    const { email } = await signUp(uniqueEmail("dup"));
    expectError(await signUpRequest({ email, password: GOOD_PASSWORD }), 409, "user-already-exists");
    expectError(await signUpRequest({ email: email.toUpperCase(), password: "another password 123" }), 409, "user-already-exists");
    expect(await countUsersWithEmail(email)).toBe(1);
  });

  it("a concurrent duplicate sign-up creates one user and answers the other with 409, not 500", async () => {
    const email = uniqueEmail("race");
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => signUpRequest({ email, password: GOOD_PASSWORD })),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    for (const response of responses) if (response.status !== 200) expectError(response, 409, "user-already-exists");
    expect(await countUsersWithEmail(email)).toBe(1);
  });

  it("password-too-short below PASSWORD_MIN_LENGTH (9), counted in characters", async () => {
    const email = uniqueEmail("short");
    expectError(await signUpRequest({ email, password: "12345678" }), 400, "password-too-short");
    // Eight astral characters are sixteen UTF-16 units but still eight characters.
    expectError(await signUpRequest({ email, password: "😀".repeat(8) }), 400, "password-too-short");
    expect(await countUsersWithEmail(email)).toBe(0);
    // Nine characters pass; "123456789" itself is on the common-password list.
    expect((await signUpRequest({ email, password: "zq8-w4-rx" })).status).toBe(200);
  });

  it("role-not-allowed for a role outside ALLOWED_ROLES, in allowedRoles or defaultRole", async () => {
    const email = uniqueEmail("role");
    expectError(await signUpRequest({ email, password: GOOD_PASSWORD, options: { allowedRoles: ["user", "admin"] } }), 400, "role-not-allowed");
    expectError(await signUpRequest({ email, password: GOOD_PASSWORD, options: { defaultRole: "admin" } }), 400, "role-not-allowed");
    expectError(
      await signUpRequest({ email, password: GOOD_PASSWORD, options: { allowedRoles: ["user"], defaultRole: "admin" } }),
      400,
      "role-not-allowed",
    );
    expect(await countUsersWithEmail(email)).toBe(0);
  });

  it("default-role-must-be-in-allowed-roles when defaultRole is allowed but not requested", async () => {
    const email = uniqueEmail("defrole");
    expectError(
      await signUpRequest({ email, password: GOOD_PASSWORD, options: { allowedRoles: ["user"], defaultRole: "editor" } }),
      400,
      "default-role-must-be-in-allowed-roles",
    );
    // With no allowedRoles the requested roles default to all of ALLOWED_ROLES, so "editor" is fine.
    const { session } = await signUp(email, GOOD_PASSWORD, { defaultRole: "editor" });
    expect(session.user.defaultRole).toBe("editor");
  });

  it("a locale outside ALLOWED_LOCALES falls back to DEFAULT_LOCALE, as Nhost does", async () => {
    const email = uniqueEmail("locale");
    const response = await signUpRequest({ email, password: GOOD_PASSWORD, options: { locale: "de" } });
    expect(response.status, response.text).toBe(200);
    expect(response.json.session.user.locale).toBe("en");
  });

  it("redirectTo inside the allow-list passes (CLIENT_URL and ALLOWED_REDIRECT_URLS, path on a segment boundary)", async () => {
    for (const redirectTo of [
      "https://app.example.com",
      "https://app.example.com/anything/at/all?x=1#y",
      "https://app.example.com/auth",
      "https://app.example.com/auth/callback",
      "http://localhost:3000/",
      "http://localhost:3000/page",
    ]) {
      const response = await signUpRequest({ email: uniqueEmail("redir-ok"), password: GOOD_PASSWORD, options: { redirectTo } });
      expect(response.status, `${redirectTo}: ${response.text}`).toBe(200);
    }
  });

  it("redirectTo-not-allowed, including the usual bypass attempts", async () => {
    const email = uniqueEmail("redir");
    const attempts = [
      "https://evil.com",
      "https://app.example.com.evil.com",
      "https://app.example.com.evil.com/auth",
      "//evil.com",
      "//app.example.com",
      "/auth",
      "javascript:alert(1)",
      "JavaScript:alert(1)//https://app.example.com",
      "data:text/html,<script>alert(1)</script>",
      "https://app.example.com@evil.com",
      "https://user:pass@app.example.com/",
      "https://evil.com/https://app.example.com",
      "https://evil.com?https://app.example.com",
      "https://evil.com#https://app.example.com",
      "http://app.example.com",
      "https://app.example.com:8443",
      "http://localhost:3001",
      "http://localhost",
      "https://localhost:3000",
      "ftp://app.example.com",
      "https://evil.com\\@app.example.com",
      "https://app.example.com%2eevil.com",
      "https://app.example.com./auth",
      " https://evil.com",
      "https://evil.com%2f@app.example.com",
      "",
      "not a url",
    ];
    for (const redirectTo of attempts) {
      const response = await signUpRequest({ email, password: GOOD_PASSWORD, options: { redirectTo } });
      expectError(response, 400, "redirectTo-not-allowed");
    }
    expect(await countUsersWithEmail(email)).toBe(0);
  });

  it("an allowed path prefix matches on a segment boundary: /authx is not under /auth", async () => {
    // CLIENT_URL (https://app.example.com) is allowed as a whole, so the path check is
    // pinned through the pure function with the /auth entry alone.
    const { isRedirectAllowed } = await import("../src/server/lib/redirect");
    const allowed = ["https://app.example.com/auth"];
    expect(isRedirectAllowed("https://app.example.com/auth", allowed)).toBe(true);
    expect(isRedirectAllowed("https://app.example.com/auth/", allowed)).toBe(true);
    expect(isRedirectAllowed("https://app.example.com/auth/cb?x=1", allowed)).toBe(true);
    expect(isRedirectAllowed("https://app.example.com/authx", allowed)).toBe(false);
    expect(isRedirectAllowed("https://app.example.com/auth.evil", allowed)).toBe(false);
    expect(isRedirectAllowed("https://app.example.com/", allowed)).toBe(false);
    expect(isRedirectAllowed("https://app.example.com/other/auth", allowed)).toBe(false);

    // And through the route, with only the /auth entry allowed.
    const post = withSettings({ CLIENT_URL: "", ALLOWED_REDIRECT_URLS: "https://app.example.com/auth" });
    const email = uniqueEmail("authx");
    expectError(await post("/signup/email-password", { email, password: GOOD_PASSWORD, options: { redirectTo: "https://app.example.com/authx" } }), 400, "redirectTo-not-allowed");
    expectError(await post("/signup/email-password", { email, password: GOOD_PASSWORD, options: { redirectTo: "https://app.example.com/" } }), 400, "redirectTo-not-allowed");
    const ok = await post("/signup/email-password", { email, password: GOOD_PASSWORD, options: { redirectTo: "https://app.example.com/auth/cb" } });
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
  });

  it("refuses a displayName that carries markup or URL characters", async () => {
    const email = uniqueEmail("xss");
    for (const displayName of ["<script>alert(1)</script>", "<b>x</b>", "a&b", "http://x", "a/b", 'a"b', "", "x".repeat(33)]) {
      const response = await signUpRequest({ email, password: GOOD_PASSWORD, options: { displayName } });
      expectError(response, 400, "invalid-request");
    }
    expect(await countUsersWithEmail(email)).toBe(0);
  });

  it("refuses a malformed email", async () => {
    for (const email of ["not-an-email", "a@", "@example.com", "a b@example.com", `${"a".repeat(250)}@example.com`]) {
      expectError(await signUpRequest({ email, password: GOOD_PASSWORD }), 400, "invalid-request");
    }
  });

  it("signup-disabled (403) when SIGNUP_DISABLED is set, and nothing is written", async () => {
    const post = withSettings({ SIGNUP_DISABLED: "true" });
    const email = uniqueEmail("disabled-signup");
    expectError(await post("/signup/email-password", { email, password: GOOD_PASSWORD }), 403, "signup-disabled");
    expect(await countUsersWithEmail(email)).toBe(0);
    // Existing users still sign in.
    const existing = await signUp(uniqueEmail("existing"));
    const signedIn = await post("/signin/email-password", { email: existing.email, password: GOOD_PASSWORD });
    expect(signedIn.status).toBe(200);
  });

  it("with REQUIRE_VERIFIED_EMAIL, sign-up answers { session: null } and sign-in is unverified-user", async () => {
    const post = withSettings({ REQUIRE_VERIFIED_EMAIL: "true" });
    const email = uniqueEmail("unverified");
    const signedUp = await post("/signup/email-password", { email, password: GOOD_PASSWORD });
    expect(signedUp.status).toBe(200);
    expect(signedUp.json).toEqual({ session: null });
    expect(await countUsersWithEmail(email)).toBe(1);
    const tokens = await env.DB.prepare(
      "SELECT count(*) AS n FROM refresh_tokens r JOIN users u ON u.id = r.user_id WHERE u.email = ?",
    )
      .bind(email)
      .first<{ n: number }>();
    expect(tokens!.n).toBe(0);

    expectError(await post("/signin/email-password", { email, password: GOOD_PASSWORD }), 401, "unverified-user");
    // The wrong password still answers invalid-email-password, so the check order does not leak.
    expectError(await post("/signin/email-password", { email, password: "wrong password 1" }), 401, "invalid-email-password");

    await env.DB.prepare("UPDATE users SET email_verified = 1 WHERE email = ?").bind(email).run();
    const verified = await post("/signin/email-password", { email, password: GOOD_PASSWORD });
    expect(verified.status).toBe(200);
    expect(verified.json.session.user.emailVerified).toBe(true);
  });
});

describe("sign-in", () => {
  it("returns a Session for the right password, with the email matched case-insensitively", async () => {
    const { email, session: first } = await signUp(uniqueEmail("signin"));
    const response = await signIn(email.toUpperCase());
    expect(response.status, response.text).toBe(200);
    expect(Object.keys(response.json)).toEqual(["session"]);
    expectSpecSession(response.json.session);
    expect(response.json.session.user).toEqual(first.user);
    // A new session, not the sign-up's.
    expect(response.json.session.refreshToken).not.toBe(first.refreshToken);
    expect(response.json.session.refreshTokenId).not.toBe(first.refreshTokenId);
  });

  it("invalid-email-password: a wrong password and an unknown email answer the same", async () => {
    const { email } = await signUp(uniqueEmail("wrongpw"));
    const wrongPassword = await signIn(email, "not the password");
    const unknownEmail = await signIn(uniqueEmail("nobody"), "not the password");
    expectError(wrongPassword, 401, "invalid-email-password");
    expectError(unknownEmail, 401, "invalid-email-password");
    expect(unknownEmail.json).toEqual(wrongPassword.json);
    expect(unknownEmail.text).toBe(wrongPassword.text);
    // The password is compared exactly: no trimming, no case folding, no truncation.
    expectError(await signIn(email, GOOD_PASSWORD.toUpperCase()), 401, "invalid-email-password");
    expectError(await signIn(email, ` ${GOOD_PASSWORD}`), 401, "invalid-email-password");
    expectError(await signIn(email, `${GOOD_PASSWORD}x`), 401, "invalid-email-password");
    expectError(await signIn(email, GOOD_PASSWORD.slice(0, -1)), 401, "invalid-email-password");
  });

  it("disabled-user (401) for a disabled account with the right password only", async () => {
    const { email, session } = await signUp(uniqueEmail("disabled"));
    await env.DB.prepare("UPDATE users SET disabled = 1 WHERE id = ?").bind(session.user.id).run();
    expectError(await signIn(email), 401, "disabled-user");
    // A wrong password does not reveal that the account exists and is disabled.
    expectError(await signIn(email, "wrong password 1"), 401, "invalid-email-password");
    await env.DB.prepare("UPDATE users SET disabled = 0 WHERE id = ?").bind(session.user.id).run();
    expect((await signIn(email)).status).toBe(200);
  });
});

describe("the access token", () => {
  it("is an ES256 JWT with the design's claims and the Hasura namespace", async () => {
    const before = Math.floor(Date.now() / 1000);
    const { session } = await signUp(uniqueEmail("claims"), GOOD_PASSWORD, { allowedRoles: ["user", "me"], defaultRole: "me" });
    const after = Math.floor(Date.now() / 1000);
    const token = session.accessToken;

    const header = decodeProtectedHeader(token);
    expect(header.alg).toBe("ES256");
    expect(header.typ).toBe("JWT");
    expect(typeof header.kid).toBe("string");
    expect(header.kid!.length).toBeGreaterThan(0);
    expect(Object.keys(header).sort()).toEqual(["alg", "kid", "typ"]);
    // ES256 signatures are raw r||s (RFC 7518 §3.4), never DER.
    expect(base64UrlBytes(token.split(".")[2]!)).toHaveLength(64);

    const claims = decodeJwt(token) as any;
    expect(claims.sub).toBe(session.user.id);
    expect(claims.iss).toBe("http://localhost");
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.iat).toBeLessThanOrEqual(after);
    expect(claims.exp).toBe(claims.iat + 900);
    expect(claims.jti).toMatch(UUID);
    expect(claims.sid).toMatch(UUID);
    expect(claims).not.toHaveProperty("aud");
    expect(claims["https://hasura.io/jwt/claims"]).toEqual({
      "x-hasura-user-id": session.user.id,
      "x-hasura-default-role": "me",
      "x-hasura-allowed-roles": ["me", "user"],
      "x-hasura-user-is-anonymous": "false",
    });

    // The token's kid is published in the JWKS.
    const jwks = await api("/.well-known/jwks.json");
    expect(jwks.json.keys.map((key: any) => key.kid)).toContain(header.kid);
  });

  it("sid names the session family; jti is unique per token", async () => {
    const { email, session } = await signUp(uniqueEmail("sid"));
    const signedIn = await signIn(email);
    const first = decodeJwt(session.accessToken) as any;
    const second = decodeJwt(signedIn.json.session.accessToken) as any;
    expect(first.sid).not.toBe(second.sid);
    expect(first.jti).not.toBe(second.jti);
    const row = await env.DB.prepare("SELECT family_id FROM refresh_tokens WHERE id = ?")
      .bind(session.refreshTokenId)
      .first<{ family_id: string }>();
    expect(row!.family_id).toBe(first.sid);

    const refreshed = await api("/token", { body: { refreshToken: session.refreshToken } });
    expect(refreshed.status).toBe(200);
    const third = decodeJwt(refreshed.json.accessToken) as any;
    expect(third.sid).toBe(first.sid);
    expect(third.jti).not.toBe(first.jti);
  });
});
