/**
 * Nhost parity on the routes edgeauth already serves (issue 10, part A), pinned
 * through the public HTTP surface with whole-body comparisons, as Nhost's own
 * service tests compare them: Nhost's message texts, CONCEAL_ERRORS, bodies
 * checked before the bearer token, the locale fallback, `user-already-exists` and
 * `otp-too-many-attempts`, the access-control lists, DISABLE_NEW_USERS, one switch
 * per sign-in method, a password change ending every session, Gravatar avatars.
 * Settings a test changes are the app's bindings for that request (as a realm's
 * or a deployment's `[vars]` would be); the test Worker's own stay as they are.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { OTP_MAX_ATTEMPTS_DEFAULT, parseConfig } from "../src/server/config";
import { errorBody, type ErrorCode } from "../src/server/errors";
import { ADMIN_SECRET, api, appFetch, GOOD_PASSWORD, signUp, uniqueEmail, workerFetch } from "./helpers";

interface Reply {
  status: number;
  headers: Headers;
  json: any;
  text: string;
}

/** Calls the app with `settings` laid over the test Worker's bindings and waits for its background work (mail, SMS). */
async function call(
  path: string,
  options: { method?: string; body?: unknown; token?: string; settings?: Record<string, string> } = {},
): Promise<Reply> {
  const headers = new Headers();
  if (options.body !== undefined) headers.set("content-type", "application/json");
  if (options.token !== undefined) headers.set("authorization", `Bearer ${options.token}`);
  const ctx = createExecutionContext();
  const response = await appFetch(
    new Request(`http://localhost${path}`, {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers,
      body: options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body),
      redirect: "manual",
    }),
    { ...env, ...options.settings } as Env,
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
  return { status: response.status, headers: response.headers, json, text };
}

const NHOST_BODY = {
  invalidRequest: { status: 400, error: "invalid-request", message: "The request payload is incorrect" },
  invalidEmailPassword: { status: 401, error: "invalid-email-password", message: "Incorrect email or password" },
  disabledUser: { status: 401, error: "disabled-user", message: "User is disabled" },
  disabledEndpoint: { status: 409, error: "disabled-endpoint", message: "This endpoint is disabled" },
  userAlreadyExists: { status: 409, error: "user-already-exists", message: "User already exists" },
  otpTooManyAttempts: { status: 400, error: "otp-too-many-attempts", message: "Too many incorrect attempts, please request a new OTP" },
  invalidOtp: { status: 400, error: "invalid-otp", message: "Invalid or expired OTP" },
} as const;

interface OutboxEntry {
  channel: string;
  to: string;
  subject: string;
  text: string;
  links: string[];
}

async function outboxTo(to: string, channel: "email" | "sms"): Promise<OutboxEntry[]> {
  const mails = (await api("/_dev/outbox")).json.mails as OutboxEntry[];
  return mails.filter((mail) => mail.channel === channel && mail.to.toLowerCase() === to.toLowerCase());
}

async function waitForOutbox(to: string, channel: "email" | "sms"): Promise<OutboxEntry> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const found = await outboxTo(to, channel);
    if (found.length > 0) return found[0]!;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`nothing sent to ${to}`);
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function wrongCode(code: string): string {
  return code === "000000" ? "000001" : "000000";
}

let phoneCounter = 0;
function uniquePhone(): string {
  phoneCounter += 1;
  return `+1555${String(Date.now() % 100_000).padStart(5, "0")}${String(phoneCounter % 100).padStart(2, "0")}`;
}

