/**
 * The email flows end to end through the Worker: verification, password reset,
 * email change, magic links and email codes. Each test reads the mail from the
 * dev outbox and follows its link (`GET /verify`, 302 to `redirectTo`), then
 * proves the outcome with the refresh token the redirect carries. Also pinned:
 * single-use and expiring tickets bound to their purpose, the exact OTP attempt
 * cap under concurrent guesses, the redirect allow-list, no account enumeration,
 * the dev pages, templates (locale, operator override, HTML escaping) and bad input.
 */
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  EMAIL_OTP_TTL_SECONDS_DEFAULT,
  MAGIC_LINK_TTL_SECONDS_DEFAULT,
  OTP_MAX_ATTEMPTS_DEFAULT,
  RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT,
  PASSWORD_RESET_TTL_SECONDS_DEFAULT,
} from "../src/server/config";
import { DEFAULT_REALM } from "../src/server/db/schema";
import { sha256Hex } from "../src/server/lib/crypto";
import { oneTimeCodeDigest } from "../src/server/lib/otp";
import { api, GOOD_PASSWORD, signIn, signUp, uniqueEmail, workerFetch, appFetch } from "./helpers";

const NEW_PASSWORD = "a brand new and rather long passphrase";
const APP_REDIRECT = "https://app.example.com/auth/callback";

afterEach(() => vi.useRealTimers());

// ---------------------------------------------------------------------------
// Helpers

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

interface CallOptions {
  method?: string;
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
  /** Bindings that differ from the test Worker's (string settings). */
  settings?: Record<string, string>;
}

/**
 * Calls the app under `settings` and waits for its background work (the mail),
 * so that "no mail was sent" is a fact, not a race.
 */
async function call(path: string, options: CallOptions = {}): Promise<Reply> {
  const headers = new Headers(options.headers);
  if (options.body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
  if (options.token !== undefined) headers.set("authorization", `Bearer ${options.token}`);
  const bindings = options.settings === undefined ? env : ({ ...env, ...options.settings } as Env);
  const ctx = createExecutionContext();
  const response = await appFetch(
    new Request(`http://localhost${path}`, {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers,
      body: options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body),
      redirect: "manual",
    }),
    bindings,
    ctx,
  );
  const text = await response.text();
  await waitOnExecutionContext(ctx);
  let json: any;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

interface Mail {
  id: string;
  channel: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  links: string[];
  createdAt: string;
}

/** Every mail to `to`, newest first. */
async function mailsTo(to: string): Promise<Mail[]> {
  const response = await api("/_dev/outbox");
  expect(response.status).toBe(200);
  return (response.json.mails as Mail[]).filter((mail) => mail.channel === "email" && mail.to === to.toLowerCase());
}

/**
 * The newest mail to `to` once `count` have arrived. Mails are sent in
 * `waitUntil` after the response: this polls a bounded number of times.
 */
async function waitForMail(to: string, count = 1): Promise<Mail> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const mails = await mailsTo(to);
    if (mails.length >= count) return mails[0]!;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no mail #${count} to ${to}`);
}

/**
 * Sign-up refuses `<` and `>` in a display name, but an account imported from
 * another system may carry one: give it one directly, to pin the escaping.
 */
async function setDisplayName(email: string, displayName: string): Promise<void> {
  await env.DB.prepare("UPDATE users SET display_name = ? WHERE email = ?").bind(displayName, email.toLowerCase()).run();
}

