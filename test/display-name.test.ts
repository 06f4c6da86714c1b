/**
 * A display name never carries `<` or `>`, on every route that accepts one
 * (sign-up options of every sign-up, anonymous sign-in, deanonymize). The spec's
 * own pattern allows any Unicode symbol, `<`, `>`, `=` and `` ` `` included, which
 * is enough for `<img src=x onerror=alert`1`>`: those are refused with
 * `invalid-request`, and nothing is created.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, GOOD_PASSWORD, uniqueEmail } from "./helpers";

const MARKUP = ["<img src=x onerror=alert`1`>", "<b>", "a<b", "a>b", "<", ">", "Ada <3", "=> Ada"];
const ACCEPTED = ["Ada Lovelace", "O'Brien-Smith", "José, Jr.", "Ada ❤", "Ada + Charles", "A = B"];

let phoneCounter = 0;
function uniquePhone(): string {
  phoneCounter += 1;
  return `+1555${String(Date.now() % 100_000).padStart(5, "0")}${String(phoneCounter).padStart(2, "0")}`;
}

/** Every route that takes a display name, with a fresh body for `displayName`. */
const ROUTES: Record<string, (displayName: string) => { path: string; body: Record<string, unknown>; token?: string } | Promise<{ path: string; body: Record<string, unknown>; token?: string }>> = {
  "sign-up (email and password)": (displayName) => ({
    path: "/signup/email-password",
    body: { email: uniqueEmail("dn-signup"), password: GOOD_PASSWORD, options: { displayName } },
  }),
  "magic link sign-up": (displayName) => ({ path: "/signin/passwordless/email", body: { email: uniqueEmail("dn-magic"), options: { displayName } } }),
  "SMS sign-up": (displayName) => ({ path: "/signin/passwordless/sms", body: { phoneNumber: uniquePhone(), options: { displayName } } }),
  "passkey sign-up": (displayName) => ({ path: "/signup/webauthn", body: { email: uniqueEmail("dn-passkey"), options: { displayName } } }),
  "anonymous sign-in": (displayName) => ({ path: "/signin/anonymous", body: { displayName } }),
  deanonymize: async (displayName) => {
    const anonymous = await api("/signin/anonymous", { method: "POST" });
    expect(anonymous.status).toBe(200);
    return {
      path: "/user/deanonymize",
      token: anonymous.json.session.accessToken as string,
      body: { signInMethod: "email-password", email: uniqueEmail("dn-deanon"), password: GOOD_PASSWORD, options: { displayName } },
    };
  },
};

async function countUsers(): Promise<number> {
  return (await env.DB.prepare("SELECT count(*) AS n FROM users").first<{ n: number }>())!.n;
}

describe.each(Object.entries(ROUTES))("%s", (_label, requestFor) => {
  it("refuses a display name with < or > as invalid-request, creating nothing", async () => {
    for (const displayName of MARKUP) {
      const { path, body, token } = await requestFor(displayName);
      const before = await countUsers();
      const response = await api(path, { body, ...(token === undefined ? {} : { token }) });
      expect(response.status, `${displayName}: ${response.text}`).toBe(400);
      expect(response.json).toMatchObject({ status: 400, error: "invalid-request" });
      expect(response.json.message).toMatch(/displayName/);
      expect(await countUsers()).toBe(before);
    }
  });

  it("accepts names with letters, symbols and the spec's punctuation", async () => {
    for (const displayName of ACCEPTED) {
      const { path, body, token } = await requestFor(displayName);
      const response = await api(path, { body, ...(token === undefined ? {} : { token }) });
      expect(response.status, `${displayName}: ${response.text}`).toBe(200);
    }
  });
});

it("the stored name is the one given", async () => {
  const response = await api("/signup/email-password", {
    body: { email: uniqueEmail("dn-stored"), password: GOOD_PASSWORD, options: { displayName: "Ada + Charles ❤" } },
  });
  expect(response.json.session.user.displayName).toBe("Ada + Charles ❤");
});
