/**
 * Browsers must preflight: a JSON body is accepted only as `application/json`
 * (parameters allowed, media type in any case). `text/plain`, form and multipart
 * bodies, and bodies without a type, are what any web page can send from its
 * visitors' browsers without a CORS preflight: they are refused with
 * `415 unsupported-media-type` before anything happens (no account, no mail, no
 * rotation). A route whose body is optional still works with no body at all.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, GOOD_PASSWORD, signIn, signUp, uniqueEmail, appFetch } from "./helpers";

interface Reply {
  status: number;
  json: any;
}

/** What a page on another origin can send without a CORS preflight. */
const SIMPLE_CONTENT_TYPES = ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=edge"];
/** No Content-Type: `null`. */
const REFUSED_CONTENT_TYPES: (string | null)[] = [...SIMPLE_CONTENT_TYPES, null];

/**
 * POSTs `body` as raw bytes (a string body would get `text/plain` from fetch
 * itself) with exactly `contentType`, and waits for the background work (mail).
 */
async function post(path: string, body: unknown, contentType: string | null, token?: string): Promise<Reply> {
  const headers = new Headers();
  if (contentType !== null) headers.set("content-type", contentType);
  if (token !== undefined) headers.set("authorization", `Bearer ${token}`);
  const ctx = createExecutionContext();
  const response = await appFetch(
    new Request(`http://localhost${path}`, {
      method: "POST",
      headers,
      body: body === undefined ? undefined : new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body)),
    }),
    env,
    ctx,
  );
  const text = await response.text();
  await waitOnExecutionContext(ctx);
  return { status: response.status, json: text === "" ? undefined : JSON.parse(text) };
}

function expectUnsupported(reply: Reply, label: string): void {
  expect(reply.status, label).toBe(415);
  expect(reply.json, label).toEqual({ status: 415, error: "unsupported-media-type", message: expect.any(String) });
}

async function count(sql: string, value: string): Promise<number> {
  return (await env.DB.prepare(sql).bind(value).first<{ n: number }>())!.n;
}

const usersWithEmail = (email: string) => count("SELECT count(*) AS n FROM users WHERE email = ?", email.toLowerCase());
const outboxFor = (recipient: string) => count("SELECT count(*) AS n FROM dev_outbox WHERE recipient = ?", recipient.toLowerCase());

describe("a JSON body not declared application/json is 415 unsupported-media-type", () => {
  it("sign-up creates no account", async () => {
    const email = uniqueEmail("ct-signup");
    for (const contentType of REFUSED_CONTENT_TYPES) {
      expectUnsupported(await post("/signup/email-password", { email, password: GOOD_PASSWORD }, contentType), String(contentType));
    }
    expect(await usersWithEmail(email)).toBe(0);
  });

  it("sign-in gives no session, even with the right password", async () => {
    const { email } = await signUp(uniqueEmail("ct-signin"));
    for (const contentType of REFUSED_CONTENT_TYPES) {
      expectUnsupported(await post("/signin/email-password", { email, password: GOOD_PASSWORD }, contentType), String(contentType));
    }
  });

  it("password reset, magic link and email code send no mail", async () => {
    const { email } = await signUp(uniqueEmail("ct-mail"));
    for (const path of ["/user/password/reset", "/signin/passwordless/email", "/signin/otp/email", "/user/email/send-verification-email"]) {
      for (const contentType of REFUSED_CONTENT_TYPES) {
        expectUnsupported(await post(path, { email }, contentType), `${path} ${contentType}`);
      }
    }
    expect(await outboxFor(email)).toBe(0);
  });

  it("passwordless SMS sends no text", async () => {
    const phoneNumber = `+1555${String(Date.now() % 10_000_000).padStart(7, "0")}`;
    for (const contentType of REFUSED_CONTENT_TYPES) {
      expectUnsupported(await post("/signin/passwordless/sms", { phoneNumber }, contentType), String(contentType));
    }
    expect(await outboxFor(phoneNumber)).toBe(0);
  });

  it("refresh does not rotate the token, which still works as JSON afterwards", async () => {
    const { session } = await signUp(uniqueEmail("ct-token"));
    for (const contentType of REFUSED_CONTENT_TYPES) {
      expectUnsupported(await post("/token", { refreshToken: session.refreshToken }, contentType), String(contentType));
    }
    const refreshed = await post("/token", { refreshToken: session.refreshToken }, "application/json");
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.refreshToken).not.toBe(session.refreshToken);
  });

  it("routes with an optional body refuse a body that is not declared JSON", async () => {
    const { session } = await signUp(uniqueEmail("ct-optional"));
    for (const contentType of REFUSED_CONTENT_TYPES) {
      expectUnsupported(await post("/signin/anonymous", { displayName: "Guest" }, contentType), `anonymous ${contentType}`);
      expectUnsupported(await post("/signin/webauthn", {}, contentType), `webauthn ${contentType}`);
      expectUnsupported(await post("/token/verify", { token: session.accessToken }, contentType), `verify ${contentType}`);
    }
    // A type that is not JSON is refused even with an empty body.
    expectUnsupported(await post("/signin/anonymous", "", "text/plain"), "empty text/plain");
  });
});

describe("application/json is accepted with parameters and in any case", () => {
  it.each(["application/json; charset=utf-8", "application/json;charset=UTF-8", "Application/JSON", " application/json ; charset=\"utf-8\""])(
    "%s: sign-up, sign-in and refresh work",
    async (contentType) => {
      const email = uniqueEmail("ct-ok");
      const signedUp = await post("/signup/email-password", { email, password: GOOD_PASSWORD }, contentType);
      expect(signedUp.status, JSON.stringify(signedUp.json)).toBe(200);
      const signedIn = await post("/signin/email-password", { email, password: GOOD_PASSWORD }, contentType);
      expect(signedIn.status).toBe(200);
      expect((await post("/token", { refreshToken: signedIn.json.session.refreshToken }, contentType)).status).toBe(200);
    },
  );
});

describe("routes whose body is optional work without one", () => {
  it("POST /signin/anonymous with no body and no Content-Type", async () => {
    const reply = await post("/signin/anonymous", undefined, null);
    expect(reply.status, JSON.stringify(reply.json)).toBe(200);
    expect(reply.json.session.user.isAnonymous).toBe(true);
  });

  it("POST /token/verify with the bearer token, no body and no Content-Type", async () => {
    const { session } = await signUp(uniqueEmail("ct-verify"));
    const reply = await post("/token/verify", undefined, null, session.accessToken);
    expect(reply.status).toBe(200);
    expect(reply.json).toBe("OK");
  });

  it("POST /signin/webauthn with no body and no Content-Type", async () => {
    const reply = await post("/signin/webauthn", undefined, null);
    expect(reply.status).toBe(200);
    expect(typeof reply.json.challenge).toBe("string");
  });

  it("an empty body declared application/json counts as no body", async () => {
    expect((await post("/signin/anonymous", "", "application/json")).status).toBe(200);
  });

  it("a route whose body is required still asks for one (400, not 415)", async () => {
    const reply = await post("/signin/email-password", undefined, null);
    expect(reply.status).toBe(400);
    expect(reply.json.error).toBe("invalid-request");
  });

  it("the test helpers' requests are unaffected", async () => {
    const { email } = await signUp(uniqueEmail("ct-helpers"));
    expect((await signIn(email)).status).toBe(200);
    expect((await api("/signin/anonymous", { method: "POST" })).status).toBe(200);
  });
});
