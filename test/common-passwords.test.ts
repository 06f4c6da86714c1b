/**
 * NIST SP 800-63B §5.1.1.2: every route that sets a password refuses values on
 * the list of common passwords (zxcvbn-ts's 49,233), compared lower-cased, with
 * the spec's `password-in-hibp-database` (400), after the length check.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { dictionary } from "@zxcvbn-ts/language-common";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/server/config";
import { GOOD_PASSWORD, api, signIn, signUp, uniqueEmail, appFetch } from "./helpers";

const COMMON = dictionary["passwords-common"];
// Long enough for the test Worker's PASSWORD_MIN_LENGTH (9): refused for being common, not short.
const COMMON_LONG = COMMON.filter((password) => password.length >= 9);
const MOST_COMMON_LONG = COMMON_LONG[0]!;
const COMMON_WITH_LETTERS = COMMON_LONG.filter((password) => /[a-z]/.test(password)).slice(0, 5);
const NEW_PASSWORD = "an uncommon replacement passphrase";

function expectCommon(response: { status: number; json: any }) {
  expect(response.status, JSON.stringify(response.json)).toBe(400);
  expect(response.json).toEqual({ status: 400, error: "password-in-hibp-database", message: expect.any(String) });
}

function signUpRequest(email: string, password: string) {
  return api("/signup/email-password", { body: { email, password } });
}

/** A reset ticket through the real flow: the request, then the link in the dev outbox. */
async function resetTicket(email: string): Promise<string> {
  expect((await api("/user/password/reset", { body: { email } })).status).toBe(200);
  // The mail is sent in waitUntil after the response: poll a bounded number of times.
  for (let attempt = 0; attempt < 100; attempt++) {
    const mails: { to: string; links: string[] }[] = (await api("/_dev/outbox")).json.mails;
    const mail = mails.find((candidate) => candidate.to === email.toLowerCase());
    if (mail !== undefined) return new URL(mail.links[0]!).searchParams.get("ticket")!;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no reset mail to ${email}`);
}

describe("the common-password list", () => {
  it("is the package's full ranked list, lower-case, with enough entries of 9+ characters to test", () => {
    expect(COMMON).toHaveLength(49_233);
    expect(COMMON.slice(0, 2)).toEqual(["123456", "password"]);
    expect(COMMON.every((password) => password === password.toLowerCase())).toBe(true);
    expect(COMMON_LONG.length).toBeGreaterThanOrEqual(20);
    expect(COMMON_WITH_LETTERS).toHaveLength(5);
  });
});

describe("POST /signup/email-password with a common password", () => {
  it("refuses the 20 most common of 9+ characters with password-in-hibp-database, creating no account", async () => {
    for (const password of COMMON_LONG.slice(0, 20)) {
      const email = uniqueEmail("common");
      expectCommon(await signUpRequest(email, password));
      expect((await signIn(email, password)).status).toBe(401);
    }
  });

  it("compares case-insensitively: upper-case and capitalised variants are refused too", async () => {
    for (const password of COMMON_WITH_LETTERS) {
      const capitalised = password.replace(/[a-z]/, (letter) => letter.toUpperCase());
      for (const variant of [password.toUpperCase(), capitalised]) expectCommon(await signUpRequest(uniqueEmail("case"), variant));
    }
  });

  it("checks length first: a common password under the minimum is password-too-short", async () => {
    expect(COMMON).toContain("password");
    const response = await signUpRequest(uniqueEmail("short"), "password");
    expect(response.status).toBe(400);
    expect(response.json.error).toBe("password-too-short");
  });

  it("accepts a long random passphrase", async () => {
    const email = uniqueEmail("random");
    const passphrase = `${crypto.randomUUID()} tangerine ${crypto.randomUUID().slice(0, 8)}`;
    const response = await signUpRequest(email, passphrase);
    expect(response.status, response.text).toBe(200);
    expect((await signIn(email, passphrase)).status).toBe(200);
  });

  it('is accepted with PASSWORD_BLOCK_COMMON = "false"', async () => {
    const email = uniqueEmail("allowed");
    const ctx = createExecutionContext();
    const response = await appFetch(
      new Request("http://localhost/signup/email-password", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password: MOST_COMMON_LONG }),
      }),
      { ...env, PASSWORD_BLOCK_COMMON: "false" } as Env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status, await response.clone().text()).toBe(200);
    expect((await signIn(email, MOST_COMMON_LONG)).status).toBe(200);
  });
});

describe("the other routes that set a password refuse a common one", () => {
  it("signed-in POST /user/password: refused, the old password still works", async () => {
    const { email, session } = await signUp(uniqueEmail("change"));
    expectCommon(await api("/user/password", { body: { newPassword: MOST_COMMON_LONG }, token: session.accessToken }));
    expectCommon(await api("/user/password", { body: { newPassword: COMMON_WITH_LETTERS[0]!.toUpperCase() }, token: session.accessToken }));
    expect((await signIn(email, GOOD_PASSWORD)).status).toBe(200);
  });

  it("POST /user/password with a reset ticket: refused without consuming the ticket", async () => {
    const { email } = await signUp(uniqueEmail("reset"));
    const ticket = await resetTicket(email);
    expectCommon(await api("/user/password", { body: { newPassword: MOST_COMMON_LONG, ticket } }));
    expect((await signIn(email, GOOD_PASSWORD)).status).toBe(200);
    const changed = await api("/user/password", { body: { newPassword: NEW_PASSWORD, ticket } });
    expect(changed.status, changed.text).toBe(200);
    expect((await signIn(email, NEW_PASSWORD)).status).toBe(200);
  });

  it("POST /user/deanonymize with email-password: refused, the user stays anonymous", async () => {
    const anonymous = await api("/signin/anonymous", { method: "POST" });
    expect(anonymous.status, anonymous.text).toBe(200);
    const { accessToken } = anonymous.json.session;
    expectCommon(
      await api("/user/deanonymize", {
        token: accessToken,
        body: { signInMethod: "email-password", email: uniqueEmail("deanon"), password: MOST_COMMON_LONG },
      }),
    );
    expect((await api("/user", { token: accessToken })).json.isAnonymous).toBe(true);
  });
});

describe("PASSWORD_BLOCK_COMMON", () => {
  const base = { PUBLIC_URL: "https://auth.example.org", REFRESH_TOKEN_SECRET: "x".repeat(32) };

  it('defaults to on, reads "true" and "false", and refuses anything else naming the setting', () => {
    expect(parseConfig(base).passwordBlockCommon).toBe(true);
    expect(parseConfig({ ...base, PASSWORD_BLOCK_COMMON: "false" }).passwordBlockCommon).toBe(false);
    expect(parseConfig({ ...base, PASSWORD_BLOCK_COMMON: "true" }).passwordBlockCommon).toBe(true);
    expect(() => parseConfig({ ...base, PASSWORD_BLOCK_COMMON: "no" })).toThrow(ConfigError);
    expect(() => parseConfig({ ...base, PASSWORD_BLOCK_COMMON: "no" })).toThrow(/PASSWORD_BLOCK_COMMON/);
  });
});