describe("one table of Nhost's message texts", () => {
  // Nhost Auth's texts for the codes both services have (its controller's error table).
  const NHOST_MESSAGES: Partial<Record<ErrorCode, [number, string]>> = {
    "default-role-must-be-in-allowed-roles": [400, "Default role must be in allowed roles"],
    "disabled-user": [401, "User is disabled"],
    "disabled-endpoint": [409, "This endpoint is disabled"],
    "user-already-exists": [409, "User already exists"],
    "email-already-verified": [400, "User's email is already verified"],
    "forbidden-anonymous": [403, "Forbidden, user is anonymous."],
    "internal-server-error": [500, "Internal server error"],
    "invalid-email-password": [401, "Incorrect email or password"],
    "invalid-pat": [401, "Invalid or expired personal access token"],
    "invalid-request": [400, "The request payload is incorrect"],
    "locale-not-allowed": [400, "Locale not allowed"],
    "password-in-hibp-database": [400, "Password is in HIBP database"],
    "password-too-short": [400, "Password is too short"],
    "redirectTo-not-allowed": [400, 'The value of "options.redirectTo" is not allowed.'],
    "role-not-allowed": [400, "Role not allowed"],
    "signup-disabled": [403, "Sign up is disabled."],
    "unverified-user": [401, "User is not verified."],
    "user-not-anonymous": [400, "Logged in user is not anonymous"],
    "invalid-refresh-token": [401, "Invalid or expired refresh token"],
    "invalid-ticket": [401, "Invalid ticket"],
    "disabled-mfa-totp": [401, "User does not have TOTP MFA enabled"],
    "no-totp-secret": [400, "User does not have a TOTP secret"],
    "invalid-totp": [401, "Invalid TOTP code"],
    "mfa-type-not-found": [400, "MFA type not found"],
    "totp-already-active": [400, "TOTP MFA is already active"],
    "invalid-state": [400, "Invalid state"],
    "cannot-send-sms": [400, "Cannot send SMS, check your phone number is correct"],
    "invalid-otp": [400, "Invalid or expired OTP"],
    "otp-too-many-attempts": [400, "Too many incorrect attempts, please request a new OTP"],
    "provider-account-already-linked": [400, "This provider account is already linked to a user"],
  };

  it.each(Object.entries(NHOST_MESSAGES))("%s answers Nhost's status and message", (code, [status, message]) => {
    expect(errorBody(code as ErrorCode)).toEqual({ status, error: code, message });
  });

  it("sign-up with a common password: Nhost's whole body", async () => {
    const response = await api("/signup/email-password", { body: { email: uniqueEmail("hibp"), password: "password123" } });
    expect(response.json).toEqual({ status: 400, error: "password-in-hibp-database", message: "Password is in HIBP database" });
  });
});

describe("a refusal sends the table's message as it is (what failed is logged, not appended)", () => {
  it("deanonymize by email-password without a password: Nhost's whole body", async () => {
    const anonymous = (await api("/signin/anonymous", { body: {} })).json.session;
    const response = await api("/user/deanonymize", { token: anonymous.accessToken, body: { signInMethod: "email-password", email: uniqueEmail("no-password") } });
    expect(response.json).toEqual(NHOST_BODY.invalidRequest);
  });

  it("a verification mail for an unknown address, without enumeration protection: Nhost's whole body", async () => {
    const response = await call("/user/email/send-verification-email", { body: { email: uniqueEmail("nobody") }, settings: { ENUMERATION_PROTECTION: "false" } });
    expect(response.json).toEqual(NHOST_BODY.invalidRequest);
  });
});

describe("CONCEAL_ERRORS, as Nhost conceals", () => {
  const CONCEAL = { CONCEAL_ERRORS: "true" };

  it("is off by default, as Nhost's: a wrong password is 401 invalid-email-password", async () => {
    const { email } = await signUp(uniqueEmail("conceal-off"));
    expect((await call("/signin/email-password", { body: { email, password: "not the password at all" } })).json).toEqual(NHOST_BODY.invalidEmailPassword);
  });

  it("on: sign-in with a wrong password answers 400 invalid-request, The request payload is incorrect", async () => {
    const { email } = await signUp(uniqueEmail("conceal-on"));
    const response = await call("/signin/email-password", { body: { email, password: "not the password at all" }, settings: CONCEAL });
    expect(response.status).toBe(400);
    expect(response.json).toEqual(NHOST_BODY.invalidRequest);
  });

  it("on: every sensitive code is concealed (refresh, PAT, a taken address); the others are not (password-too-short, disabled-endpoint)", async () => {
    const { email } = await signUp(uniqueEmail("conceal-codes"));
    expect((await call("/token", { body: { refreshToken: crypto.randomUUID() }, settings: CONCEAL })).json).toEqual(NHOST_BODY.invalidRequest);
    expect((await call("/signin/pat", { body: { personalAccessToken: crypto.randomUUID() }, settings: CONCEAL })).json).toEqual(NHOST_BODY.invalidRequest);
    expect((await call("/signup/email-password", { body: { email, password: GOOD_PASSWORD }, settings: CONCEAL })).json).toEqual(NHOST_BODY.invalidRequest);
    // Not on Nhost's list: answered as they are.
    expect((await call("/signup/email-password", { body: { email: uniqueEmail(), password: "short" }, settings: CONCEAL })).json).toEqual({
      status: 400,
      error: "password-too-short",
      message: "Password is too short",
    });
    expect((await call("/signin/anonymous", { body: {}, settings: { ...CONCEAL, ANONYMOUS_USERS_ENABLED: "false" } })).json).toEqual(NHOST_BODY.disabledEndpoint);
  });

  it("on: a link's error redirect is concealed too", async () => {
    const response = await call("/verify?ticket=passwordReset:nope&type=passwordReset&redirectTo=https://app.example.com/auth", { settings: CONCEAL });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get("location")!);
    expect(location.searchParams.get("error")).toBe("invalid-request");
    expect(location.searchParams.get("errorDescription")).toBe("The request payload is incorrect");
  });

  it("the admin API is never concealed", async () => {
    const response = await call("/admin/realms/default/users/00000000-0000-4000-8000-000000000000", {
      settings: CONCEAL,
      token: ADMIN_SECRET,
    });
    expect(response.json).toEqual({ error: { code: "user-not-found", status: 404, message: "No user with this id" } });
  });
});

