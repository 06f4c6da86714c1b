/**
 * The latest Nhost spec's routes, driven by the published client
 * (`@nhost/nhost-js` 4.7) where it has a method and by plain requests where it
 * has none: PKCE (`codeChallenge` on every redirect that carries a session,
 * `POST /token/exchange`), the explicit sign-up routes and DISABLE_AUTO_SIGNUP,
 * elevation by TOTP and one-time codes (`GET /elevate`, `/elevate/totp`,
 * `/elevate/otp/*`) and ELEVATION_REQUIRED, the phone-number change and SMS
 * deanonymization. Codes and links are read from the dev outbox.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createClient, type NhostClient } from "@nhost/nhost-js";
import { generatePKCEPair } from "@nhost/nhost-js/auth";
import { MemoryStorage } from "@nhost/nhost-js/session";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AUTHORIZATION_CODE_TTL_SECONDS } from "../src/server/tokens/authorization-code";
import { EMAIL_OTP_TTL_SECONDS_DEFAULT } from "../src/server/config";
import { s256Challenge } from "../src/server/lib/pkce";
import { base32Decode, hotp, timeStep } from "../src/server/lib/totp";
import { api, appFetch, GOOD_PASSWORD, uniqueEmail, withClockHeld } from "./helpers";
import { SoftwareAuthenticator } from "./support/software-authenticator";
import { expectAuthError } from "./support/nhost-errors";

const REDIRECT_TO = "https://app.example.com/auth/callback";

afterEach(() => vi.useRealTimers());

// ---------------------------------------------------------------------------
// Helpers

/**
 * A client as an application builds it, its network replaced by the Worker under
 * `settings` (bindings that differ from the test Worker's). Each request waits
 * for its background work (mail, SMS), so "nothing was sent" is a fact.
 */
function newClient(settings: Record<string, string> = {}): NhostClient {
  const nhost = createClient({ authUrl: "http://localhost", storage: new MemoryStorage() });
  nhost.auth.pushChainFunction(() => (url, init) => call(new Request(url, init), settings));
  return nhost;
}

async function call(request: Request, settings: Record<string, string> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await appFetch(request, { ...env, ...settings } as Env, ctx);
  const body = await response.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(body, response);
}

/** A plain request under `settings`; the JSON answer and the status. */
async function request(path: string, options: { body?: unknown; token?: string; settings?: Record<string, string>; method?: string } = {}) {
  const headers = new Headers();
  if (options.body !== undefined) headers.set("content-type", "application/json");
  if (options.token !== undefined) headers.set("authorization", `Bearer ${options.token}`);
  const response = await call(
    new Request(`http://localhost${path}`, {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      redirect: "manual",
    }),
    options.settings,
  );
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text === "" ? undefined : (JSON.parse(text) as any) };
}

interface Message {
  channel: string;
  to: string;
  text: string;
  links: string[];
}

async function messagesTo(to: string, channel: "email" | "sms"): Promise<Message[]> {
  const mails = (await api("/_dev/outbox")).json.mails as Message[];
  return mails.filter((mail) => mail.channel === channel && mail.to.toLowerCase() === to.toLowerCase());
}

/** The newest message to `to` once `count` have arrived. */
async function waitForMessage(to: string, channel: "email" | "sms", count = 1): Promise<Message> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const messages = await messagesTo(to, channel);
    if (messages.length >= count) return messages[0]!;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no ${channel} #${count} to ${to}`);
}

function codeIn(message: Message): string {
  // Not the digits of an address the message names.
  return /\b(\d{6})\b/.exec(message.text.replace(/\S+@\S+/g, ""))![1]!;
}

/** Follows a mailed link as a browser does: the 302's target. */
async function follow(link: string, extraQuery: Record<string, string> = {}): Promise<URL> {
  const url = new URL(link);
  for (const [name, value] of Object.entries(extraQuery)) url.searchParams.set(name, value);
  const response = await call(new Request(url, { redirect: "manual" }));
  expect(response.status).toBe(302);
  return new URL(response.headers.get("location")!);
}

/** A fresh number in a reserved-for-fiction range: seven random digits. */
function uniquePhone(): string {
  const [word] = crypto.getRandomValues(new Uint32Array(1));
  return `+1555${String(word! % 10_000_000).padStart(7, "0")}`;
}

async function signedUp(settings: Record<string, string> = {}) {
  const nhost = newClient(settings);
  const email = uniqueEmail("parity");
  const response = await nhost.auth.signUpEmailPassword({ email, password: GOOD_PASSWORD });
  const session = response.body.session!;
  return { nhost, email, session, token: session.accessToken, userId: session.user!.id };
}