/** The first mail to `to` that is not among `seen` (ordering by time is useless under a frozen clock). */
async function nextMail(to: string, seen: Mail[]): Promise<Mail> {
  const known = new Set(seen.map((mail) => mail.id));
  for (let attempt = 0; attempt < 100; attempt++) {
    const fresh = (await mailsTo(to)).find((mail) => !known.has(mail.id));
    if (fresh !== undefined) return fresh;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no new mail to ${to}`);
}

function linkOf(mail: Mail): URL {
  expect(mail.links.length, mail.text).toBeGreaterThan(0);
  const link = new URL(mail.links[0]!);
  // Links point at this service's public URL, which redeems the ticket.
  expect(`${link.origin}${link.pathname}`).toBe("http://localhost/verify");
  return link;
}

function ticketOf(mail: Mail): string {
  return linkOf(mail).searchParams.get("ticket")!;
}

/** The 6-digit code of an OTP mail (subject, text and HTML all carry it). */
function codeOf(mail: Mail): string {
  const match = /\b(\d{6})\b/.exec(mail.text);
  expect(match, mail.text).not.toBeNull();
  expect(mail.subject).toContain(match![1]);
  return match![1]!;
}

/** Follows a link through the Worker as a browser would, without following the redirect. */
async function follow(link: string | URL): Promise<{ status: number; location: URL | null; json: any }> {
  const response = await workerFetch(link.toString(), { redirect: "manual" });
  const location = response.headers.get("location");
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, location: location === null ? null : new URL(location), json };
}

/** A successful redirect: back to `redirectTo` with a refresh token and the ticket type. */
function expectSignedInRedirect(result: { status: number; location: URL | null }, redirectTo: string, type: string): string {
  expect(result.status).toBe(302);
  const location = result.location!;
  expect(`${location.origin}${location.pathname}`).toBe(redirectTo.replace(/\?.*$/, ""));
  expect(location.searchParams.get("type")).toBe(type);
  expect(location.searchParams.has("error")).toBe(false);
  const refreshToken = location.searchParams.get("refreshToken");
  expect(refreshToken).toMatch(/^[0-9a-f-]{36}$/);
  return refreshToken!;
}

/** A failed redirect: back to `redirectTo` with `error` and `errorDescription`, no token. */
function expectErrorRedirect(result: { status: number; location: URL | null }, redirectTo: string, error: string) {
  expect(result.status).toBe(302);
  const location = result.location!;
  expect(`${location.origin}${location.pathname}`).toBe(redirectTo);
  expect(location.searchParams.get("error")).toBe(error);
  expect(location.searchParams.get("errorDescription")?.length).toBeGreaterThan(0);
  expect(location.searchParams.has("refreshToken")).toBe(false);
}

/** Proves the refresh token signs in: `POST /token` answers a session for the user. */
async function refreshed(refreshToken: string) {
  const response = await api("/token", { body: { refreshToken } });
  expect(response.status, response.text).toBe(200);
  expect(typeof response.json.accessToken).toBe("string");
  return response.json as { accessToken: string; refreshToken: string; user: any };
}

function expectError(response: { status: number; json: any; text?: string }, status: number, error: string) {
  expect(response.status, response.text ?? JSON.stringify(response.json)).toBe(status);
  expect(response.json).toMatchObject({ status, error });
  expect(typeof response.json.message).toBe("string");
}

async function userRow(email: string) {
  return env.DB.prepare("SELECT id, email, email_verified AS emailVerified FROM users WHERE realm = ? AND email = ?")
    .bind(DEFAULT_REALM, email.toLowerCase())
    .first<{ id: string; email: string; emailVerified: number }>();
}

/** A code guaranteed to differ from `code`, with the same number of digits. */
function wrongCode(code: string, offset: number): string {
  return String((Number(code) + offset) % 1_000_000).padStart(code.length, "0");
}

/** Asks for an email code and waits until its mail has been sent. */
async function requestOtp(email: string, settings?: Record<string, string>) {
  const response = await call("/signin/otp/email", { body: { email }, settings });
  expect(response.status, response.text).toBe(200);
  expect(response.json).toBe("OK");
}

// ---------------------------------------------------------------------------

describe("sign-up with REQUIRE_VERIFIED_EMAIL=true", () => {
  const settings = { REQUIRE_VERIFIED_EMAIL: "true" };

  it("answers no session, mails a link that verifies the address and signs in; password sign-in works only after", async () => {
    const email = uniqueEmail("verify-signup");
    const signedUp = await call("/signup/email-password", {
      body: { email, password: GOOD_PASSWORD, options: { redirectTo: APP_REDIRECT } },
      settings,
    });
    expect(signedUp.status, signedUp.text).toBe(200);
    expect(signedUp.json).toEqual({ session: null });

    expectError(await call("/signin/email-password", { body: { email, password: GOOD_PASSWORD }, settings }), 401, "unverified-user");

    const mail = await waitForMail(email);
    expect(mail.subject).toBe("Verify your email");
    const link = linkOf(mail);
    expect(link.searchParams.get("type")).toBe("emailVerify");
    expect(link.searchParams.get("redirectTo")).toBe(APP_REDIRECT);
    expect(ticketOf(mail)).toMatch(/^verifyEmail:/);

    const refreshToken = expectSignedInRedirect(await follow(link), APP_REDIRECT, "emailVerify");
    const session = await refreshed(refreshToken);
    expect(session.user).toMatchObject({ email, emailVerified: true });
    const me = await api("/user", { token: session.accessToken });
    expect(me.status).toBe(200);
    expect(me.json.emailVerified).toBe(true);

    const signedIn = await call("/signin/email-password", { body: { email, password: GOOD_PASSWORD }, settings });
    expect(signedIn.status, signedIn.text).toBe(200);
    expect(signedIn.json.session.user.emailVerified).toBe(true);
  });

  it("without redirectTo the link lands on CLIENT_URL", async () => {
    const email = uniqueEmail("verify-default");
    expect((await call("/signup/email-password", { body: { email, password: GOOD_PASSWORD }, settings })).status).toBe(200);
    const link = linkOf(await waitForMail(email));
    expect(link.searchParams.get("redirectTo")).toBe("https://app.example.com");
    const result = await follow(link);
    expectSignedInRedirect(result, "https://app.example.com/", "emailVerify");
  });
});

describe("POST /user/email/send-verification-email", () => {
  it("mails an unverified user a link that verifies the address", async () => {
    const { email, session } = await signUp(uniqueEmail("send-verify"));
    expect(session.user.emailVerified).toBe(false);
    const response = await api("/user/email/send-verification-email", { body: { email, options: { redirectTo: APP_REDIRECT } } });
    expect(response.status, response.text).toBe(200);
    expect(response.json).toBe("OK");

    const mail = await waitForMail(email);
    const refreshToken = expectSignedInRedirect(await follow(linkOf(mail)), APP_REDIRECT, "emailVerify");
    const after = await refreshed(refreshToken);
    expect(after.user.id).toBe(session.user.id);
    expect((await api("/user", { token: session.accessToken })).json.emailVerified).toBe(true);
  });

  it("a verified user: email-already-verified with ENUMERATION_PROTECTION=false; concealed by default (OK, no mail)", async () => {
    const { email } = await signUp(uniqueEmail("already-verified"));
    expect((await call("/user/email/send-verification-email", { body: { email } })).status).toBe(200);
    await follow(linkOf(await waitForMail(email)));
    expect((await userRow(email))!.emailVerified).toBe(1);
    const before = (await mailsTo(email)).length;

    expectError(
      await call("/user/email/send-verification-email", { body: { email }, settings: { ENUMERATION_PROTECTION: "false" } }),
      400,
      "email-already-verified",
    );
    const concealed = await call("/user/email/send-verification-email", { body: { email } });
    expect(concealed.status).toBe(200);
    expect(concealed.json).toBe("OK");
    expect((await mailsTo(email)).length).toBe(before);
  });
});

describe("unknown addresses with ENUMERATION_PROTECTION=false", () => {
  it.each(["/user/email/send-verification-email", "/user/password/reset"])("%s answers invalid-request, as Nhost does", async (path) => {
    const email = uniqueEmail("unknown-open");
    expectError(await call(path, { body: { email }, settings: { ENUMERATION_PROTECTION: "false" } }), 400, "invalid-request");
    expect(await mailsTo(email)).toHaveLength(0);
  });
});

describe("password reset", () => {
  it("mails a link that signs the user in; the app then sets the password and every session ends, the link's too", async () => {
    const { email, session: first } = await signUp(uniqueEmail("reset-link"));
    const second = (await signIn(email)).json.session;
    const response = await api("/user/password/reset", { body: { email, options: { redirectTo: APP_REDIRECT } } });
    expect(response.status, response.text).toBe(200);
    expect(response.json).toBe("OK");

    const mail = await waitForMail(email);
    expect(mail.subject).toBe("Reset your password");
    expect(ticketOf(mail)).toMatch(/^passwordReset:/);
    const refreshToken = expectSignedInRedirect(await follow(linkOf(mail)), APP_REDIRECT, "passwordReset");
    const linkSession = await refreshed(refreshToken);
    expect(linkSession.user.id).toBe(first.user.id);
    // Following the link proved control of the address.
    expect(linkSession.user.emailVerified).toBe(true);

    const changed = await api("/user/password", { token: linkSession.accessToken, body: { newPassword: NEW_PASSWORD } });
    expect(changed.status, changed.text).toBe(200);
    // The latest spec: a password change revokes all of the user's sessions.
    for (const old of [first.refreshToken, second.refreshToken, linkSession.refreshToken]) {
      expectError(await api("/token", { body: { refreshToken: old } }), 401, "invalid-refresh-token");
    }
    expectError(await signIn(email, GOOD_PASSWORD), 401, "invalid-email-password");
    expect((await signIn(email, NEW_PASSWORD)).status).toBe(200);
  });

  it("the ticket sets the password at POST /user/password: every session ends, old password fails, new works, once", async () => {
    const { email, session: first } = await signUp(uniqueEmail("reset-ticket"));
    const second = (await signIn(email)).json.session;
    expect((await api("/user/password/reset", { body: { email } })).status).toBe(200);
    const ticket = ticketOf(await waitForMail(email));

    const changed = await api("/user/password", { body: { newPassword: NEW_PASSWORD, ticket } });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.json).toBe("OK");

    for (const old of [first.refreshToken, second.refreshToken]) {
      expectError(await api("/token", { body: { refreshToken: old } }), 401, "invalid-refresh-token");
    }
    expectError(await signIn(email, GOOD_PASSWORD), 401, "invalid-email-password");
    expect((await signIn(email, NEW_PASSWORD)).status).toBe(200);

    // Single use, at the API as at the link.
    expectError(await api("/user/password", { body: { newPassword: GOOD_PASSWORD, ticket } }), 401, "invalid-ticket");
    expect((await signIn(email, NEW_PASSWORD)).status).toBe(200);
  });

  it("a too-short new password is refused and leaves the ticket usable", async () => {
    const { email } = await signUp(uniqueEmail("reset-short"));
    expect((await api("/user/password/reset", { body: { email } })).status).toBe(200);
    const ticket = ticketOf(await waitForMail(email));
    expectError(await api("/user/password", { body: { newPassword: "short", ticket } }), 400, "password-too-short");
    expect((await api("/user/password", { body: { newPassword: NEW_PASSWORD, ticket } })).status).toBe(200);
  });
});

describe("POST /user/email/change", () => {
  it("mails the NEW address; its link switches the email and signs in", async () => {
    const { email: oldEmail, session } = await signUp(uniqueEmail("change-old"));
    const newEmail = uniqueEmail("change-new");
    const response = await api("/user/email/change", {
      token: session.accessToken,
      body: { newEmail, options: { redirectTo: APP_REDIRECT } },
    });
    expect(response.status, response.text).toBe(200);
    expect(response.json).toBe("OK");

    const mail = await waitForMail(newEmail);
    expect(await mailsTo(oldEmail)).toHaveLength(0);
    expect(mail.text).toContain(newEmail);
    expect(ticketOf(mail)).toMatch(/^emailConfirmChange:/);
    // Nothing changes until the new address confirms.
    expect((await api("/user", { token: session.accessToken })).json.email).toBe(oldEmail);

    const refreshToken = expectSignedInRedirect(await follow(linkOf(mail)), APP_REDIRECT, "emailConfirmChange");
    const after = await refreshed(refreshToken);
    expect(after.user).toMatchObject({ id: session.user.id, email: newEmail, emailVerified: true });
    expect((await signIn(newEmail)).status).toBe(200);
    expectError(await signIn(oldEmail), 401, "invalid-email-password");
  });

  it("user-already-exists when the new address is taken, at the request and at the link", async () => {
    const { session } = await signUp(uniqueEmail("change-taken"));
    const { email: taken } = await signUp(uniqueEmail("change-owner"));
    expectError(
      await call("/user/email/change", { token: session.accessToken, body: { newEmail: taken } }),
      409,
      "user-already-exists",
    );
    expect((await mailsTo(taken)).length).toBe(0);

    // Taken between the mail and the click: the link reports it, the email stays.
    const newEmail = uniqueEmail("change-race");
    expect((await api("/user/email/change", { token: session.accessToken, body: { newEmail, options: { redirectTo: APP_REDIRECT } } })).status).toBe(200);
    const mail = await waitForMail(newEmail);
    await signUp(newEmail);
    const raced = await follow(linkOf(mail));
    expectErrorRedirect(raced, APP_REDIRECT, "user-already-exists");
    expect(raced.location!.searchParams.get("errorDescription")).toBe("User already exists");
    expect((await api("/user", { token: session.accessToken })).json.email).not.toBe(newEmail);
  });

  it("needs a bearer token", async () => {
    expectError(await api("/user/email/change", { body: { newEmail: uniqueEmail() } }), 401, "unauthenticated-user");
  });
});

describe("magic link: POST /signin/passwordless/email", () => {
  it("signs a known user in", async () => {
    const { email, session } = await signUp(uniqueEmail("magic-known"));
    const response = await api("/signin/passwordless/email", { body: { email, options: { redirectTo: APP_REDIRECT } } });
    expect(response.status, response.text).toBe(200);
    expect(response.json).toBe("OK");
    const mail = await waitForMail(email);
    expect(mail.subject).toBe("Your sign-in link");
    const refreshToken = expectSignedInRedirect(await follow(linkOf(mail)), APP_REDIRECT, "signinPasswordless");
    const after = await refreshed(refreshToken);
    expect(after.user).toMatchObject({ id: session.user.id, emailVerified: true });
  });

  it("creates the account for an unknown email, verified once the link is followed", async () => {
    const email = uniqueEmail("magic-new");
    const response = await api("/signin/passwordless/email", {
      body: { email, options: { displayName: "Grace", redirectTo: APP_REDIRECT } },
    });
    expect(response.status).toBe(200);
    const mail = await waitForMail(email);
    const created = await userRow(email);
    expect(created).not.toBeNull();
    expect(created!.emailVerified).toBe(0);

    const refreshToken = expectSignedInRedirect(await follow(linkOf(mail)), APP_REDIRECT, "signinPasswordless");
    const after = await refreshed(refreshToken);
    expect(after.user).toMatchObject({ id: created!.id, email, displayName: "Grace", emailVerified: true });
    expect((await api("/user", { token: after.accessToken })).json.emailVerified).toBe(true);
  });

  it("SIGNUP_DISABLED and an unknown email: concealed (OK, no account, no mail); signup-disabled when not concealed", async () => {
    const email = uniqueEmail("magic-disabled");
    const concealed = await call("/signin/passwordless/email", { body: { email }, settings: { SIGNUP_DISABLED: "true" } });
    expect(concealed.status).toBe(200);
    expect(concealed.json).toBe("OK");
    expect(await userRow(email)).toBeNull();
    expect(await mailsTo(email)).toHaveLength(0);

    expectError(
      await call("/signin/passwordless/email", { body: { email }, settings: { SIGNUP_DISABLED: "true", ENUMERATION_PROTECTION: "false" } }),
      403,
      "signup-disabled",
    );
    expect(await userRow(email)).toBeNull();
  });

  it("SIGNUP_DISABLED still lets a known user in", async () => {
    const { email } = await signUp(uniqueEmail("magic-disabled-known"));
    expect((await call("/signin/passwordless/email", { body: { email }, settings: { SIGNUP_DISABLED: "true" } })).status).toBe(200);
    expectSignedInRedirect(await follow(linkOf(await waitForMail(email))), "https://app.example.com/", "signinPasswordless");
  });
});

describe("email OTP: POST /signin/otp/email and /signin/otp/email/verify", () => {
  it("the mailed 6-digit code gives a session, once; a wrong code is invalid-otp", async () => {
    const email = uniqueEmail("otp");
    const response = await api("/signin/otp/email", { body: { email } });
    expect(response.status, response.text).toBe(200);
    expect(response.json).toBe("OK");
    const code = codeOf(await waitForMail(email));

    expectError(await api("/signin/otp/email/verify", { body: { email, otp: wrongCode(code, 1) } }), 400, "invalid-otp");
    const verified = await api("/signin/otp/email/verify", { body: { email, otp: code } });
    expect(verified.status, verified.text).toBe(200);
    expect(verified.json.session.user).toMatchObject({ email, emailVerified: true });
    await refreshed(verified.json.session.refreshToken);

    expectError(await api("/signin/otp/email/verify", { body: { email, otp: code } }), 400, "invalid-otp");
  });

  it("the code store keeps a keyed digest of the code, not the code or its bare SHA-256", async () => {
    const email = uniqueEmail("otp-digest");
    await requestOtp(email);
    const code = codeOf(await waitForMail(email))!;
    const store = env.ONE_TIME_CODES.get(env.ONE_TIME_CODES.idFromName(`${DEFAULT_REALM}:email:${email}`));
    const stored = await runInDurableObject(store, (_instance, state) => state.storage.kv.get<{ codeHash: string }>("code"));
    expect(stored!.codeHash).toBe(await oneTimeCodeDigest(env.REFRESH_TOKEN_SECRET!, email, code));
    expect(stored!.codeHash).not.toBe(await sha256Hex(code));
    expect(JSON.stringify(stored)).not.toContain(code);
  });

  it("a known user gets a code that signs into the same account", async () => {
    const { email, session } = await signUp(uniqueEmail("otp-known"));
    await requestOtp(email);
    const verified = await api("/signin/otp/email/verify", { body: { email, otp: codeOf(await waitForMail(email)) } });
    expect(verified.status).toBe(200);
    expect(verified.json.session.user.id).toBe(session.user.id);
  });

  it("a newer code replaces the older one", async () => {
    const email = uniqueEmail("otp-newer");
    await requestOtp(email);
    const olderMail = await waitForMail(email);
    const older = codeOf(olderMail);
    await requestOtp(email);
    const newer = codeOf(await nextMail(email, [olderMail]));
    if (older !== newer) {
      expectError(await api("/signin/otp/email/verify", { body: { email, otp: older } }), 400, "invalid-otp");
    }
    expect((await api("/signin/otp/email/verify", { body: { email, otp: newer } })).status).toBe(200);
  });

  it("a code for one address does not work for another", async () => {
    const [a, b] = [uniqueEmail("otp-a"), uniqueEmail("otp-b")];
    await requestOtp(a);
    await requestOtp(b);
    const codeA = codeOf(await waitForMail(a));
    const codeB = codeOf(await waitForMail(b));
    if (codeA !== codeB) expectError(await api("/signin/otp/email/verify", { body: { email: b, otp: codeA } }), 400, "invalid-otp");
    expect((await api("/signin/otp/email/verify", { body: { email: a, otp: codeA } })).status).toBe(200);
  });

  it("verifying with no code issued is invalid-otp", async () => {
    expectError(await api("/signin/otp/email/verify", { body: { email: uniqueEmail("otp-none"), otp: "123456" } }), 400, "invalid-otp");
  });
});

describe(`email OTP attempt cap (OTP_MAX_ATTEMPTS=${OTP_MAX_ATTEMPTS_DEFAULT}) under concurrent guesses`, () => {
  /** Wrong guesses answer `invalid-otp`, and the one that spends the last attempt `otp-too-many-attempts`; returns how many did. */
  async function guessConcurrently(email: string, code: string, wrongGuesses: number): Promise<number> {
    const answers = await Promise.all(
      Array.from({ length: wrongGuesses }, (_, i) => api("/signin/otp/email/verify", { body: { email, otp: wrongCode(code, i + 1) } })),
    );
    for (const answer of answers) expect(["invalid-otp", "otp-too-many-attempts"]).toContain(answer.json?.error);
    for (const answer of answers) expect(answer.status).toBe(400);
    return answers.filter((answer) => answer.json.error === "otp-too-many-attempts").length;
  }

  it("20 concurrent wrong guesses: the address's attempt limit lets exactly 10 be checked, the code dies, the right one is then refused", async () => {
    const email = uniqueEmail("otp-cap-20");
    await requestOtp(email);
    const code = codeOf(await waitForMail(email));
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => api("/signin/otp/email/verify", { body: { email, otp: wrongCode(code, i + 1) } })),
    );
    const checked = answers.filter((answer) => answer.status === 400);
    const limited = answers.filter((answer) => answer.status === 429);
    expect(checked).toHaveLength(RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT);
    // The code takes OTP_MAX_ATTEMPTS guesses: the last of them and every later one are told to ask for a new code.
    expect(checked.filter((answer) => answer.json.error === "invalid-otp")).toHaveLength(OTP_MAX_ATTEMPTS_DEFAULT - 1);
    for (const answer of checked) if (answer.json.error !== "invalid-otp") expectError(answer, 400, "otp-too-many-attempts");
    for (const answer of limited) expectError(answer, 429, "too-many-requests");
    expect(limited).toHaveLength(20 - RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT);
    expectError(await api("/signin/otp/email/verify", { body: { email, otp: code } }), 429, "too-many-requests");
  });

  it(`exactly ${OTP_MAX_ATTEMPTS_DEFAULT} concurrent wrong guesses kill the code`, async () => {
    const email = uniqueEmail("otp-cap-5");
    await requestOtp(email);
    const code = codeOf(await waitForMail(email));
    expect(await guessConcurrently(email, code, OTP_MAX_ATTEMPTS_DEFAULT)).toBe(1);
    const refused = await api("/signin/otp/email/verify", { body: { email, otp: code } });
    expect(refused.json).toEqual({ status: 400, error: "otp-too-many-attempts", message: "Too many incorrect attempts, please request a new OTP" });
  });

  it(`${OTP_MAX_ATTEMPTS_DEFAULT - 1} concurrent wrong guesses leave the last attempt to the right code`, async () => {
    const email = uniqueEmail("otp-cap-4");
    await requestOtp(email);
    const code = codeOf(await waitForMail(email));
    expect(await guessConcurrently(email, code, OTP_MAX_ATTEMPTS_DEFAULT - 1)).toBe(0);
    const verified = await api("/signin/otp/email/verify", { body: { email, otp: code } });
    expect(verified.status, verified.text).toBe(200);
  });

  it("the right code among 20 concurrent guesses wins at most once, and only within the first attempts", async () => {
    const email = uniqueEmail("otp-cap-mixed");
    await requestOtp(email);
    const code = codeOf(await waitForMail(email));
    const guesses = Array.from({ length: 20 }, (_, i) => (i === 10 || i === 15 ? code : wrongCode(code, i + 1)));
    const answers = await Promise.all(guesses.map((otp) => api("/signin/otp/email/verify", { body: { email, otp } })));
    expect(answers.filter((answer) => answer.status === 200).length).toBeLessThanOrEqual(1);
    for (const answer of answers) {
      if (answer.status === 429) expectError(answer, 429, "too-many-requests");
      else if (answer.status !== 200) expect(["invalid-otp", "otp-too-many-attempts"]).toContain(answer.json.error);
    }
  });

  it("asking for a new code does not restore guesses: the address's budget carries over to it", async () => {
    const email = uniqueEmail("otp-cap-reissue");
    await requestOtp(email);
    const firstMail = await waitForMail(email);
    await guessConcurrently(email, codeOf(firstMail), OTP_MAX_ATTEMPTS_DEFAULT);
    await requestOtp(email);
    const second = codeOf(await nextMail(email, [firstMail]));
    // The right code of the new mail: no guess is left for it.
    expectError(await api("/signin/otp/email/verify", { body: { email, otp: second } }), 400, "otp-too-many-attempts");
  });

  it("the budget refills once the code that opened it has expired (frozen clock)", async () => {
    const email = uniqueEmail("otp-cap-refill");
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Date.now();
    vi.setSystemTime(t0);
    await requestOtp(email);
    const firstMail = await waitForMail(email);
    await guessConcurrently(email, codeOf(firstMail), OTP_MAX_ATTEMPTS_DEFAULT - 1);
    // Four guesses spent: a code asked for before the first one expires keeps one guess.
    vi.setSystemTime(t0 + 60_000);
    await requestOtp(email);
    const secondMail = await nextMail(email, [firstMail]);
    expect(await guessConcurrently(email, codeOf(secondMail), 1)).toBe(1);
    expectError(await api("/signin/otp/email/verify", { body: { email, otp: codeOf(secondMail) } }), 400, "otp-too-many-attempts");
    // After the first code's expiry, a new code has a full budget again.
    vi.setSystemTime(t0 + EMAIL_OTP_TTL_SECONDS_DEFAULT * 1000 + 1000);
    await requestOtp(email);
    const thirdMail = await nextMail(email, [firstMail, secondMail]);
    const verified = await api("/signin/otp/email/verify", { body: { email, otp: codeOf(thirdMail) } });
    expect(verified.status, verified.text).toBe(200);
  });
});

describe("tickets: single use, expiry (frozen clock), purpose", () => {
  it("a second click on a link is invalid-ticket", async () => {
    const { email } = await signUp(uniqueEmail("reuse"));
    expect((await api("/signin/passwordless/email", { body: { email, options: { redirectTo: APP_REDIRECT } } })).status).toBe(200);
    const link = linkOf(await waitForMail(email));
    expectSignedInRedirect(await follow(link), APP_REDIRECT, "signinPasswordless");
    expectErrorRedirect(await follow(link), APP_REDIRECT, "invalid-ticket");
  });

  it("two concurrent clicks: exactly one signs in", async () => {
    const { email } = await signUp(uniqueEmail("reuse-race"));
    expect((await api("/user/password/reset", { body: { email, options: { redirectTo: APP_REDIRECT } } })).status).toBe(200);
    const link = linkOf(await waitForMail(email));
    const results = await Promise.all(Array.from({ length: 5 }, () => follow(link)));
    const signedIn = results.filter((result) => result.location?.searchParams.has("refreshToken"));
    expect(signedIn).toHaveLength(1);
    for (const result of results) if (!result.location?.searchParams.has("refreshToken")) expectErrorRedirect(result, APP_REDIRECT, "invalid-ticket");
  });

  it(`a reset link works until PASSWORD_RESET_TTL (${PASSWORD_RESET_TTL_SECONDS_DEFAULT} s) and not after`, async () => {
    // Two accounts: a newer reset link voids the older one of the same account.
    const { email: early } = await signUp(uniqueEmail("reset-expiry-early"));
    const { email: late } = await signUp(uniqueEmail("reset-expiry-late"));
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Date.now();
    vi.setSystemTime(t0);
    expect((await call("/user/password/reset", { body: { email: early, options: { redirectTo: APP_REDIRECT } } })).status).toBe(200);
    expect((await call("/user/password/reset", { body: { email: late, options: { redirectTo: APP_REDIRECT } } })).status).toBe(200);
    const earlyLink = linkOf(await waitForMail(early));
    const lateLink = linkOf(await waitForMail(late));

    vi.setSystemTime(t0 + PASSWORD_RESET_TTL_SECONDS_DEFAULT * 1000 - 1000);
    expectSignedInRedirect(await follow(earlyLink), APP_REDIRECT, "passwordReset");
    vi.setSystemTime(t0 + PASSWORD_RESET_TTL_SECONDS_DEFAULT * 1000 + 1000);
    expectErrorRedirect(await follow(lateLink), APP_REDIRECT, "invalid-ticket");
    // The expired ticket is refused at POST /user/password too.
    expectError(await api("/user/password", { body: { newPassword: NEW_PASSWORD, ticket: lateLink.searchParams.get("ticket") } }), 401, "invalid-ticket");
  });

  it(`a magic link expires after MAGIC_LINK_TTL (${MAGIC_LINK_TTL_SECONDS_DEFAULT} s)`, async () => {
    const email = uniqueEmail("magic-expiry");
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Date.now();
    vi.setSystemTime(t0);
    expect((await call("/signin/passwordless/email", { body: { email, options: { redirectTo: APP_REDIRECT } } })).status).toBe(200);
    const link = linkOf(await waitForMail(email));
    vi.setSystemTime(t0 + MAGIC_LINK_TTL_SECONDS_DEFAULT * 1000 + 1000);
    expectErrorRedirect(await follow(link), APP_REDIRECT, "invalid-ticket");
    // The account exists but was never verified.
    expect((await userRow(email))!.emailVerified).toBe(0);
  });

  it(`an email code expires after EMAIL_OTP_TTL (${EMAIL_OTP_TTL_SECONDS_DEFAULT} s)`, async () => {
    const email = uniqueEmail("otp-expiry");
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Date.now();
    vi.setSystemTime(t0);
    await requestOtp(email);
    const code = codeOf(await waitForMail(email));
    vi.setSystemTime(t0 + EMAIL_OTP_TTL_SECONDS_DEFAULT * 1000 + 1000);
    expectError(await api("/signin/otp/email/verify", { body: { email, otp: code } }), 400, "invalid-otp");
    // Dead for good, even back in time.
    vi.setSystemTime(t0 + 1000);
    expectError(await api("/signin/otp/email/verify", { body: { email, otp: code } }), 400, "invalid-otp");
  });

  it("an email code still works just before its expiry", async () => {
    const email = uniqueEmail("otp-before-expiry");
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Date.now();
    vi.setSystemTime(t0);
    await requestOtp(email);
    const code = codeOf(await waitForMail(email));
    vi.setSystemTime(t0 + EMAIL_OTP_TTL_SECONDS_DEFAULT * 1000 - 1000);
    expect((await api("/signin/otp/email/verify", { body: { email, otp: code } })).status).toBe(200);
  });

  it("a verifyEmail ticket at POST /user/password is invalid-ticket, and stays usable for its purpose", async () => {
    const { email } = await signUp(uniqueEmail("purpose-verify"));
    expect((await api("/user/email/send-verification-email", { body: { email, options: { redirectTo: APP_REDIRECT } } })).status).toBe(200);
    const link = linkOf(await waitForMail(email));
    const ticket = link.searchParams.get("ticket")!;
    expectError(await api("/user/password", { body: { newPassword: NEW_PASSWORD, ticket } }), 401, "invalid-ticket");
    expectError(await signIn(email, NEW_PASSWORD), 401, "invalid-email-password");
    expectSignedInRedirect(await follow(link), APP_REDIRECT, "emailVerify");
  });

  it("a magic-link ticket at POST /user/password is invalid-ticket", async () => {
    const { email } = await signUp(uniqueEmail("purpose-magic"));
    expect((await api("/signin/passwordless/email", { body: { email } })).status).toBe(200);
    const ticket = ticketOf(await waitForMail(email));
    expectError(await api("/user/password", { body: { newPassword: NEW_PASSWORD, ticket } }), 401, "invalid-ticket");
  });

  it("a passwordReset ticket relabelled as another purpose is invalid-ticket, and the label in `type` does not matter", async () => {
    const { email } = await signUp(uniqueEmail("purpose-relabel"));
    expect((await api("/user/password/reset", { body: { email, options: { redirectTo: APP_REDIRECT } } })).status).toBe(200);
    const link = linkOf(await waitForMail(email));
    const ticket = link.searchParams.get("ticket")!;
    const uuid = ticket.slice("passwordReset:".length);
    for (const purpose of ["verifyEmail", "signinPasswordless", "emailConfirmChange", "mfaTotp", ""]) {
      const forged = new URL(link);
      forged.searchParams.set("ticket", `${purpose}:${uuid}`);
      expectErrorRedirect(await follow(forged), APP_REDIRECT, "invalid-ticket");
    }
    const bare = new URL(link);
    bare.searchParams.set("ticket", uuid);
    expectErrorRedirect(await follow(bare), APP_REDIRECT, "invalid-ticket");
    // Still valid afterwards: nothing above consumed it.
    expectSignedInRedirect(await follow(link), APP_REDIRECT, "passwordReset");
  });

  it("a stored ticket is bound to its purpose: a row whose purpose differs from its label is refused", async () => {
    const { session } = await signUp(uniqueEmail("purpose-row"));
    // A ticket labelled passwordReset but stored as verifyEmail: the purpose column decides.
    const ticket = `passwordReset:${crypto.randomUUID()}`;
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(ticket)));
    const hash = [...digest].map((byte) => byte.toString(16).padStart(2, "0")).join("");
    await env.DB.prepare(
      "INSERT INTO tickets (ticket_hash, realm, user_id, purpose, payload, redirect_to, created_at, expires_at) VALUES (?, ?, ?, 'verifyEmail', NULL, NULL, ?, ?)",
    )
      .bind(hash, DEFAULT_REALM, session.user.id, Date.now(), Date.now() + 3_600_000)
      .run();
    expectError(await api("/user/password", { body: { newPassword: NEW_PASSWORD, ticket } }), 401, "invalid-ticket");
    const link = new URL("http://localhost/verify");
    link.searchParams.set("ticket", ticket);
    link.searchParams.set("redirectTo", APP_REDIRECT);
    expectErrorRedirect(await follow(link), APP_REDIRECT, "invalid-ticket");
  });

  it("unknown, empty and oversized tickets redirect with invalid-ticket", async () => {
    for (const ticket of ["", "nonsense", `verifyEmail:${crypto.randomUUID()}`, `passwordReset:${"x".repeat(600)}`]) {
      const link = new URL("http://localhost/verify");
      link.searchParams.set("ticket", ticket);
      link.searchParams.set("redirectTo", APP_REDIRECT);
      expectErrorRedirect(await follow(link), APP_REDIRECT, "invalid-ticket");
    }
    const noTicket = await follow(`http://localhost/verify?redirectTo=${encodeURIComponent(APP_REDIRECT)}`);
    expectErrorRedirect(noTicket, APP_REDIRECT, "invalid-ticket");
  });

  it("keeps the query string of redirectTo", async () => {
    const { email } = await signUp(uniqueEmail("redirect-query"));
    const redirectTo = "https://app.example.com/auth/done?next=%2Fsettings";
    expect((await api("/signin/passwordless/email", { body: { email, options: { redirectTo } } })).status).toBe(200);
    const result = await follow(linkOf(await waitForMail(email)));
    expectSignedInRedirect(result, redirectTo, "signinPasswordless");
    expect(result.location!.searchParams.get("next")).toBe("/settings");
  });
});

