/**
 * Wire compatibility with the published Nhost client: the real `@nhost/nhost-js`
 * (4.x) drives the Worker, its requests routed into `exports.default.fetch`. The
 * client's own middleware (session storage, bearer attachment, refresh) is left
 * in place, so these tests see exactly what an application using it would.
 */
import { createClient, type NhostClient } from "@nhost/nhost-js";
import { MemoryStorage } from "@nhost/nhost-js/session";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { GOOD_PASSWORD, uniqueEmail, workerFetch } from "./helpers";
import { expectAuthError } from "./support/nhost-errors";

const NEW_PASSWORD = "a different but equally long passphrase";

interface SentRequest {
  url: string;
  method: string;
  headers: Headers;
  body: unknown;
}

/** A client as an application would build it, plus the requests it sent. */
function newClient(): { nhost: NhostClient; sent: SentRequest[] } {
  const nhost = createClient({ authUrl: "http://localhost", storage: new MemoryStorage() });
  const sent: SentRequest[] = [];
  // Innermost in the chain (after the session middleware): it replaces the network.
  nhost.auth.pushChainFunction(() => async (url, init = {}) => {
    const body = typeof init.body === "string" ? JSON.parse(init.body) : init.body;
    sent.push({ url, method: init.method ?? "GET", headers: new Headers(init.headers), body });
    return workerFetch(url, init);
  });
  return { nhost, sent };
}

