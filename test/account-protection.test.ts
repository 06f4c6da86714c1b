/**
 * Taking an account back: a signed-out session's access token (still within its
 * lifetime) reads but cannot change the account, and a password reset, a password
 * change or "sign out everywhere" also ends every personal access token.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, signUp, uniqueEmail, appFetch } from "./helpers";

function expectError(response: { status: number; json: any }, status: number, error: string) {
  expect(response.status, JSON.stringify(response.json)).toBe(status);
  expect(response.json).toMatchObject({ status, error });
}

const inOneDay = () => new Date(Date.now() + 86_400_000).toISOString();

async function createPat(accessToken: string): Promise<string> {
  const created = await api("/pat", { token: accessToken, body: { expiresAt: inOneDay() } });
  expect(created.status, created.text).toBe(200);
  return created.json.personalAccessToken;
}

async function patWorks(personalAccessToken: string): Promise<boolean> {
  const signedIn = await api("/signin/pat", { body: { personalAccessToken } });
  return signedIn.status === 200;
}

async function resetTicket(email: string): Promise<string> {
  await api("/user/password/reset", { body: { email } });
  for (let attempt = 0; attempt < 100; attempt++) {
    const mails = (await api("/_dev/outbox")).json.mails as { to: string; links: string[] }[];
    const link = mails.find((mail) => mail.to === email)?.links.find((candidate) => candidate.includes("/verify?"));
    if (link !== undefined) return new URL(link).searchParams.get("ticket")!;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no reset mail to ${email}`);
}

describe("an access token whose session has ended", () => {
  it("still reads the user, but changes nothing on the account", async () => {
    const { session } = await signUp();
    const token = session.accessToken;
    expect((await api("/signout", { body: { refreshToken: session.refreshToken } })).status).toBe(200);

    // Reading is fine for the rest of the token's short life.
    expect((await api("/user", { token })).status).toBe(200);
    const changes = [
      api("/user/password", { token, body: { newPassword: "another good passphrase" } }),
      api("/user/email/change", { token, body: { newEmail: uniqueEmail("taken-over") } }),
      api("/mfa/totp/generate", { token }),
      api("/user/mfa", { token, body: { code: "123456", activeMfaType: "totp" } }),
      api("/pat", { token, body: { expiresAt: inOneDay() } }),
      api("/user/webauthn/add", { token, method: "POST" }),
      api("/elevate/webauthn", { token, method: "POST" }),
    ];
    for (const response of await Promise.all(changes)) expectError(response, 401, "unauthenticated-user");
  });

  it("an anonymous session that ended cannot be turned into an account", async () => {
    const anonymous = (await api("/signin/anonymous", { method: "POST" })).json.session;
    expect((await api("/signout", { body: { refreshToken: anonymous.refreshToken } })).status).toBe(200);
    const deanonymized = await api("/user/deanonymize", {
      token: anonymous.accessToken,
      body: { signInMethod: "email-password", email: uniqueEmail("deanon"), password: "a good long passphrase" },
    });
    expectError(deanonymized, 401, "unauthenticated-user");
  });

  it("a live session's token, and a refreshed one, still change the account", async () => {
    const { session } = await signUp();
    const refreshed = (await api("/token", { body: { refreshToken: session.refreshToken } })).json;
    expect((await api("/mfa/totp/generate", { token: session.accessToken })).status).toBe(200);
    expect((await api("/mfa/totp/generate", { token: refreshed.accessToken })).status).toBe(200);
  });
});

describe("personal access tokens end when the user takes the account back", () => {
  it("a password reset ends them", async () => {
    const { email, session } = await signUp();
    const pat = await createPat(session.accessToken);
    expect(await patWorks(pat)).toBe(true);
    const ticket = await resetTicket(email);
    const reset = await api("/user/password", { body: { ticket, newPassword: "a brand new passphrase" } });
    expect(reset.status, reset.text).toBe(200);
    expect(await patWorks(pat)).toBe(false);
  });

  it("a signed-in password change ends them (and, as the latest spec says, every session, the caller's too)", async () => {
    const { session } = await signUp();
    const pat = await createPat(session.accessToken);
    const changed = await api("/user/password", { token: session.accessToken, body: { newPassword: "a brand new passphrase" } });
    expect(changed.status, changed.text).toBe(200);
    expect(await patWorks(pat)).toBe(false);
    expect((await api("/token", { body: { refreshToken: session.refreshToken } })).status).toBe(401);
  });

  it("signing out everywhere ends them; signing out one session does not", async () => {
    const { email, session } = await signUp();
    const pat = await createPat(session.accessToken);
    const other = (await api("/signin/email-password", { body: { email, password: "correct horse battery staple" } })).json.session;
    expect((await api("/signout", { body: { refreshToken: other.refreshToken } })).status).toBe(200);
    expect(await patWorks(pat)).toBe(true);

    expect((await api("/signout", { token: session.accessToken, body: { all: true } })).status).toBe(200);
    expect(await patWorks(pat)).toBe(false);
  });
});

describe("REQUIRE_VERIFIED_EMAIL=true holds for refresh and PAT sign-in too", () => {
  const settings = { REQUIRE_VERIFIED_EMAIL: "true" };

  async function call(path: string, body: unknown, token?: string) {
    const ctx = createExecutionContext();
    const response = await appFetch(
      new Request(`http://localhost${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
        body: JSON.stringify(body),
      }),
      { ...env, ...settings } as Env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return { status: response.status, json: (await response.json()) as any };
  }

  it("an anonymous user who became an unverified account cannot refresh until verified, and is not logged out by trying", async () => {
    const anonymous = (await call("/signin/anonymous", {})).json.session;
    const email = uniqueEmail("deanon-unverified");
    const deanonymized = await call(
      "/user/deanonymize",
      { signInMethod: "email-password", email, password: "a long and unlisted passphrase" },
      anonymous.accessToken,
    );
    expect(deanonymized.status, JSON.stringify(deanonymized.json)).toBe(200);

    expectError(await call("/token", { refreshToken: anonymous.refreshToken }), 401, "unverified-user");
    const rotated = await env.DB.prepare("SELECT count(*) AS n FROM refresh_tokens WHERE user_id = ? AND rotated_at IS NOT NULL")
      .bind(anonymous.user.id)
      .first<{ n: number }>();
    expect(rotated!.n).toBe(0);

    await env.DB.prepare("UPDATE users SET email_verified = 1 WHERE id = ?").bind(anonymous.user.id).run();
    expect((await call("/token", { refreshToken: anonymous.refreshToken })).status).toBe(200);
  });

  it("a PAT of a user whose address is no longer verified does not sign in", async () => {
    const { session } = await signUp();
    const pat = await createPat(session.accessToken);
    await env.DB.prepare("UPDATE users SET email_verified = 0 WHERE id = ?").bind(session.user.id).run();
    expectError(await call("/signin/pat", { personalAccessToken: pat }), 401, "unverified-user");
    expect(await patWorks(pat)).toBe(true); // without the setting
  });
});