// ---------------------------------------------------------------------------
// PKCE

describe("PKCE: codeChallenge and POST /token/exchange", () => {
  it("S256 as RFC 7636 appendix B computes it", async () => {
    expect(await s256Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  });

  it("a magic link with a challenge redirects with a code, which the client exchanges once for a session", async () => {
    const nhost = newClient();
    const email = uniqueEmail("pkce-magic");
    const { verifier, challenge } = await generatePKCEPair();
    await nhost.auth.signInPasswordlessEmail({ email, options: { redirectTo: REDIRECT_TO }, codeChallenge: challenge });
    const target = await follow((await waitForMessage(email, "email")).links[0]!);
    expect(`${target.origin}${target.pathname}`).toBe(REDIRECT_TO);
    expect(target.searchParams.get("refreshToken")).toBeNull();
    const code = target.searchParams.get("code")!;
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const exchanged = await nhost.auth.tokenExchange({ code, codeVerifier: verifier });
    expect(exchanged.status).toBe(200);
    expect(exchanged.body.session!.user).toMatchObject({ email, emailVerified: true });
    // The client keeps the session it got, as it does after a sign-in.
    expect(nhost.getUserSession()!.refreshToken).toBe(exchanged.body.session!.refreshToken);
    expect((await nhost.auth.getUser()).body.email).toBe(email);

    // Single use.
    await expectAuthError(newClient().auth.tokenExchange({ code, codeVerifier: verifier }), 400, "invalid-request");
  });

  it("a wrong verifier is refused and burns the code", async () => {
    const nhost = newClient();
    const email = uniqueEmail("pkce-wrong");
    const { verifier, challenge } = await generatePKCEPair();
    await nhost.auth.signInPasswordlessEmail({ email, codeChallenge: challenge });
    const code = (await follow((await waitForMessage(email, "email")).links[0]!)).searchParams.get("code")!;
    const other = await generatePKCEPair();
    await expectAuthError(nhost.auth.tokenExchange({ code, codeVerifier: other.verifier }), 400, "invalid-request");
    await expectAuthError(nhost.auth.tokenExchange({ code, codeVerifier: verifier }), 400, "invalid-request");
  });

  it("an expired code is refused (frozen clock)", async () => {
    const nhost = newClient();
    const email = uniqueEmail("pkce-expired");
    const { verifier, challenge } = await generatePKCEPair();
    await nhost.auth.signInPasswordlessEmail({ email, codeChallenge: challenge });
    const link = (await waitForMessage(email, "email")).links[0]!;
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Date.now();
    vi.setSystemTime(t0);
    const code = (await follow(link)).searchParams.get("code")!;
    vi.setSystemTime(t0 + AUTHORIZATION_CODE_TTL_SECONDS * 1000 + 1000);
    await expectAuthError(nhost.auth.tokenExchange({ code, codeVerifier: verifier }), 400, "invalid-request");
  });

  it("signing out everywhere ends an outstanding code", async () => {
    const { nhost, email, userId, token } = await signedUp();
    await env.DB.prepare("UPDATE users SET email_verified = 1 WHERE id = ?").bind(userId).run();
    const { verifier, challenge } = await generatePKCEPair();
    await nhost.auth.signInPasswordlessEmail({ email, codeChallenge: challenge });
    const code = (await follow((await waitForMessage(email, "email")).links[0]!)).searchParams.get("code")!;
    expect((await request("/signout", { token, body: { all: true } })).status).toBe(200);
    await expectAuthError(newClient().auth.tokenExchange({ code, codeVerifier: verifier }), 400, "invalid-request");
  });

  it("an unknown code and a malformed verifier are refused", async () => {
    const nhost = newClient();
    const { verifier } = await generatePKCEPair();
    await expectAuthError(nhost.auth.tokenExchange({ code: "not-a-code", codeVerifier: verifier }), 400, "invalid-request");
    await expectAuthError(nhost.auth.tokenExchange({ code: "not-a-code", codeVerifier: "short" }), 400, "invalid-request");
    const extra = await request("/token/exchange", { body: { code: "x", codeVerifier: verifier, state: "y" } });
    expect(extra.status).toBe(400);
  });

  it("a malformed codeChallenge is refused on a body and on GET /verify", async () => {
    const email = uniqueEmail("pkce-bad");
    const bad = await request("/signin/passwordless/email", { body: { email, codeChallenge: "plain-verifier-not-s256" } });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe("invalid-request");
    await request("/signin/passwordless/email", { body: { email } });
    const target = await follow((await waitForMessage(email, "email")).links[0]!, { codeChallenge: "short" });
    expect(target.searchParams.get("error")).toBe("invalid-request");
  });

  it("GET /verify's codeChallenge turns a link made without one into a code", async () => {
    const nhost = newClient();
    const email = uniqueEmail("pkce-query");
    await nhost.auth.signInPasswordlessEmail({ email });
    const { verifier, challenge } = await generatePKCEPair();
    const mailed = new URL((await waitForMessage(email, "email")).links[0]!);
    // The client's own URL builder, with the challenge as its query parameter.
    const url = nhost.auth.verifyTicketURL({
      ticket: mailed.searchParams.get("ticket")!,
      redirectTo: mailed.searchParams.get("redirectTo")!,
      codeChallenge: challenge,
    });
    const target = await follow(url);
    expect(target.searchParams.get("refreshToken")).toBeNull();
    const exchanged = await nhost.auth.tokenExchange({ code: target.searchParams.get("code")!, codeVerifier: verifier });
    expect(exchanged.body.session!.user!.email).toBe(email);
  });

  it("the challenge a link was made with cannot be dropped or replaced by editing the link", async () => {
    const nhost = newClient();
    const email = uniqueEmail("pkce-bound");
    const { challenge } = await generatePKCEPair();
    await nhost.auth.signInPasswordlessEmail({ email, codeChallenge: challenge });
    const link = (await waitForMessage(email, "email")).links[0]!;
    // The link itself does not carry the challenge: it is kept with the ticket.
    expect(new URL(link).searchParams.get("codeChallenge")).toBeNull();
    const other = await generatePKCEPair();
    const replaced = await follow(link, { codeChallenge: other.challenge });
    expect(replaced.searchParams.get("error")).toBe("invalid-request");
    expect(replaced.searchParams.get("code")).toBeNull();
  });

  it("sign-up with email verification required: the verification link carries a code", async () => {
    const settings = { REQUIRE_VERIFIED_EMAIL: "true" };
    const nhost = newClient(settings);
    const email = uniqueEmail("pkce-signup");
    const { verifier, challenge } = await generatePKCEPair();
    const response = await nhost.auth.signUpEmailPassword({ email, password: GOOD_PASSWORD, codeChallenge: challenge });
    expect(response.body.session).toBeNull();
    const code = (await follow((await waitForMessage(email, "email")).links[0]!)).searchParams.get("code")!;
    const exchanged = await nhost.auth.tokenExchange({ code, codeVerifier: verifier });
    expect(exchanged.body.session!.user).toMatchObject({ email, emailVerified: true });
  });

  it("without verification required, sign-up answers its session and ignores the challenge", async () => {
    const { challenge } = await generatePKCEPair();
    const response = await newClient().auth.signUpEmailPassword({ email: uniqueEmail("pkce-direct"), password: GOOD_PASSWORD, codeChallenge: challenge });
    expect(response.body.session!.refreshToken).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("passkey sign-up with email verification required: verifySignUpWebauthn's challenge binds the verification link", async () => {
    const settings = { REQUIRE_VERIFIED_EMAIL: "true" };
    const nhost = newClient(settings);
    const email = uniqueEmail("pkce-passkey");
    const options = await nhost.auth.signUpWebauthn({ email });
    const credential = await new SoftwareAuthenticator("https://app.example.com").register(options.body as never);
    const { verifier, challenge } = await generatePKCEPair();
    const response = await nhost.auth.verifySignUpWebauthn({ credential: credential as never, codeChallenge: challenge });
    expect(response.body.session).toBeNull();
    const code = (await follow((await waitForMessage(email, "email")).links[0]!)).searchParams.get("code")!;
    const exchanged = await nhost.auth.tokenExchange({ code, codeVerifier: verifier });
    expect(exchanged.body.session!.user).toMatchObject({ email, emailVerified: true });
  });

  it("password reset, verification mail and email change take a challenge", async () => {
    const { nhost, email } = await signedUp();
    // Reset.
    let pair = await generatePKCEPair();
    await nhost.auth.sendPasswordResetEmail({ email, codeChallenge: pair.challenge });
    let target = await follow((await waitForMessage(email, "email")).links[0]!);
    expect(target.searchParams.get("type")).toBe("passwordReset");
    let exchanged = await newClient().auth.tokenExchange({ code: target.searchParams.get("code")!, codeVerifier: pair.verifier });
    expect(exchanged.body.session!.user!.email).toBe(email);

    // Verification mail (the reset link verified the address: use a fresh user).
    const fresh = await signedUp();
    pair = await generatePKCEPair();
    await fresh.nhost.auth.sendVerificationEmail({ email: fresh.email, codeChallenge: pair.challenge });
    target = await follow((await waitForMessage(fresh.email, "email")).links[0]!);
    expect(target.searchParams.get("type")).toBe("emailVerify");
    exchanged = await newClient().auth.tokenExchange({ code: target.searchParams.get("code")!, codeVerifier: pair.verifier });
    expect(exchanged.body.session!.user!.emailVerified).toBe(true);

    // Email change (by another user: following a first link to an address ends the sessions before it).
    const changer = await signedUp();
    const newEmail = uniqueEmail("pkce-change");
    pair = await generatePKCEPair();
    const changed = await changer.nhost.auth.changeUserEmail({ newEmail, codeChallenge: pair.challenge });
    expect(changed.status).toBe(200);
    target = await follow((await waitForMessage(newEmail, "email")).links[0]!);
    expect(target.searchParams.get("type")).toBe("emailConfirmChange");
    exchanged = await newClient().auth.tokenExchange({ code: target.searchParams.get("code")!, codeVerifier: pair.verifier });
    expect(exchanged.body.session!.user!.email).toBe(newEmail);
  });

  it("deanonymize by magic link takes a challenge", async () => {
    const nhost = newClient();
    await nhost.auth.signInAnonymous();
    const email = uniqueEmail("pkce-deanon");
    const pair = await generatePKCEPair();
    const response = await nhost.auth.deanonymizeUser({ signInMethod: "passwordless", email, codeChallenge: pair.challenge });
    expect(response.status).toBe(200);
    const code = (await follow((await waitForMessage(email, "email")).links[0]!)).searchParams.get("code")!;
    const exchanged = await newClient().auth.tokenExchange({ code, codeVerifier: pair.verifier });
    expect(exchanged.body.session!.user).toMatchObject({ email, isAnonymous: false });
  });
});

// ---------------------------------------------------------------------------
// Explicit sign-up routes

describe("explicit passwordless sign-up", () => {
  it("signUpPasswordlessEmail creates the account and mails a magic link (with PKCE)", async () => {
    const nhost = newClient();
    const email = uniqueEmail("signup-magic");
    const { verifier, challenge } = await generatePKCEPair();
    const response = await nhost.auth.signUpPasswordlessEmail({ email, options: { displayName: "Grace" }, codeChallenge: challenge });
    expect(response.body).toBe("OK");
    const code = (await follow((await waitForMessage(email, "email")).links[0]!)).searchParams.get("code")!;
    const session = (await nhost.auth.tokenExchange({ code, codeVerifier: verifier })).body.session!;
    expect(session.user).toMatchObject({ email, displayName: "Grace", emailVerified: true });
  });

  it("signUpOTPEmail creates the account and mails a code", async () => {
    const nhost = newClient();
    const email = uniqueEmail("signup-otp");
    expect((await nhost.auth.signUpOTPEmail({ email })).body).toBe("OK");
    const otp = codeIn(await waitForMessage(email, "email"));
    const verified = await nhost.auth.verifySignInOTPEmail({ email, otp });
    expect(verified.body.session!.user!.email).toBe(email);
  });

  it("signUpPasswordlessSms creates the account and texts a code", async () => {
    const nhost = newClient();
    const phoneNumber = uniquePhone();
    expect((await nhost.auth.signUpPasswordlessSms({ phoneNumber })).body).toBe("OK");
    const otp = codeIn(await waitForMessage(phoneNumber, "sms"));
    const verified = await nhost.auth.verifySignInPasswordlessSms({ phoneNumber, otp });
    expect(verified.body.session!.user).toMatchObject({ phoneNumber, phoneNumberVerified: true });
  });

  it("an address or number that has an account answers OK and sends nothing", async () => {
    const nhost = newClient();
    const { email } = await signedUp();
    expect((await nhost.auth.signUpPasswordlessEmail({ email })).body).toBe("OK");
    expect((await nhost.auth.signUpOTPEmail({ email })).body).toBe("OK");
    expect(await messagesTo(email, "email")).toHaveLength(0);

    const phoneNumber = uniquePhone();
    await nhost.auth.signUpPasswordlessSms({ phoneNumber });
    await waitForMessage(phoneNumber, "sms");
    expect((await nhost.auth.signUpPasswordlessSms({ phoneNumber })).body).toBe("OK");
    expect(await messagesTo(phoneNumber, "sms")).toHaveLength(1);
  });

  it("SIGNUP_DISABLED refuses them; bad options are refused before any work", async () => {
    const disabled = newClient({ SIGNUP_DISABLED: "true" });
    await expectAuthError(disabled.auth.signUpPasswordlessEmail({ email: uniqueEmail() }), 403, "signup-disabled");
    await expectAuthError(disabled.auth.signUpOTPEmail({ email: uniqueEmail() }), 403, "signup-disabled");
    await expectAuthError(disabled.auth.signUpPasswordlessSms({ phoneNumber: uniquePhone() }), 403, "signup-disabled");
    const nhost = newClient();
    await expectAuthError(nhost.auth.signUpPasswordlessEmail({ email: uniqueEmail(), options: { defaultRole: "admin" } }), 400, "role-not-allowed");
    await expectAuthError(nhost.auth.signUpPasswordlessSms({ phoneNumber: "12" }), 400, "cannot-send-sms");
  });

  it("DISABLE_AUTO_SIGNUP: sign-in routes no longer create accounts; sign-up routes still do", async () => {
    const settings = { DISABLE_AUTO_SIGNUP: "true", ENUMERATION_PROTECTION: "false" };
    const nhost = newClient(settings);
    const email = uniqueEmail("no-auto");
    await expectAuthError(nhost.auth.signInPasswordlessEmail({ email }), 400, "invalid-request");
    await expectAuthError(nhost.auth.signInOTPEmail({ email }), 400, "invalid-request");
    await expectAuthError(nhost.auth.signInPasswordlessSms({ phoneNumber: uniquePhone() }), 400, "invalid-request");
    expect(await messagesTo(email, "email")).toHaveLength(0);

    // Concealed (the default), the answer is OK and nothing is created or sent.
    const concealed = newClient({ DISABLE_AUTO_SIGNUP: "true" });
    expect((await concealed.auth.signInPasswordlessEmail({ email })).body).toBe("OK");
    expect(await messagesTo(email, "email")).toHaveLength(0);

    // The explicit route signs up; then the sign-in route works for the address.
    await nhost.auth.signUpOTPEmail({ email });
    await waitForMessage(email, "email");
    expect((await nhost.auth.signInPasswordlessEmail({ email })).body).toBe("OK");
    await waitForMessage(email, "email", 2);
  });
});

// ---------------------------------------------------------------------------
// Elevation

async function totpCode(totpSecret: string, atMs = Date.now()): Promise<string> {
  return hotp(base32Decode(totpSecret)!, timeStep(atMs));
}

/** A user whose addresses are proven (their factors are their own) with TOTP active; its current token. */
async function userWithTotp() {
  const user = await signedUp();
  const generated = await request("/mfa/totp/generate", { token: user.token });
  expect(generated.status).toBe(200);
  const { totpSecret } = generated.json;
  const activated = await withClockHeld(async () =>
    request("/user/mfa", { token: user.token, body: { code: await totpCode(totpSecret, Date.now() - 30_000), activeMfaType: "totp" } }),
  );
  expect(activated.status).toBe(200);
  await env.DB.prepare("UPDATE users SET email_verified = 1 WHERE id = ?").bind(user.userId).run();
  return { ...user, totpSecret };
}

function elevatedClaimOf(accessToken: string): unknown {
  const claims = JSON.parse(atob(accessToken.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));
  return { elevated: claims["https://hasura.io/jwt/claims"]["x-hasura-auth-elevated"], at: typeof claims.elevatedAt };
}

describe("elevation", () => {
  it("GET /elevate: not required without a second factor; methods and state as the spec says", async () => {
    const { token, userId } = await signedUp();
    let answer = await request("/elevate", { token });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ elevationRequired: false, methods: [], sessionElevated: false });
    await env.DB.prepare("UPDATE users SET email_verified = 1 WHERE id = ?").bind(userId).run();
    answer = await request("/elevate", { token });
    expect(answer.json.methods).toEqual(["otp-email"]);
    // ELEVATION_REQUIRED asks every user.
    answer = await request("/elevate", { token, settings: { ELEVATION_REQUIRED: "true" } });
    expect(answer.json.elevationRequired).toBe(true);
    expect((await request("/elevate")).status).toBe(401);
  });

  it("TOTP: the elevated routes are refused until /elevate/totp answers an elevated session", async () => {
    const { token, totpSecret } = await userWithTotp();
    let answer = await request("/elevate", { token });
    expect(answer.json).toEqual({ elevationRequired: true, methods: ["totp", "otp-email"], sessionElevated: false });
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const refused = await request("/pat", { token, body: { expiresAt } });
    expect(refused.status).toBe(401);
    expect(refused.json.error).toBe("elevated-claim-required");
    // Generating a new secret is elevated too (for this user it is refused anyway: TOTP is active).
    expect((await request("/mfa/totp/generate", { token })).json.error).toBe("totp-already-active");

    const wrong = await request("/elevate/totp", { token, body: { otp: "000000" === (await totpCode(totpSecret)) ? "111111" : "000000" } });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toBe("invalid-totp");
    const elevated = await request("/elevate/totp", { token, body: { otp: await totpCode(totpSecret) } });
    expect(elevated.status).toBe(200);
    const elevatedToken = elevated.json.session.accessToken as string;
    expect(elevatedClaimOf(elevatedToken)).toEqual({ elevated: elevated.json.session.user.id, at: "number" });
    // The same step cannot be used twice.
    expect((await request("/elevate/totp", { token, body: { otp: await totpCode(totpSecret) } })).json.error).toBe("invalid-totp");

    answer = await request("/elevate", { token: elevatedToken });
    expect(answer.json.sessionElevated).toBe(true);
    expect((await request("/pat", { token: elevatedToken, body: { expiresAt } })).status).toBe(200);
  });

  it("/elevate/totp without TOTP is disabled-mfa-totp; extra fields are refused", async () => {
    const { token } = await signedUp();
    expect((await request("/elevate/totp", { token, body: { otp: "123456" } })).json.error).toBe("disabled-mfa-totp");
    expect((await request("/elevate/totp", { token, body: { otp: "123456", code: "1" } })).status).toBe(400);
  });

  it("email code: sent to a verified address, exchanged for an elevated session, wrong codes counted", async () => {
    const { token, email, userId } = await signedUp();
    expect((await request("/elevate/otp/email", { token, body: {} })).json.error).toBe("unverified-user");
    await env.DB.prepare("UPDATE users SET email_verified = 1 WHERE id = ?").bind(userId).run();
    expect((await request("/elevate/otp/email", { token, method: "POST" })).json).toBe("OK");
    const otp = codeIn(await waitForMessage(email, "email"));
    const wrong = await request("/elevate/otp/email/verify", { token, body: { otp: otp === "000000" ? "111111" : "000000" } });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error).toBe("invalid-otp");
    const elevated = await request("/elevate/otp/email/verify", { token, body: { otp } });
    expect(elevated.status).toBe(200);
    expect(elevatedClaimOf(elevated.json.session.accessToken)).toEqual({ elevated: userId, at: "number" });
    // Single use; and a sign-in code is not an elevation code.
    expect((await request("/elevate/otp/email/verify", { token, body: { otp } })).json.error).toBe("invalid-otp");
  });

  it("email code: the guesses per code are capped (OTP_MAX_ATTEMPTS)", async () => {
    const { token, email, userId } = await signedUp();
    await env.DB.prepare("UPDATE users SET email_verified = 1 WHERE id = ?").bind(userId).run();
    await request("/elevate/otp/email", { token, method: "POST" });
    const otp = codeIn(await waitForMessage(email, "email"));
    const wrong = otp === "000000" ? "111111" : "000000";
    for (let guess = 0; guess < 4; guess++) expect((await request("/elevate/otp/email/verify", { token, body: { otp: wrong } })).json.error).toBe("invalid-otp");
    // The fifth wrong guess spends the code; the right one, too late, is refused the same way.
    expect((await request("/elevate/otp/email/verify", { token, body: { otp: wrong } })).json.error).toBe("otp-too-many-attempts");
    expect((await request("/elevate/otp/email/verify", { token, body: { otp } })).json.error).toBe("otp-too-many-attempts");
  });

  it("email code: an expired one is refused (frozen clock)", async () => {
    const { token, email, userId } = await signedUp();
    await env.DB.prepare("UPDATE users SET email_verified = 1 WHERE id = ?").bind(userId).run();
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Date.now();
    vi.setSystemTime(t0);
    await request("/elevate/otp/email", { token, method: "POST" });
    const otp = codeIn(await waitForMessage(email, "email"));
    vi.setSystemTime(t0 + EMAIL_OTP_TTL_SECONDS_DEFAULT * 1000 + 1000);
    // The access token has expired too by then: a fresh one for the same user.
    const fresh = (await request("/signin/email-password", { body: { email, password: GOOD_PASSWORD } })).json.session.accessToken;
    const expired = await request("/elevate/otp/email/verify", { token: fresh, body: { otp } });
    expect(expired.status).toBe(400);
    expect(expired.json.error).toBe("invalid-otp");
  });

  it("SMS code: only to a verified number", async () => {
    const { token, userId } = await signedUp();
    expect((await request("/elevate/otp/sms", { token, method: "POST" })).json.error).toBe("disabled-endpoint");
    const phoneNumber = uniquePhone();
    await env.DB.prepare("UPDATE users SET phone_number = ?, phone_number_verified = 1 WHERE id = ?").bind(phoneNumber, userId).run();
    expect((await request("/elevate", { token })).json.methods).toEqual(["otp-sms"]);
    expect((await request("/elevate/otp/sms", { token, method: "POST" })).json).toBe("OK");
    const otp = codeIn(await waitForMessage(phoneNumber, "sms"));
    const elevated = await request("/elevate/otp/sms/verify", { token, body: { otp } });
    expect(elevated.status).toBe(200);
    expect(elevatedClaimOf(elevated.json.session.accessToken)).toEqual({ elevated: userId, at: "number" });
  });

  it("ELEVATION_REQUIRED: a user without a second factor must elevate too", async () => {
    const settings = { ELEVATION_REQUIRED: "true" };
    const { token, email, userId } = await signedUp(settings);
    await env.DB.prepare("UPDATE users SET email_verified = 1 WHERE id = ?").bind(userId).run();
    expect((await request("/mfa/totp/generate", { token, settings })).json.error).toBe("elevated-claim-required");
    const newEmail = uniqueEmail("elevation-required");
    const refused = await request("/user/email/change", { token, body: { newEmail }, settings });
    expect(refused.json.error).toBe("elevated-claim-required");
    await request("/elevate/otp/email", { token, settings, method: "POST" });
    const otp = codeIn(await waitForMessage(email, "email"));
    const elevated = await request("/elevate/otp/email/verify", { token, body: { otp }, settings });
    const accepted = await request("/user/email/change", { token: elevated.json.session.accessToken, body: { newEmail }, settings });
    expect(accepted.status).toBe(200);
    // Without the setting, the same user is not asked.
    expect((await request("/user/email/change", { token, body: { newEmail: uniqueEmail() } })).status).toBe(200);
  });

  it("a user with TOTP following a PKCE link gets the MFA ticket, not a code", async () => {
    const { nhost, email } = await userWithTotp();
    const { challenge } = await generatePKCEPair();
    await nhost.auth.signInPasswordlessEmail({ email, codeChallenge: challenge });
    const target = await follow((await waitForMessage(email, "email")).links[0]!);
    expect(target.searchParams.get("code")).toBeNull();
    expect(target.searchParams.get("mfaTicket")).toMatch(/^mfaTotp:/);
  });
});