describe("the body is checked before the bearer token, as Nhost's request validation does", () => {
  it("POST /pat with an invalid body and no bearer is 400; with a valid body and no bearer 401", async () => {
    const invalid = await api("/pat", { body: { expiresAt: "tomorrow" } });
    expect(invalid.status).toBe(400);
    expect(invalid.json.error).toBe("invalid-request");
    const valid = await api("/pat", { body: { expiresAt: new Date(Date.now() + 86_400_000).toISOString() } });
    expect(valid.status).toBe(401);
  });

  it.each([
    ["/user/email/change", { newEmail: "not-an-email" }],
    ["/user/deanonymize", { signInMethod: "sms", email: "x@example.com" }],
    ["/user/mfa", { code: 123456 }],
    ["/elevate/webauthn/verify", { credential: "nope" }],
    ["/user/webauthn/verify", { credential: "nope" }],
  ])("%s: an invalid body without a bearer is 400 invalid-request", async (path, body) => {
    const response = await api(path, { body });
    expect(response.status, response.text).toBe(400);
    expect(response.json.error).toBe("invalid-request");
  });
});

describe("a locale outside ALLOWED_LOCALES falls back to DEFAULT_LOCALE", () => {
  it("magic link: 200, the mail in the default locale, the account in it", async () => {
    const email = uniqueEmail("locale-magic");
    const response = await call("/signin/passwordless/email", { body: { email, options: { locale: "de" } } });
    expect(response.json).toBe("OK");
    const mail = await waitForOutbox(email, "email");
    expect(mail.subject).toBe("Your sign-in link");
    const followed = await workerFetch(mail.links[0]!, { redirect: "manual" });
    const refreshToken = new URL(followed.headers.get("location")!).searchParams.get("refreshToken")!;
    const session = await api("/token", { body: { refreshToken } });
    expect(session.json.user.locale).toBe("en");
  });

  it("an allowed locale is kept: the mail in French", async () => {
    const email = uniqueEmail("locale-fr");
    await call("/signin/passwordless/email", { body: { email, options: { locale: "fr" } } });
    expect((await waitForOutbox(email, "email")).subject).toBe("Votre lien de connexion");
  });

  it("email code and SMS code: 200", async () => {
    expect((await call("/signin/otp/email", { body: { email: uniqueEmail("locale-otp"), options: { locale: "xx" } } })).json).toBe("OK");
    expect((await call("/signin/passwordless/sms", { body: { phoneNumber: uniquePhone(), options: { locale: "xx" } } })).json).toBe("OK");
  });
});