/** Signs a fresh user up through the client; its session is then stored in the client. */
async function signedUpClient(email = uniqueEmail("nhost"), password = GOOD_PASSWORD) {
  const client = newClient();
  const response = await client.nhost.auth.signUpEmailPassword({ email, password });
  const session = response.body.session;
  if (!session?.user) throw new Error(`sign-up gave no session: ${JSON.stringify(response.body)}`);
  return { ...client, email, password, session, user: session.user };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("sign up", () => {
  it("creates the user and the client stores the returned session", async () => {
    const { nhost } = newClient();
    const email = uniqueEmail("Nhost-SignUp");
    const response = await nhost.auth.signUpEmailPassword({
      email,
      password: GOOD_PASSWORD,
      options: {
        displayName: "Ada Lovelace",
        locale: "fr",
        allowedRoles: ["user", "editor"],
        defaultRole: "editor",
        metadata: { plan: "free", seats: 3 },
        redirectTo: "https://app.example.com/auth/callback",
      },
    });
    expect(response.status).toBe(200);
    const session = response.body.session!;
    expect(session.accessToken.split(".")).toHaveLength(3);
    expect(session.accessTokenExpiresIn).toBe(900);
    expect(session.refreshToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(session.refreshTokenId).toMatch(/^[0-9a-f-]{36}$/);
    expect(session.user).toMatchObject({
      email,
      displayName: "Ada Lovelace",
      locale: "fr",
      defaultRole: "editor",
      emailVerified: false,
      isAnonymous: false,
      phoneNumberVerified: false,
      avatarUrl: expect.any(String),
      metadata: { plan: "free", seats: 3 },
      activeMfaType: null,
    });
    expect(session.user!.roles.sort()).toEqual(["editor", "user"]);
    expect(Number.isNaN(Date.parse(session.user!.createdAt))).toBe(false);

    // The client's response middleware kept the session and decoded its token.
    const stored = nhost.getUserSession()!;
    expect(stored.accessToken).toBe(session.accessToken);
    expect(stored.refreshToken).toBe(session.refreshToken);
    expect(stored.decodedToken.sub).toBe(session.user!.id);
    expect(stored.decodedToken.exp! - stored.decodedToken.iat!).toBe(900_000);
    const claims = stored.decodedToken["https://hasura.io/jwt/claims"]!;
    expect(claims["x-hasura-user-id"]).toBe(session.user!.id);
    expect(claims["x-hasura-default-role"]).toBe("editor");
    expect([...(claims["x-hasura-allowed-roles"] as string[])].sort()).toEqual(["editor", "user"]);
    expect(claims["x-hasura-user-is-anonymous"]).toBe("false");
  });

  it("refuses a taken email with 409 user-already-exists", async () => {
    const { email } = await signedUpClient();
    const { nhost } = newClient();
    await expectAuthError(nhost.auth.signUpEmailPassword({ email, password: GOOD_PASSWORD }), 409, "user-already-exists");
    expect(nhost.getUserSession()).toBeNull();
  });

  it("reports bad input in the spec's error shape", async () => {
    const { nhost } = newClient();
    await expectAuthError(nhost.auth.signUpEmailPassword({ email: "not-an-email", password: GOOD_PASSWORD }), 400, "invalid-request");
    await expectAuthError(nhost.auth.signUpEmailPassword({ email: uniqueEmail(), password: "short" }), 400, "password-too-short");
    await expectAuthError(
      nhost.auth.signUpEmailPassword({ email: uniqueEmail(), password: GOOD_PASSWORD, options: { allowedRoles: ["admin"] } }),
      400,
      "role-not-allowed",
    );
    // An unsupported locale is not an error: it falls back to the default, as Nhost does.
    expect((await nhost.auth.signUpEmailPassword({ email: uniqueEmail(), password: GOOD_PASSWORD, options: { locale: "de" } })).body.session!.user!.locale).toBe("en");
    await expectAuthError(
      nhost.auth.signUpEmailPassword({
        email: uniqueEmail(),
        password: GOOD_PASSWORD,
        options: { redirectTo: "https://evil.example.net/" },
      }),
      400,
      "redirectTo-not-allowed",
    );
  });
});

describe("sign in", () => {
  it("returns a session for the right password and stores it", async () => {
    const { email, user } = await signedUpClient();
    const { nhost, sent } = newClient();
    const response = await nhost.auth.signInEmailPassword({ email: email.toUpperCase(), password: GOOD_PASSWORD });
    expect(response.status).toBe(200);
    expect(response.body.mfa).toBeUndefined();
    const session = response.body.session!;
    expect(session.user!.id).toBe(user.id);
    expect(nhost.getUserSession()!.refreshToken).toBe(session.refreshToken);
    // What the client put on the wire, for the record.
    expect(sent.at(-1)).toMatchObject({
      url: "http://localhost/signin/email-password",
      method: "POST",
      body: { email: email.toUpperCase(), password: GOOD_PASSWORD },
    });
    expect(sent.at(-1)!.headers.get("content-type")).toBe("application/json");
  });

  it("answers a wrong password and an unknown email alike: 401 invalid-email-password", async () => {
    const { email } = await signedUpClient();
    const { nhost } = newClient();
    const wrong = await expectAuthError(
      nhost.auth.signInEmailPassword({ email, password: "not the password at all" }),
      401,
      "invalid-email-password",
    );
    expect(wrong.body.message).toBe("Incorrect email or password");
    const unknown = await expectAuthError(
      nhost.auth.signInEmailPassword({ email: uniqueEmail("nobody"), password: GOOD_PASSWORD }),
      401,
      "invalid-email-password",
    );
    expect(unknown.body).toEqual(wrong.body);
    expect(nhost.getUserSession()).toBeNull();
  });
});

describe("user", () => {
  it("getUser sends the stored access token and returns the user", async () => {
    const { nhost, sent, user, session } = await signedUpClient();
    const response = await nhost.auth.getUser();
    expect(response.status).toBe(200);
    // Role order is not part of the contract.
    expect({ ...response.body, roles: [...response.body.roles].sort() }).toEqual({ ...user, roles: [...user.roles].sort() });
    expect(sent.at(-1)!.headers.get("authorization")).toBe(`Bearer ${session.accessToken}`);
  });

  it("getUser without a session is 401 unauthenticated-user", async () => {
    const { nhost, sent } = newClient();
    await expectAuthError(nhost.auth.getUser(), 401, "unauthenticated-user");
    expect(sent.at(-1)!.headers.has("authorization")).toBe(false);
  });

  it("getUser with a forged token is 401 unauthenticated-user", async () => {
    const { nhost, session } = await signedUpClient();
    const [header, payload] = session.accessToken.split(".");
    const forged = `${header}.${payload}.${"A".repeat(86)}`;
    await expectAuthError(nhost.auth.getUser({ headers: { Authorization: `Bearer ${forged}` } }), 401, "unauthenticated-user");
  });
});

describe("refresh", () => {
  it("rotates the refresh token; the new one works and the client stores it", async () => {
    const { nhost, session, user } = await signedUpClient();
    const response = await nhost.auth.refreshToken({ refreshToken: session.refreshToken });
    expect(response.status).toBe(200);
    const rotated = response.body;
    expect(rotated.refreshToken).not.toBe(session.refreshToken);
    expect(rotated.refreshTokenId).not.toBe(session.refreshTokenId);
    expect(rotated.accessToken).not.toBe(session.accessToken);
    expect(rotated.accessTokenExpiresIn).toBe(900);
    expect(rotated.user!.id).toBe(user.id);
    expect(nhost.getUserSession()!.refreshToken).toBe(rotated.refreshToken);

    expect((await nhost.auth.getUser()).body.id).toBe(user.id);
    const again = await nhost.auth.refreshToken({ refreshToken: rotated.refreshToken });
    expect(again.body.refreshToken).not.toBe(rotated.refreshToken);
  });

  it("the client's own refreshSession rotates through POST /token", async () => {
    const { nhost, session, sent } = await signedUpClient();
    // A margin of 0 forces a refresh however fresh the token is.
    const refreshed = await nhost.refreshSession(0);
    expect(refreshed).not.toBeNull();
    expect(refreshed!.refreshToken).not.toBe(session.refreshToken);
    expect(nhost.getUserSession()!.refreshToken).toBe(refreshed!.refreshToken);
    expect(sent.at(-1)).toMatchObject({ url: "http://localhost/token", body: { refreshToken: session.refreshToken } });
  });

  it("the old token refreshed again within the grace window gets the same child, after it the family is revoked", async () => {
    const { nhost, session } = await signedUpClient();
    const first = (await nhost.auth.refreshToken({ refreshToken: session.refreshToken })).body;
    // A second tab racing the first: no one is logged out.
    const racing = (await nhost.auth.refreshToken({ refreshToken: session.refreshToken })).body;
    expect(racing.refreshToken).toBe(first.refreshToken);
    expect(racing.refreshTokenId).toBe(first.refreshTokenId);

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 11_000);
    await expectAuthError(nhost.auth.refreshToken({ refreshToken: session.refreshToken }), 401, "invalid-refresh-token");
    // Reuse of a rotated token revokes the whole family, the current token too.
    await expectAuthError(nhost.auth.refreshToken({ refreshToken: first.refreshToken }), 401, "invalid-refresh-token");
  });

  it("refuses unknown and malformed refresh tokens with 401 invalid-refresh-token", async () => {
    const { nhost } = newClient();
    await expectAuthError(nhost.auth.refreshToken({ refreshToken: crypto.randomUUID() }), 401, "invalid-refresh-token");
    await expectAuthError(nhost.auth.refreshToken({ refreshToken: "garbage" }), 401, "invalid-refresh-token");
  });
});

describe("sign out", () => {
  it("ends the session: the client forgets it and the refresh token fails", async () => {
    const { nhost, session } = await signedUpClient();
    const response = await nhost.auth.signOut({ refreshToken: session.refreshToken });
    expect(response.status).toBe(200);
    expect(response.body).toBe("OK");
    expect(nhost.getUserSession()).toBeNull();
    await expectAuthError(nhost.auth.refreshToken({ refreshToken: session.refreshToken }), 401, "invalid-refresh-token");
  });

  it("signing out a rotated session revokes the token in use", async () => {
    const { nhost, session } = await signedUpClient();
    const rotated = (await nhost.auth.refreshToken({ refreshToken: session.refreshToken })).body;
    await nhost.auth.signOut({ refreshToken: rotated.refreshToken });
    await expectAuthError(nhost.auth.refreshToken({ refreshToken: rotated.refreshToken }), 401, "invalid-refresh-token");
  });

  it("all: true ends every session of the user, using the stored access token", async () => {
    const { nhost, sent, email, session } = await signedUpClient();
    const other = newClient();
    const otherSession = (await other.nhost.auth.signInEmailPassword({ email, password: GOOD_PASSWORD })).body.session!;

    expect((await nhost.auth.signOut({ all: true })).body).toBe("OK");
    expect(sent.at(-1)!.headers.get("authorization")).toBe(`Bearer ${session.accessToken}`);
    await expectAuthError(other.nhost.auth.refreshToken({ refreshToken: otherSession.refreshToken }), 401, "invalid-refresh-token");
    await expectAuthError(nhost.auth.refreshToken({ refreshToken: session.refreshToken }), 401, "invalid-refresh-token");
  });

  it("all: true without a session is 400 invalid-request, as Nhost answers", async () => {
    const { nhost } = newClient();
    await expectAuthError(nhost.auth.signOut({ all: true }), 400, "invalid-request");
  });
});

describe("change password", () => {
  it("the old password stops working and the new one works", async () => {
    const { nhost, email, session } = await signedUpClient();
    const other = newClient();
    const otherSession = (await other.nhost.auth.signInEmailPassword({ email, password: GOOD_PASSWORD })).body.session!;

    const response = await nhost.auth.changeUserPassword({ newPassword: NEW_PASSWORD });
    expect(response.status).toBe(200);
    expect(response.body).toBe("OK");

    const fresh = newClient().nhost;
    await expectAuthError(fresh.auth.signInEmailPassword({ email, password: GOOD_PASSWORD }), 401, "invalid-email-password");
    expect((await fresh.auth.signInEmailPassword({ email, password: NEW_PASSWORD })).body.session!.user!.email).toBe(email);

    // The latest spec: every session of the user ends, the caller's too (the answer is "OK", not a session).
    await expectAuthError(nhost.auth.refreshToken({ refreshToken: session.refreshToken }), 401, "invalid-refresh-token");
    await expectAuthError(other.nhost.auth.refreshToken({ refreshToken: otherSession.refreshToken }), 401, "invalid-refresh-token");
  });

  it("refuses a short password and a caller without a session", async () => {
    const { nhost } = await signedUpClient();
    await expectAuthError(nhost.auth.changeUserPassword({ newPassword: "short" }), 400, "password-too-short");
    await expectAuthError(newClient().nhost.auth.changeUserPassword({ newPassword: NEW_PASSWORD }), 401, "unauthenticated-user");
  });
});

describe("JWKS and token verification", () => {
  it("getJWKs lists EC P-256 ES256 keys with a kid, and the access token verifies against them with jose", async () => {
    const { nhost, session, user } = await signedUpClient();
    const response = await nhost.auth.getJWKs();
    expect(response.status).toBe(200);
    const jwks = response.body as unknown as JSONWebKeySet;
    expect(jwks.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig", kid: expect.any(String) });
      expect(key).not.toHaveProperty("d");
    }
    const kids = jwks.keys.map((key) => key.kid);
    expect(new Set(kids).size).toBe(kids.length);

    const header = decodeProtectedHeader(session.accessToken);
    expect(header.alg).toBe("ES256");
    expect(kids).toContain(header.kid);
    const { payload } = await jwtVerify(session.accessToken, createLocalJWKSet(jwks), {
      issuer: "http://localhost",
      algorithms: ["ES256"],
    });
    expect(payload.sub).toBe(user.id);
    expect(payload["https://hasura.io/jwt/claims"]).toMatchObject({ "x-hasura-user-id": user.id });

    // A token signed by anyone else does not verify against that set.
    const [head, body] = session.accessToken.split(".");
    await expect(jwtVerify(`${head}.${body}.${"A".repeat(86)}`, createLocalJWKSet(jwks))).rejects.toThrow();
  });

  it("verifyToken accepts a token in the body, with or without the Bearer prefix", async () => {
    const { session } = await signedUpClient();
    const { nhost } = newClient();
    expect((await nhost.auth.verifyToken({ token: session.accessToken })).body).toBe("OK");
    expect((await nhost.auth.verifyToken({ token: `Bearer ${session.accessToken}` })).body).toBe("OK");
  });

  it("verifyToken without a token checks the stored session's bearer", async () => {
    const { nhost } = await signedUpClient();
    expect((await nhost.auth.verifyToken()).body).toBe("OK");
    expect((await nhost.auth.verifyToken({})).body).toBe("OK");
    await expectAuthError(newClient().nhost.auth.verifyToken({}), 401, "unauthenticated-user");
  });

  it("verifyToken refuses a tampered or malformed token with 401 unauthenticated-user", async () => {
    const { session } = await signedUpClient();
    const { nhost } = newClient();
    const [head, body] = session.accessToken.split(".");
    await expectAuthError(nhost.auth.verifyToken({ token: `${head}.${body}.${"A".repeat(86)}` }), 401, "unauthenticated-user");
    await expectAuthError(nhost.auth.verifyToken({ token: "not.a.jwt" }), 401, "unauthenticated-user");
  });
});

describe("system", () => {
  it("health check and version answer the client", async () => {
    const { nhost } = newClient();
    expect((await nhost.auth.healthCheckGet()).body).toBe("OK");
    expect((await nhost.auth.healthCheckHead()).status).toBe(200);
    expect((await nhost.auth.getVersion()).body).toEqual({ version: expect.any(String) });
  });
});