// ---------------------------------------------------------------------------
// Phone number

describe("phone-number change", () => {
  it("the number changes only once the code texted to it is verified", async () => {
    const { token, userId } = await signedUp();
    const newPhoneNumber = uniquePhone();
    expect((await request("/user/phone-number/change", { token, body: { newPhoneNumber } })).json).toBe("OK");
    expect((await request("/user", { token })).json.phoneNumber).toBeUndefined();
    const otp = codeIn(await waitForMessage(newPhoneNumber, "sms"));
    const wrong = await request("/user/phone-number/change/verify", { token, body: { newPhoneNumber, otp: otp === "000000" ? "111111" : "000000" } });
    expect(wrong.json.error).toBe("invalid-otp");
    // The code is bound to the number it went to.
    expect((await request("/user/phone-number/change/verify", { token, body: { newPhoneNumber: uniquePhone(), otp } })).json.error).toBe("invalid-otp");
    const verified = await request("/user/phone-number/change/verify", { token, body: { newPhoneNumber, otp } });
    expect(verified.status).toBe(200);
    const user = (await request("/user", { token })).json;
    expect(user).toMatchObject({ id: userId, phoneNumber: newPhoneNumber, phoneNumberVerified: true });
  });

  it("a number another account has is refused, before and after the code", async () => {
    const taken = uniquePhone();
    await request("/signin/passwordless/sms", { body: { phoneNumber: taken } });
    await waitForMessage(taken, "sms");
    const { token } = await signedUp();
    const refused = await request("/user/phone-number/change", { token, body: { newPhoneNumber: taken } });
    expect(refused.status).toBe(409);
    expect(refused.json.error).toBe("user-already-exists");

    // Taken between the code and its verification.
    const other = await signedUp();
    const contested = uniquePhone();
    await request("/user/phone-number/change", { token: other.token, body: { newPhoneNumber: contested } });
    const otp = codeIn(await waitForMessage(contested, "sms"));
    await env.DB.prepare("UPDATE users SET phone_number = ? WHERE id = ?").bind(contested, (await signedUp()).userId).run();
    const raced = await request("/user/phone-number/change/verify", { token: other.token, body: { newPhoneNumber: contested, otp } });
    expect(raced.status).toBe(409);
    expect(raced.json.error).toBe("user-already-exists");
  });

  it("is elevated for a user with TOTP; anonymous users and bad numbers are refused; no extra fields", async () => {
    const { token, totpSecret } = await userWithTotp();
    expect((await request("/user/phone-number/change", { token, body: { newPhoneNumber: uniquePhone() } })).json.error).toBe("elevated-claim-required");
    const elevated = (await request("/elevate/totp", { token, body: { otp: await totpCode(totpSecret) } })).json.session.accessToken;
    expect((await request("/user/phone-number/change", { token: elevated, body: { newPhoneNumber: "123" } })).json.error).toBe("cannot-send-sms");
    expect((await request("/user/phone-number/change", { token: elevated, body: { newPhoneNumber: uniquePhone(), phoneNumber: "x" } })).status).toBe(400);
    const anonymous = (await request("/signin/anonymous", { body: {} })).json.session.accessToken;
    expect((await request("/user/phone-number/change", { token: anonymous, body: { newPhoneNumber: uniquePhone() } })).json.error).toBe("forbidden-anonymous");
  });
});