describe("error codes of the latest spec", () => {
  it("POST /user/email/change to an address in use: Nhost's whole body", async () => {
    const { session } = await signUp(uniqueEmail("taken-change"));
    const { email: taken } = await signUp(uniqueEmail("taken-owner"));
    expect((await api("/user/email/change", { token: session.accessToken, body: { newEmail: taken.toUpperCase() } })).json).toEqual(NHOST_BODY.userAlreadyExists);
  });

  it("SMS code: no guesses left is otp-too-many-attempts, also for the right code", async () => {
    const phoneNumber = uniquePhone();
    expect((await call("/signin/passwordless/sms", { body: { phoneNumber } })).json).toBe("OK");
    const code = /\b(\d{6})\b/.exec((await waitForOutbox(phoneNumber, "sms")).text)![1]!;
    for (let guess = 1; guess < OTP_MAX_ATTEMPTS_DEFAULT; guess++) {
      expect((await api("/signin/passwordless/sms/otp", { body: { phoneNumber, otp: wrongCode(code) } })).json).toEqual(NHOST_BODY.invalidOtp);
    }
    expect((await api("/signin/passwordless/sms/otp", { body: { phoneNumber, otp: wrongCode(code) } })).json).toEqual(NHOST_BODY.otpTooManyAttempts);
    expect((await api("/signin/passwordless/sms/otp", { body: { phoneNumber, otp: code } })).json).toEqual(NHOST_BODY.otpTooManyAttempts);
  });
});

describe("access-control lists (ACCESS_CONTROL_*)", () => {
  const ALLOW_DOMAIN = { ACCESS_CONTROL_ALLOWED_EMAIL_DOMAINS: "Allowed.Example" };

  it("sign-up outside the allowed domains: 401 invalid-email-password, no account; inside: a session", async () => {
    const outside = uniqueEmail("acl-out");
    expect((await call("/signup/email-password", { body: { email: outside, password: GOOD_PASSWORD }, settings: ALLOW_DOMAIN })).json).toEqual(
      NHOST_BODY.invalidEmailPassword,
    );
    expect((await call("/signin/email-password", { body: { email: outside, password: GOOD_PASSWORD } })).json).toEqual(NHOST_BODY.invalidEmailPassword);
    const inside = `acl-${crypto.randomUUID().slice(0, 8)}@ALLOWED.example`;
    const response = await call("/signup/email-password", { body: { email: inside, password: GOOD_PASSWORD }, settings: ALLOW_DOMAIN });
    expect(response.status, response.text).toBe(200);
  });

  it("passkey sign-up outside the allowed domains is refused at the challenge", async () => {
    expect((await call("/signup/webauthn", { body: { email: uniqueEmail("acl-passkey") }, settings: ALLOW_DOMAIN })).json).toEqual(NHOST_BODY.invalidEmailPassword);
  });

  it("sign-in by an address outside ACCESS_CONTROL_ALLOWED_EMAILS: 401; its refresh token stops working", async () => {
    const { email, session } = await signUp(uniqueEmail("acl-signin"));
    const lists = { ACCESS_CONTROL_ALLOWED_EMAILS: "someone-else@example.com" };
    const refused = await call("/signin/email-password", { body: { email, password: GOOD_PASSWORD }, settings: lists });
    expect(refused.status).toBe(401);
    expect(refused.json).toEqual(NHOST_BODY.invalidEmailPassword);
    expect((await call("/token", { body: { refreshToken: session.refreshToken }, settings: lists })).json).toEqual(NHOST_BODY.invalidEmailPassword);
    // Named on the list (in another case): let in.
    const named = await call("/signin/email-password", { body: { email, password: GOOD_PASSWORD }, settings: { ACCESS_CONTROL_ALLOWED_EMAILS: email.toUpperCase() } });
    expect(named.status, named.text).toBe(200);
  });

  it("a blocked address or domain is refused even when allowed, whatever its case", async () => {
    const email = uniqueEmail("acl-blocked");
    const settings = { ACCESS_CONTROL_ALLOWED_EMAIL_DOMAINS: "example.com", ACCESS_CONTROL_BLOCKED_EMAILS: email.toUpperCase() };
    expect((await call("/signup/email-password", { body: { email, password: GOOD_PASSWORD }, settings })).json).toEqual(NHOST_BODY.invalidEmailPassword);
    expect(
      (await call("/signup/email-password", { body: { email: uniqueEmail(), password: GOOD_PASSWORD }, settings: { ACCESS_CONTROL_BLOCKED_EMAIL_DOMAINS: "EXAMPLE.com" } })).json,
    ).toEqual(NHOST_BODY.invalidEmailPassword);
  });

  it("passwordless: a blocked address gets no mail and no account, and a link already sent stops at /verify", async () => {
    const blocked = { ACCESS_CONTROL_BLOCKED_EMAIL_DOMAINS: "example.com" };
    const stranger = uniqueEmail("acl-magic-new");
    expect((await call("/signin/passwordless/email", { body: { email: stranger }, settings: blocked })).json).toBe("OK");
    expect((await call("/signin/otp/email", { body: { email: stranger }, settings: blocked })).json).toBe("OK");
    expect(await outboxTo(stranger, "email")).toHaveLength(0);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM users WHERE lower(email) = ?").bind(stranger.toLowerCase()).first("n")).toBe(0);

    const email = uniqueEmail("acl-magic-link");
    await call("/signin/passwordless/email", { body: { email } });
    const link = (await waitForOutbox(email, "email")).links[0]!;
    const url = new URL(link);
    const followed = await call(`${url.pathname}${url.search}`, { settings: blocked });
    expect(followed.status).toBe(302);
    expect(new URL(followed.headers.get("location")!).searchParams.get("error")).toBe("invalid-email-password");
  });

  it("anonymous sign-in is not an address and passes; deanonymizing to a refused address does not", async () => {
    const settings = { ACCESS_CONTROL_ALLOWED_EMAILS: "only-this@example.com" };
    const anonymous = await call("/signin/anonymous", { body: {}, settings });
    expect(anonymous.status, anonymous.text).toBe(200);
    const deanonymize = await call("/user/deanonymize", {
      token: anonymous.json.session.accessToken,
      body: { signInMethod: "email-password", email: uniqueEmail("acl-deanon"), password: GOOD_PASSWORD },
      settings,
    });
    expect(deanonymize.json).toEqual(NHOST_BODY.invalidEmailPassword);
  });
});