describe("redirectTo allow-list bypass attempts", () => {
  const BYPASSES = [
    "https://app.example.com.evil.com",
    "https://app.example.com.evil.com/auth",
    "//evil.com",
    "//app.example.com",
    "javascript:alert(1)",
    "JavaScript://app.example.com/%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https://app.example.com@evil.com",
    "https://user:pass@app.example.com/auth",
    "https://evil.com/?x=https://app.example.com",
    "https://evil.com#https://app.example.com",
    "http://app.example.com",
    "https://app.example.com:8443",
    "http://localhost:3001",
    "http://localhost:3000.evil.com",
    "/relative/path",
    "https://evil.com\\@app.example.com",
    "not a url",
  ];

  async function routesFor(email: string) {
    return [
      ["/user/password/reset", { email }],
      ["/signin/passwordless/email", { email }],
      ["/user/email/send-verification-email", { email }],
    ] as const;
  }

  it.each(BYPASSES)("%s → 400 redirectTo-not-allowed and no mail", async (redirectTo) => {
    const { email } = await signUp(uniqueEmail("bypass"));
    for (const [path, body] of await routesFor(email)) {
      expectError(await call(path, { body: { ...body, options: { redirectTo } } }), 400, "redirectTo-not-allowed");
    }
    expectError(await call("/signin/otp/email", { body: { email, options: { redirectTo } } }), 400, "redirectTo-not-allowed");
    expect(await mailsTo(email)).toHaveLength(0);
  });

  it("the allowed prefixes pass: CLIENT_URL, ALLOWED_REDIRECT_URLS on a path-segment boundary", async () => {
    const { email } = await signUp(uniqueEmail("allowed"));
    for (const redirectTo of ["https://app.example.com", "https://app.example.com/anything", "https://app.example.com/auth/x", "http://localhost:3000/cb"]) {
      expect((await call("/user/password/reset", { body: { email, options: { redirectTo } } })).status, redirectTo).toBe(200);
    }
    expect(await mailsTo(email)).toHaveLength(4);
  });

  it("ALLOWED_REDIRECT_URLS paths are segment prefixes: /auth does not allow /authority", async () => {
    const settings = { CLIENT_URL: "https://portal.example.org", ALLOWED_REDIRECT_URLS: "https://app.example.com/auth" };
    const { email } = await signUp(uniqueEmail("segment"));
    expectError(
      await call("/user/password/reset", { body: { email, options: { redirectTo: "https://app.example.com/authority" } }, settings }),
      400,
      "redirectTo-not-allowed",
    );
    expectError(
      await call("/user/password/reset", { body: { email, options: { redirectTo: "https://app.example.com/" } }, settings }),
      400,
      "redirectTo-not-allowed",
    );
    expect((await call("/user/password/reset", { body: { email, options: { redirectTo: "https://app.example.com/auth/cb" } }, settings })).status).toBe(200);
  });

  it.each(BYPASSES)(
    "GET /verify with redirectTo=%s → 400 JSON, never a redirect, the ticket left unused",
    async (redirectTo) => {
      const { email } = await signUp(uniqueEmail("verify-bypass"));
      expect((await api("/signin/passwordless/email", { body: { email, options: { redirectTo: APP_REDIRECT } } })).status).toBe(200);
      const link = linkOf(await waitForMail(email));
      const tampered = new URL(link);
      tampered.searchParams.set("redirectTo", redirectTo);
      const response = await workerFetch(tampered.toString(), { redirect: "manual" });
      expect(response.status).toBe(400);
      expect(response.headers.get("location")).toBeNull();
      expect(response.headers.get("content-type")).toContain("application/json");
      expect(await response.json()).toMatchObject({ status: 400, error: "redirectTo-not-allowed" });
      expectSignedInRedirect(await follow(link), APP_REDIRECT, "signinPasswordless");
    },
  );

  it("GET /verify with a bad redirectTo and a bad ticket is still a 400, not a redirect", async () => {
    const response = await follow(`http://localhost/verify?ticket=nonsense&redirectTo=${encodeURIComponent("https://evil.com")}`);
    expect(response.status).toBe(400);
    expect(response.location).toBeNull();
    expect(response.json).toMatchObject({ error: "redirectTo-not-allowed" });
  });
});