describe("SMS deanonymization", () => {
  it("stays anonymous until the code is verified at /signin/passwordless/sms/otp, which completes it", async () => {
    const anonymous = await request("/signin/anonymous", { body: { displayName: "Guest" } });
    const token = anonymous.json.session.accessToken as string;
    const userId = anonymous.json.session.user.id as string;
    const phoneNumber = uniquePhone();
    const staged = await request("/user/deanonymize/sms", { token, body: { phoneNumber, options: { displayName: "Ada", defaultRole: "editor", allowedRoles: ["user", "editor"] } } });
    expect(staged.json).toBe("OK");
    expect((await request("/user", { token })).json).toMatchObject({ isAnonymous: true, phoneNumber, phoneNumberVerified: false });

    const otp = codeIn(await waitForMessage(phoneNumber, "sms"));
    const verified = await newClient().auth.verifySignInPasswordlessSms({ phoneNumber, otp });
    expect(verified.body.session!.user).toMatchObject({
      id: userId,
      isAnonymous: false,
      phoneNumber,
      phoneNumberVerified: true,
      displayName: "Ada",
      defaultRole: "editor",
    });
    expect([...verified.body.session!.user!.roles].sort()).toEqual(["editor", "user"]);
    // Audited as the account's sign-up, when it happened.
    const events = await env.DB.prepare("SELECT type, outcome, detail FROM audit_events WHERE user_id = ? AND type = 'signup'").bind(userId).all();
    expect(events.results.map((event) => [event.outcome, JSON.parse(String(event.detail))])).toContainEqual([
      "success",
      { method: "deanonymize", signInMethod: "sms" },
    ]);
  });

  it("refuses a regular user, a taken number and bad options", async () => {
    const { token } = await signedUp();
    expect((await request("/user/deanonymize/sms", { token, body: { phoneNumber: uniquePhone() } })).json.error).toBe("user-not-anonymous");
    const anonymousToken = (await request("/signin/anonymous", { body: {} })).json.session.accessToken as string;
    const taken = uniquePhone();
    await request("/signin/passwordless/sms", { body: { phoneNumber: taken } });
    await waitForMessage(taken, "sms");
    expect((await request("/user/deanonymize/sms", { token: anonymousToken, body: { phoneNumber: taken } })).json.error).toBe("user-already-exists");
    // A refused sign-up is audited.
    const refusals = await env.DB.prepare("SELECT detail FROM audit_events WHERE type = 'signup' AND outcome = 'failure' AND detail LIKE '%deanonymize%user-already-exists%'").all();
    expect(refusals.results.length).toBeGreaterThan(0);
    expect((await request("/user/deanonymize/sms", { token: anonymousToken, body: { phoneNumber: uniquePhone(), options: { defaultRole: "admin" } } })).json.error).toBe("role-not-allowed");
  });
});