describe("DISABLE_NEW_USERS", () => {
  it("sign-up makes the account disabled and answers 401 disabled-user; an operator enables it, then it signs in", async () => {
    const email = uniqueEmail("new-disabled");
    const settings = { DISABLE_NEW_USERS: "true" };
    const response = await call("/signup/email-password", { body: { email, password: GOOD_PASSWORD }, settings });
    expect(response.json).toEqual(NHOST_BODY.disabledUser);
    expect((await call("/signin/email-password", { body: { email, password: GOOD_PASSWORD } })).json).toEqual(NHOST_BODY.disabledUser);

    const id = await env.DB.prepare("SELECT id FROM users WHERE lower(email) = ?").bind(email.toLowerCase()).first<string>("id");
    const enabled = await call(`/admin/realms/default/users/${id}`, { method: "PATCH", body: { disabled: false }, token: ADMIN_SECRET });
    expect(enabled.status, enabled.text).toBe(200);
    expect((await call("/signin/email-password", { body: { email, password: GOOD_PASSWORD } })).status).toBe(200);
  });

  it("a magic link to a new address makes a disabled account and sends nothing", async () => {
    const email = uniqueEmail("new-disabled-magic");
    expect((await call("/signin/passwordless/email", { body: { email }, settings: { DISABLE_NEW_USERS: "true" } })).json).toBe("OK");
    expect(await outboxTo(email, "email")).toHaveLength(0);
    expect(await env.DB.prepare("SELECT disabled FROM users WHERE lower(email) = ?").bind(email.toLowerCase()).first("disabled")).toBe(1);
  });

  it("existing users and anonymous sign-ins are not affected", async () => {
    const { email } = await signUp(uniqueEmail("existing"));
    expect((await call("/signin/email-password", { body: { email, password: GOOD_PASSWORD }, settings: { DISABLE_NEW_USERS: "true" } })).status).toBe(200);
    expect((await call("/signin/anonymous", { body: {}, settings: { DISABLE_NEW_USERS: "true" } })).status).toBe(200);
  });
});