describe("no account enumeration", () => {
  const requests: [string, (email: string) => unknown][] = [
    ["/user/password/reset", (email) => ({ email, options: { redirectTo: APP_REDIRECT } })],
    ["/signin/passwordless/email", (email) => ({ email, options: { redirectTo: APP_REDIRECT } })],
    ["/signin/otp/email", (email) => ({ email })],
    ["/user/email/send-verification-email", (email) => ({ email, options: { redirectTo: APP_REDIRECT } })],
  ];

  function comparable(reply: Reply) {
    return { status: reply.status, text: reply.text, headers: [...reply.headers.entries()].filter(([name]) => name !== "date") };
  }

  it.each(requests)("%s answers an existing and an unknown email identically", async (path, body) => {
    const { email: known } = await signUp(uniqueEmail("enum-known"));
    const unknown = uniqueEmail("enum-unknown");
    const a = await call(path, { body: body(known) });
    const b = await call(path, { body: body(unknown) });
    expect(a.status).toBe(200);
    expect(comparable(b)).toEqual(comparable(a));
  });

  it.each(requests)("%s answers identically with SIGNUP_DISABLED (the unknown email gets no account)", async (path, body) => {
    const settings = { SIGNUP_DISABLED: "true" };
    const { email: known } = await signUp(uniqueEmail("enum-known-closed"));
    const unknown = uniqueEmail("enum-unknown-closed");
    const a = await call(path, { body: body(known), settings });
    const b = await call(path, { body: body(unknown), settings });
    expect(a.status).toBe(200);
    expect(comparable(b)).toEqual(comparable(a));
    expect(await userRow(unknown)).toBeNull();
    expect(await mailsTo(unknown)).toHaveLength(0);
  });

  // Timing cannot be asserted here (bench/ measures it); what makes it equal can:
  // the account lookup starts only after the answer has left (lib/after-response.ts).
  it.each([...requests, ["/signin/passwordless/sms", () => ({ phoneNumber: "+15550123456" })] as const])(
    "%s answers before it reads or writes any account",
    async (path, body) => {
      const { email } = await signUp(uniqueEmail("enum-order"));
      const statements: string[] = [];
      const recordingDb = new Proxy(env.DB, {
        get(target, property) {
          if (property === "prepare") {
            return (query: string) => {
              statements.push(query);
              return target.prepare(query);
            };
          }
          const value = Reflect.get(target, property);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      const ctx = createExecutionContext();
      const response = await appFetch(
        new Request(`http://localhost${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body(email)),
        }),
        { ...env, DB: recordingDb } as Env,
        ctx,
      );
      expect(await response.text()).toBe('"OK"');
      const touchesAccounts = (query: string) => /\b(users|tickets)\b/.test(query);
      expect(statements.filter(touchesAccounts)).toEqual([]);
      await waitOnExecutionContext(ctx);
      expect(statements.some(touchesAccounts)).toBe(true);
    },
  );

  it("OTP verify answers the same for an unknown address and a wrong code", async () => {
    const { email } = await signUp(uniqueEmail("enum-otp"));
    await requestOtp(email);
    const code = codeOf(await waitForMail(email));
    const wrong = await call("/signin/otp/email/verify", { body: { email, otp: wrongCode(code, 1) } });
    const unknown = await call("/signin/otp/email/verify", { body: { email: uniqueEmail("enum-otp-unknown"), otp: code } });
    expect(comparable(unknown)).toEqual(comparable(wrong));
  });
});

describe("dev outbox pages", () => {
  // Production needs an https PUBLIC_URL; the test Worker's is a loopback http one.
  const production = { ENVIRONMENT: "production", PUBLIC_URL: "https://auth.example.com", MAIL_TRANSPORT: "none" };

  it("/_dev/outbox and /_dev/mail answer 404 in production", async () => {
    for (const path of ["/_dev/outbox", "/_dev/mail", "/_dev/anything"]) {
      expectError(await call(path, { settings: production }), 404, "not-found");
    }
  });

  it("/_dev/outbox answers 404 to a request for a host that is not loopback, even in development", async () => {
    for (const url of ["https://edgeauth.example.workers.dev/_dev/outbox", "http://auth.example.com/_dev/mail", "http://10.0.0.1/_dev/outbox"]) {
      const response = await workerFetch(url);
      expect(response.status, url).toBe(404);
      expect(await response.json()).toMatchObject({ error: "not-found" });
    }
    expect((await workerFetch("http://127.0.0.1/_dev/outbox")).status).toBe(200);
  });

  it("MAIL_TRANSPORT=dev is refused outside development", async () => {
    const response = await call("/_dev/outbox", { settings: { ...production, MAIL_TRANSPORT: "dev" } });
    expect(response.status).toBe(500);
    expect(response.text).not.toContain("MAIL_TRANSPORT");
  });

  it("production with MAIL_TRANSPORT=none still answers OK and keeps nothing in the outbox", async () => {
    const { email } = await signUp(uniqueEmail("prod-none"));
    const response = await call("/user/password/reset", { body: { email }, settings: production });
    expect(response.status).toBe(200);
    expect(await mailsTo(email)).toHaveLength(0);
  });

  it("/_dev/outbox lists mails newest first with their links", async () => {
    const { email } = await signUp(uniqueEmail("outbox"));
    expect((await call("/user/password/reset", { body: { email } })).status).toBe(200);
    expect((await call("/signin/passwordless/email", { body: { email } })).status).toBe(200);
    const mails = await mailsTo(email);
    expect(mails.map((mail) => mail.subject)).toEqual(["Your sign-in link", "Reset your password"]);
    for (const mail of mails) {
      expect(Object.keys(mail).sort()).toEqual(expect.arrayContaining(["createdAt", "html", "id", "links", "subject", "text", "to"]));
      expect(new Date(mail.createdAt).toISOString()).toBe(mail.createdAt);
      expect(mail.html).toContain("<a href=");
    }
    expect(Date.parse(mails[0]!.createdAt)).toBeGreaterThanOrEqual(Date.parse(mails[1]!.createdAt));
  });

  it("/_dev/mail is an HTML page listing the mails, escaping what they carry", async () => {
    const email = uniqueEmail("devmail");
    const displayName = "<img src=x onerror=y> 'Ada'";
    await signUp(email);
    await setDisplayName(email, displayName);
    expect((await call("/user/email/send-verification-email", { body: { email } })).status).toBe(200);
    const mail = await waitForMail(email);
    const page = await api("/_dev/mail");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.text).toContain(mail.subject);
    expect(page.text).toContain(email);
    expect(page.text).not.toContain("<img src=x");
    expect(page.text).toContain("sandbox");
  });
});

describe("templates", () => {
  it("a French user gets the French mail", async () => {
    const { email } = await signUp(uniqueEmail("fr"), GOOD_PASSWORD, { locale: "fr" });
    expect((await call("/user/email/send-verification-email", { body: { email } })).status).toBe(200);
    const mail = await waitForMail(email);
    expect(mail.subject).toBe("Vérifiez votre adresse e-mail");
    expect(mail.text).toContain("Bonjour");
    expect(mail.html).toContain("Bonjour");
    linkOf(mail);
  });

  it("a locale without templates falls back to English", async () => {
    const settings = { ALLOWED_LOCALES: "en,fr,de" };
    const email = uniqueEmail("de");
    const signedUp = await call("/signup/email-password", { body: { email, password: GOOD_PASSWORD, options: { locale: "de" } }, settings });
    expect(signedUp.status, signedUp.text).toBe(200);
    expect((await call("/user/password/reset", { body: { email }, settings })).status).toBe(200);
    expect((await waitForMail(email)).subject).toBe("Reset your password");
  });

  it("an operator's row in email_templates wins, with subject placeholders and escaping in HTML", async () => {
    await env.DB.prepare("INSERT INTO email_templates (realm, kind, locale, subject, text, html) VALUES (?, 'passwordReset', 'fr', ?, ?, ?)")
      .bind(DEFAULT_REALM, "Operator reset for {{displayName}}", "Custom text {{link}} ({{ttlMinutes}} min)", "<p>Custom {{displayName}}</p><a href=\"{{link}}\">go</a>")
      .run();
    try {
      const displayName = "<img src=x onerror=y> 'Ada'";
      const { email } = await signUp(uniqueEmail("override"), GOOD_PASSWORD, { locale: "fr" });
      await setDisplayName(email, displayName);
      expect((await call("/user/password/reset", { body: { email, options: { redirectTo: APP_REDIRECT } } })).status).toBe(200);
      const mail = await waitForMail(email);
      expect(mail.subject).toBe(`Operator reset for ${displayName}`);
      expect(mail.text).toMatch(/^Custom text http:\/\/localhost\/verify\?\S+ \(60 min\)$/);
      expect(mail.html).toContain("<p>Custom &#60;img src=x onerror=y&#62; &#39;Ada&#39;</p>");
      expect(mail.html).not.toContain("<img");
      // The link still works, and /_dev/mail escapes the operator's subject.
      expectSignedInRedirect(await follow(linkOf(mail)), APP_REDIRECT, "passwordReset");
      const page = await api("/_dev/mail");
      expect(page.text).toContain("Operator reset for &#60;img src=x onerror=y&#62;");
      expect(page.text).not.toContain("<img src=x");
    } finally {
      await env.DB.prepare("DELETE FROM email_templates WHERE realm = ? AND kind = 'passwordReset' AND locale = 'fr'").bind(DEFAULT_REALM).run();
    }
  });

  it("the display name is escaped in the HTML body and kept as written in the text", async () => {
    const displayName = "<img src=x onerror=y> 'Ada'";
    const { email } = await signUp(uniqueEmail("escape"));
    await setDisplayName(email, displayName);
    expect((await call("/signin/passwordless/email", { body: { email } })).status).toBe(200);
    const mail = await waitForMail(email);
    expect(mail.text).toContain(`Hello ${displayName},`);
    expect(mail.html).toContain("Hello &#60;img src=x onerror=y&#62; &#39;Ada&#39;,");
    expect(mail.html).not.toContain("<img");
  });

  it("every kind links to PUBLIC_URL/verify (the OTP mail carries a code and no link)", async () => {
    const { email, session } = await signUp(uniqueEmail("links"));
    const newEmail = uniqueEmail("links-new");
    expect((await call("/user/email/send-verification-email", { body: { email } })).status).toBe(200);
    expect((await call("/user/password/reset", { body: { email } })).status).toBe(200);
    expect((await call("/signin/passwordless/email", { body: { email } })).status).toBe(200);
    expect((await call("/user/email/change", { token: session.accessToken, body: { newEmail } })).status).toBe(200);
    const mails = [...(await mailsTo(email)), ...(await mailsTo(newEmail))];
    expect(mails).toHaveLength(4);
    const types = mails.map((mail) => linkOf(mail).searchParams.get("type")).sort();
    expect(types).toEqual(["emailConfirmChange", "emailVerify", "passwordReset", "signinPasswordless"]);
    for (const mail of mails) {
      for (const link of mail.links) expect(link.startsWith("http://localhost/verify?")).toBe(true);
      expect(mail.html).toContain(`href="${mail.links[0]!.replace(/&/g, "&#38;")}"`);
    }
    const otpEmail = uniqueEmail("links-otp");
    await requestOtp(otpEmail);
    const otp = await waitForMail(otpEmail);
    expect(otp.links).toHaveLength(0);
    expect(otp.html).toContain(codeOf(otp));
  });
});

describe("bad input: 400 invalid-request, never 500", () => {
  const ROUTES = [
    "/user/email/send-verification-email",
    "/user/password/reset",
    "/user/email/change",
    "/signin/passwordless/email",
    "/signin/otp/email",
    "/signin/otp/email/verify",
  ];

  function validBody(route: string) {
    switch (route) {
      case "/user/email/change":
        return { newEmail: "valid-shape@example.com" };
      case "/signin/otp/email/verify":
        return { email: "valid-shape@example.com", otp: "123456" };
      default:
        return { email: "valid-shape@example.com" };
    }
  }

  let token: string;
  async function bearer() {
    token ??= (await signUp(uniqueEmail("bad-input"))).session.accessToken;
    return token;
  }

  it.each(ROUTES)("%s: malformed JSON, no body, non-object bodies, bodies not declared JSON", async (route) => {
    const auth = await bearer();
    for (const body of ["{nope", "", "null", "[]", "1", '"x"', "true", "{\"email\":", "\u0000"]) {
      const response = await call(route, { method: "POST", body, token: auth, headers: { "content-type": "application/json" } });
      expectError(response, 400, "invalid-request");
    }
    const form = await call(route, { body: "email=a%40b.c", token: auth, headers: { "content-type": "application/x-www-form-urlencoded" } });
    expectError(form, 415, "unsupported-media-type");
    const plain = await call(route, { body: JSON.stringify(validBody(route)), token: auth, headers: { "content-type": "text/plain" } });
    expectError(plain, 415, "unsupported-media-type");
  });

  it.each(ROUTES)("%s: unknown fields, wrong types, bad emails", async (route) => {
    const auth = await bearer();
    const valid = validBody(route) as Record<string, unknown>;
    const bodies: unknown[] = [{}, { ...valid, extra: 1 }, { ...valid, options: "x" }, { ...valid, options: { unknown: true } }];
    for (const key of Object.keys(valid)) {
      for (const wrong of [1, null, true, [], {}, [valid[key]], "x".repeat(300)]) bodies.push({ ...valid, [key]: wrong });
    }
    const emailKey = route === "/user/email/change" ? "newEmail" : "email";
    for (const email of ["not-an-email", "a@", "@b.c", `${"x".repeat(250)}@example.com`]) bodies.push({ ...valid, [emailKey]: email });
    if (route !== "/signin/otp/email/verify") {
      for (const redirectTo of [1, null, [], {}, `https://app.example.com/${"x".repeat(2100)}`]) bodies.push({ ...valid, options: { redirectTo } });
    }
    for (const body of bodies) {
      const response = await call(route, { body, token: auth });
      expect(response.status, `${JSON.stringify(body).slice(0, 120)} → ${response.text}`).toBe(400);
      expect(response.json.error).toBe("invalid-request");
    }
  });

  it("POST /user/password with a ticket of the wrong type or shape", async () => {
    for (const ticket of [1, null, true, [], {}, "", "x".repeat(600)]) {
      const response = await call("/user/password", { body: { newPassword: NEW_PASSWORD, ticket } });
      expectError(response, 400, "invalid-request");
    }
    for (const ticket of ["nonsense", `passwordReset:${crypto.randomUUID()}`]) {
      expectError(await call("/user/password", { body: { newPassword: NEW_PASSWORD, ticket } }), 401, "invalid-ticket");
    }
  });

  it("GET /verify with odd query strings never answers 500", async () => {
    for (const query of ["", "?ticket", "?ticket=%FF%FE", "?ticket=a&ticket=b", "?type=passwordReset", `?ticket=${"%00".repeat(100)}`, "?redirectTo="]) {
      const response = await follow(`http://localhost/verify${query}`);
      expect(response.status, query).toBeLessThan(500);
      expect([302, 400]).toContain(response.status);
    }
  });
});
