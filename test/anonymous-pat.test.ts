/**
 * Anonymous users (start anonymous, keep the same id when becoming an account)
 * and personal access tokens (shown once, stored hashed, exchanged for sessions,
 * revocable), through the Worker and through the real @nhost/nhost-js client.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { createClient } from "@nhost/nhost-js";
import { MemoryStorage } from "@nhost/nhost-js/session";
import { decodeJwt } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { HASURA_CLAIMS_NAMESPACE } from "@edgeauth/client";
import { GOOD_PASSWORD, api, signIn, signUp, uniqueEmail, workerFetch, appFetch } from "./helpers";

afterEach(() => vi.useRealTimers());

function hasura(accessToken: string) {
  return decodeJwt(accessToken)[HASURA_CLAIMS_NAMESPACE] as Record<string, unknown>;
}

async function anonymousSession(body?: unknown) {
  const response = await api("/signin/anonymous", body === undefined ? { method: "POST" } : { body });
  expect(response.status, response.text).toBe(200);
  return response.json.session;
}

async function outbox(): Promise<{ to: string; subject: string; links: string[] }[]> {
  return (await api("/_dev/outbox")).json.mails;
}

function expectError(response: { status: number; json: any }, status: number, error: string) {
  expect(response.status, JSON.stringify(response.json)).toBe(status);
  expect(response.json).toMatchObject({ status, error });
}

describe("POST /signin/anonymous", () => {
  it("starts an anonymous user with the anonymous role and a session, with or without a body", async () => {
    for (const session of [await anonymousSession(), await anonymousSession({ displayName: "Guest", locale: "fr" })]) {
      expect(session.user.isAnonymous).toBe(true);
      expect(session.user.roles).toEqual(["anonymous"]);
      expect(session.user.defaultRole).toBe("anonymous");
      expect(session.user).not.toHaveProperty("email");
      expect(hasura(session.accessToken)["x-hasura-user-is-anonymous"]).toBe("true");
      expect((await api("/user", { token: session.accessToken })).json.isAnonymous).toBe(true);
    }
    const named = await anonymousSession({ displayName: "Guest", locale: "fr", metadata: { plan: "trial" } });
    expect(named.user).toMatchObject({ displayName: "Guest", locale: "fr", metadata: { plan: "trial" } });
  });

  it("is disabled-endpoint unless ANONYMOUS_USERS_ENABLED", async () => {
    const ctx = createExecutionContext();
    const response = await appFetch(
      new Request("http://localhost/signin/anonymous", { method: "POST" }),
      { ...env, ANONYMOUS_USERS_ENABLED: "false" } as Env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ error: "disabled-endpoint" });
  });

  it("falls back to the default locale for one that is not allowed, as Nhost does, and refuses bad bodies", async () => {
    const fallback = await api("/signin/anonymous", { body: { locale: "de" } });
    expect(fallback.status, fallback.text).toBe(200);
    expect(fallback.json.session.user.locale).toBe("en");
    expectError(await api("/signin/anonymous", { body: { email: "x@example.com" } }), 400, "invalid-request");
    expectError(await api("/signin/anonymous", { body: "{nope" }), 400, "invalid-request");
  });

  it("anonymous users get forbidden-anonymous where the spec says so", async () => {
    const session = await anonymousSession();
    expectError(await api("/user/password", { token: session.accessToken, body: { newPassword: GOOD_PASSWORD } }), 403, "forbidden-anonymous");
    expectError(
      await api("/user/email/change", { token: session.accessToken, body: { newEmail: uniqueEmail() } }),
      403,
      "forbidden-anonymous",
    );
    const nextYear = new Date(Date.now() + 365 * 86_400_000 - 60_000).toISOString();
    expectError(await api("/pat", { token: session.accessToken, body: { expiresAt: nextYear } }), 403, "forbidden-anonymous");
  });
});

describe("POST /user/deanonymize", () => {
  it("email-password: same user id, a real account with roles, sign-in works, the session refreshes to new claims", async () => {
    const session = await anonymousSession();
    const email = uniqueEmail("deanon");
    const response = await api("/user/deanonymize", {
      token: session.accessToken,
      body: { signInMethod: "email-password", email, password: GOOD_PASSWORD, options: { displayName: "Ada", defaultRole: "user", allowedRoles: ["user", "me"] } },
    });
    expect(response.status, response.text).toBe(200);
    expect(response.json).toBe("OK");

    const signedIn = await signIn(email);
    expect(signedIn.status).toBe(200);
    expect(signedIn.json.session.user).toMatchObject({ id: session.user.id, isAnonymous: false, email, displayName: "Ada", defaultRole: "user" });
    expect(signedIn.json.session.user.roles).toEqual(["me", "user"]);

    const refreshed = await api("/token", { body: { refreshToken: session.refreshToken } });
    expect(refreshed.status).toBe(200);
    expect(hasura(refreshed.json.accessToken)["x-hasura-user-is-anonymous"]).toBe("false");
    expect(hasura(refreshed.json.accessToken)["x-hasura-default-role"]).toBe("user");
  });

  it("passwordless: mails a magic link that signs the same user in", async () => {
    const session = await anonymousSession();
    const email = uniqueEmail("deanon-link");
    const response = await api("/user/deanonymize", { token: session.accessToken, body: { signInMethod: "passwordless", email } });
    expect(response.status, response.text).toBe(200);
    let mail;
    for (let attempt = 0; attempt < 50 && !mail; attempt++) {
      mail = (await outbox()).find((candidate) => candidate.to === email);
      if (!mail) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(mail, "magic link mail").toBeDefined();
    const link = new URL(mail!.links[0]!);
    expect(link.pathname).toBe("/verify");
    const verified = await workerFetch(link.toString(), { redirect: "manual" });
    expect(verified.status).toBe(302);
    const refreshToken = new URL(verified.headers.get("location")!).searchParams.get("refreshToken")!;
    const refreshed = await api("/token", { body: { refreshToken } });
    expect(refreshed.json.user).toMatchObject({ id: session.user.id, email, emailVerified: true, isAnonymous: false });
  });

  it("errors: user-not-anonymous, user-already-exists, password-too-short, missing password, no bearer", async () => {
    const real = await signUp();
    expectError(
      await api("/user/deanonymize", { token: real.session.accessToken, body: { signInMethod: "email-password", email: uniqueEmail(), password: GOOD_PASSWORD } }),
      400,
      "user-not-anonymous",
    );
    const session = await anonymousSession();
    expectError(
      await api("/user/deanonymize", { token: session.accessToken, body: { signInMethod: "email-password", email: real.email, password: GOOD_PASSWORD } }),
      409,
      "user-already-exists",
    );
    expectError(
      await api("/user/deanonymize", { token: session.accessToken, body: { signInMethod: "email-password", email: uniqueEmail(), password: "short" } }),
      400,
      "password-too-short",
    );
    expectError(
      await api("/user/deanonymize", { token: session.accessToken, body: { signInMethod: "email-password", email: uniqueEmail() } }),
      400,
      "invalid-request",
    );
    expectError(
      await api("/user/deanonymize", { token: session.accessToken, body: { signInMethod: "sms", email: uniqueEmail() } }),
      400,
      "invalid-request",
    );
    expectError(await api("/user/deanonymize", { body: { signInMethod: "passwordless", email: uniqueEmail() } }), 401, "unauthenticated-user");
    // Nothing changed: still anonymous.
    expect((await api("/user", { token: session.accessToken })).json.isAnonymous).toBe(true);
  });
});

describe("personal access tokens", () => {
  const inAMonth = () => new Date(Date.now() + 30 * 86_400_000).toISOString();

  it("is shown once, stored hashed, exchanged for a session, listed without the secret", async () => {
    const { session, email } = await signUp();
    const created = await api("/pat", { token: session.accessToken, body: { expiresAt: inAMonth(), metadata: { name: "cli" } } });
    expect(created.status, created.text).toBe(200);
    const { id, personalAccessToken } = created.json;
    expect(personalAccessToken).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    const stored = await env.DB.prepare("SELECT token_hash FROM personal_access_tokens WHERE id = ?").bind(id).first<{ token_hash: string }>();
    expect(stored!.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored!.token_hash).not.toContain(personalAccessToken);

    const signedIn = await api("/signin/pat", { body: { personalAccessToken } });
    expect(signedIn.status).toBe(200);
    expect(signedIn.json.session.user.email).toBe(email);

    const listed = await api("/pat", { token: session.accessToken });
    expect(listed.json.personalAccessTokens).toHaveLength(1);
    expect(listed.json.personalAccessTokens[0]).toMatchObject({ id, metadata: { name: "cli" } });
    expect(listed.json.personalAccessTokens[0].lastUsedAt).not.toBeNull();
    expect(listed.text).not.toContain(personalAccessToken);
  });

  it("revoked, expired, unknown or malformed tokens are invalid-pat", async () => {
    const { session } = await signUp();
    const created = (await api("/pat", { token: session.accessToken, body: { expiresAt: inAMonth() } })).json;
    expect((await api(`/pat/${created.id}`, { method: "DELETE", token: session.accessToken })).status).toBe(200);
    expectError(await api("/signin/pat", { body: { personalAccessToken: created.personalAccessToken } }), 401, "invalid-pat");
    expectError(await api(`/pat/${created.id}`, { method: "DELETE", token: session.accessToken }), 401, "invalid-pat");

    const expiring = (await api("/pat", { token: session.accessToken, body: { expiresAt: new Date(Date.now() + 120_000).toISOString() } })).json;
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 121_000);
    expectError(await api("/signin/pat", { body: { personalAccessToken: expiring.personalAccessToken } }), 401, "invalid-pat");
    vi.useRealTimers();

    expectError(await api("/signin/pat", { body: { personalAccessToken: crypto.randomUUID() } }), 401, "invalid-pat");
    expectError(await api("/signin/pat", { body: { personalAccessToken: "not-a-token" } }), 401, "invalid-pat");
    expectError(await api("/signin/pat", { body: { personalAccessToken: 42 } }), 400, "invalid-request");
  });

  it("another user cannot revoke my token", async () => {
    const mine = await signUp();
    const theirs = await signUp();
    const created = (await api("/pat", { token: mine.session.accessToken, body: { expiresAt: inAMonth() } })).json;
    expectError(await api(`/pat/${created.id}`, { method: "DELETE", token: theirs.session.accessToken }), 401, "invalid-pat");
    expect((await api("/signin/pat", { body: { personalAccessToken: created.personalAccessToken } })).status).toBe(200);
  });

  it("refuses an expiry in the past or beyond the longest lifetime, and bad bodies", async () => {
    const { session } = await signUp();
    expectError(await api("/pat", { token: session.accessToken, body: { expiresAt: new Date(Date.now() - 1000).toISOString() } }), 400, "invalid-request");
    expectError(
      await api("/pat", { token: session.accessToken, body: { expiresAt: new Date(Date.now() + 2 * 365 * 86_400_000).toISOString() } }),
      400,
      "invalid-request",
    );
    expectError(await api("/pat", { token: session.accessToken, body: { expiresAt: "tomorrow" } }), 400, "invalid-request");
    expectError(await api("/pat", { token: session.accessToken, body: {} }), 400, "invalid-request");
    expectError(await api("/pat", { body: { expiresAt: inAMonth() } }), 401, "unauthenticated-user");
  });
});

describe("the @nhost/nhost-js client", () => {
  function newClient() {
    const nhost = createClient({ authUrl: "http://localhost", storage: new MemoryStorage() });
    nhost.auth.pushChainFunction(() => (url, init) => workerFetch(url, init));
    return nhost;
  }

  it("signs in anonymously and deanonymizes, keeping the user id", async () => {
    const nhost = newClient();
    const anonymous = await nhost.auth.signInAnonymous();
    const userId = anonymous.body.session!.user!.id;
    expect(anonymous.body.session!.user!.isAnonymous).toBe(true);
    const email = uniqueEmail("nhost-deanon");
    await nhost.auth.deanonymizeUser({ signInMethod: "email-password", email, password: GOOD_PASSWORD });
    const signedIn = await newClient().auth.signInEmailPassword({ email, password: GOOD_PASSWORD });
    expect(signedIn.body.session!.user!.id).toBe(userId);
    expect(signedIn.body.session!.user!.isAnonymous).toBe(false);
  });

  it("creates a personal access token and signs in with it", async () => {
    const nhost = newClient();
    await nhost.auth.signUpEmailPassword({ email: uniqueEmail("nhost-pat"), password: GOOD_PASSWORD });
    const created = await nhost.auth.createPAT({ expiresAt: new Date(Date.now() + 86_400_000).toISOString(), metadata: { name: "ci" } });
    const other = newClient();
    const signedIn = await other.auth.signInPAT({ personalAccessToken: created.body.personalAccessToken });
    expect(signedIn.body.session!.user!.id).toBe((await nhost.auth.getUser()).body.id);
  });
});