describe("one switch per sign-in method", () => {
  it("defaults: passwordless email, email codes and SMS codes off (Nhost's), PATs on", () => {
    const config = parseConfig({ PUBLIC_URL: "https://auth.example.com", REFRESH_TOKEN_SECRET: "x".repeat(32) });
    expect(config).toMatchObject({
      emailPasswordlessEnabled: false,
      otpEmailEnabled: false,
      smsPasswordlessEnabled: false,
      anonymousUsersEnabled: false,
      personalAccessTokensEnabled: true,
      concealErrors: false,
      enumerationProtection: true,
      disableNewUsers: false,
    });
    expect(config.webauthn.enabled).toBe(false);
  });

  it.each([
    ["EMAIL_PASSWORDLESS_ENABLED", "/signin/passwordless/email", { email: "switch@example.com" }],
    ["OTP_EMAIL_ENABLED", "/signin/otp/email", { email: "switch@example.com" }],
    ["OTP_EMAIL_ENABLED", "/signin/otp/email/verify", { email: "switch@example.com", otp: "123456" }],
    ["SMS_PASSWORDLESS_ENABLED", "/signin/passwordless/sms", { phoneNumber: "+15550100000" }],
    ["SMS_PASSWORDLESS_ENABLED", "/signin/passwordless/sms/otp", { phoneNumber: "+15550100000", otp: "123456" }],
    ["PERSONAL_ACCESS_TOKENS_ENABLED", "/signin/pat", { personalAccessToken: "00000000-0000-4000-8000-000000000000" }],
    ["ANONYMOUS_USERS_ENABLED", "/signin/anonymous", {}],
    ["WEBAUTHN_ENABLED", "/signin/webauthn", {}],
  ])("%s=false: %s answers 409 disabled-endpoint", async (setting, path, body) => {
    expect((await call(path, { body, settings: { [setting]: "false" } })).json).toEqual(NHOST_BODY.disabledEndpoint);
  });

  it("SIGNUP_DISABLED refuses anonymous sign-in too, as Nhost does", async () => {
    expect((await call("/signin/anonymous", { body: {}, settings: { SIGNUP_DISABLED: "true" } })).json).toEqual({
      status: 403,
      error: "signup-disabled",
      message: "Sign up is disabled.",
    });
  });

  it("PERSONAL_ACCESS_TOKENS_ENABLED=false: no new PAT; listing stays open so a user can still revoke", async () => {
    const { session } = await signUp(uniqueEmail("pat-off"));
    const settings = { PERSONAL_ACCESS_TOKENS_ENABLED: "false" };
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    expect((await call("/pat", { body: { expiresAt }, token: session.accessToken, settings })).json).toEqual(NHOST_BODY.disabledEndpoint);
    expect((await call("/pat", { token: session.accessToken, settings })).status).toBe(200);
  });
});

describe("a password change ends every session of the user, atomically", () => {
  it("the caller's session too; the answer is OK and the app signs in again", async () => {
    const { email, session } = await signUp(uniqueEmail("pw-all"));
    const other = (await api("/signin/email-password", { body: { email, password: GOOD_PASSWORD } })).json.session;
    const changed = await api("/user/password", { token: session.accessToken, body: { newPassword: "an entirely new passphrase" } });
    expect(changed.json).toBe("OK");
    for (const refreshToken of [session.refreshToken, other.refreshToken]) {
      expect((await api("/token", { body: { refreshToken } })).json).toEqual({ status: 401, error: "invalid-refresh-token", message: "Invalid or expired refresh token" });
    }
    expect((await api("/signin/email-password", { body: { email, password: "an entirely new passphrase" } })).status).toBe(200);
  });
});

describe("Gravatar avatars, stored at sign-up as Nhost does", () => {
  it("GRAVATAR_DEFAULT and GRAVATAR_RATING shape the URL; the hash is the SHA-256 of the trimmed, lower-cased address", async () => {
    const email = uniqueEmail("Gravatar");
    const response = await call("/signup/email-password", {
      body: { email, password: GOOD_PASSWORD },
      settings: { GRAVATAR_DEFAULT: "identicon", GRAVATAR_RATING: "pg" },
    });
    const hash = await sha256Hex(email.toLowerCase());
    expect(response.json.session.user.avatarUrl).toBe(`https://www.gravatar.com/avatar/${hash}?d=identicon&r=pg`);
    // Stored: the same URL later, whatever the settings then.
    expect((await api("/user", { token: response.json.session.accessToken })).json.avatarUrl).toBe(response.json.session.user.avatarUrl);
  });

  it("GRAVATAR_ENABLED=false leaves it empty; anonymous users have none", async () => {
    const off = await call("/signup/email-password", { body: { email: uniqueEmail("no-gravatar"), password: GOOD_PASSWORD }, settings: { GRAVATAR_ENABLED: "false" } });
    expect(off.json.session.user.avatarUrl).toBe("");
    expect((await api("/signin/anonymous", { body: {} })).json.session.user.avatarUrl).toBe("");
  });

  it("a bad GRAVATAR_DEFAULT fails fast, naming the setting", () => {
    expect(() => parseConfig({ PUBLIC_URL: "https://auth.example.com", REFRESH_TOKEN_SECRET: "x".repeat(32), GRAVATAR_DEFAULT: "kitten" })).toThrow(/GRAVATAR_DEFAULT/);
  });
});
