/**
 * Every answer carries `X-Content-Type-Options: nosniff` and
 * `Referrer-Policy: no-referrer`, whatever produced it: a route, an error, the 404
 * handler, a 500, the CORS preflight, the JWKS (from the KeyStore, the isolate copy
 * or the Cache API). HTML answers (the dev outbox page) also carry a restrictive
 * Content-Security-Policy and `X-Frame-Options: DENY`.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { forgetIsolateJwks } from "../src/server/keys/realm-keys";
import { HTML_CONTENT_SECURITY_POLICY, withAnswerHeaders } from "../src/server/lib/answer-headers";
import { api, BASE_URL, signUp, uniqueEmail, appFetch, workerFetch } from "./helpers";

function expectSecurityHeaders(reply: { headers: Headers }, label: string): void {
  expect(reply.headers.get("x-content-type-options"), label).toBe("nosniff");
  expect(reply.headers.get("referrer-policy"), label).toBe("no-referrer");
}

function expectNotHtmlHeaders(reply: { headers: Headers }, label: string): void {
  expect(reply.headers.get("content-security-policy"), label).toBeNull();
  expect(reply.headers.get("x-frame-options"), label).toBeNull();
}

/** The app under other bindings, e.g. a broken setting or a failing database. */
async function callWith(bindings: Env, path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const response = await appFetch(new Request(`${BASE_URL}${path}`, init), bindings, ctx);
  const text = await response.text();
  await waitOnExecutionContext(ctx);
  return { status: response.status, headers: response.headers, text };
}

afterEach(() => {
  vi.restoreAllMocks();
  forgetIsolateJwks();
});

describe("nosniff and no-referrer on every answer", () => {
  it("successes: health, version, HEAD, session, refresh, the user", async () => {
    const { session } = await signUp(uniqueEmail("headers"));
    const replies = {
      "GET /healthz": await api("/healthz"),
      "HEAD /healthz": await api("/healthz", { method: "HEAD" }),
      "GET /version": await api("/version"),
      "POST /token": await api("/token", { body: { refreshToken: session.refreshToken } }),
      "GET /user": await api("/user", { token: session.accessToken }),
      "POST /token/verify": await api("/token/verify", { body: { token: session.accessToken } }),
    };
    for (const [label, reply] of Object.entries(replies)) {
      expect(reply.status, label).toBe(200);
      expectSecurityHeaders(reply, label);
      expectNotHtmlHeaders(reply, label);
      expect(reply.headers.get("cache-control"), label).toBe("no-store");
    }
  });

  it("4xx errors, unknown paths and wrong methods", async () => {
    const replies = {
      "401": await api("/user"),
      "400": await api("/signin/email-password", { body: "{" }),
      "415": await api("/signin/email-password", { body: "{}", headers: { "content-type": "text/plain" } }),
      "413": await api("/signin/email-password", { body: `{"pad":"${"a".repeat(70 * 1024)}"}` }),
      "404 path": await api("/no-such-route"),
      "404 method": await api("/healthz", { method: "DELETE" }),
      "404 /_dev in production": await callWith(
        { ...env, ENVIRONMENT: "production", PUBLIC_URL: "https://auth.example.com" } as Env,
        "/_dev/mail",
      ),
    };
    for (const [label, reply] of Object.entries(replies)) {
      expect(reply.status, label).toBeGreaterThanOrEqual(400);
      expectSecurityHeaders(reply, label);
      expectNotHtmlHeaders(reply, label);
    }
  });

  it("a 500 from a route (the database fails)", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const failingDb = new Proxy(env.DB, {
      get(target, property) {
        if (property === "prepare" || property === "batch") {
          return () => {
            throw new Error("database unavailable");
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const reply = await callWith({ ...env, DB: failingDb } as Env, "/signin/email-password", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: uniqueEmail("db-down"), password: "whatever it is" }),
    });
    expect(reply.status).toBe(500);
    expect(JSON.parse(reply.text).error).toBe("internal-server-error");
    expectSecurityHeaders(reply, "500 from a route");
    expect(reply.headers.get("cache-control")).toBe("no-store");
  });

  it("a 500 from a bad setting, thrown before any route runs", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const reply = await callWith({ ...env, ACCESS_TOKEN_TTL_SECONDS: "soon" } as Env, "/healthz");
    expect(reply.status).toBe(500);
    expect(reply.text).not.toContain("ACCESS_TOKEN_TTL_SECONDS");
    expectSecurityHeaders(reply, "500 from config");
    expect(reply.headers.get("cache-control")).toBe("no-store");
  });

  it("redirects (/verify) and the CORS preflight", async () => {
    const redirect = await workerFetch(`${BASE_URL}/verify?ticket=passwordReset:nope&type=passwordReset&redirectTo=https://app.example.com`, {
      redirect: "manual",
    });
    expect(redirect.status).toBe(302);
    expectSecurityHeaders(redirect, "302");
    const preflight = await workerFetch(`${BASE_URL}/signin/email-password`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
    expect(preflight.status).toBe(204);
    expectSecurityHeaders(preflight, "preflight");
  });

  it("the JWKS from the KeyStore, the isolate copy, the Cache API, and its 304, keeping its max-age", async () => {
    forgetIsolateJwks();
    await caches.default.delete(new Request(`${BASE_URL}/.well-known/jwks.json?realm=default`));
    const fromKeyStore = await api("/.well-known/jwks.json");
    const fromIsolate = await api("/.well-known/jwks.json");
    // The edge copy is written in waitUntil; wait until it lands, then skip the isolate's.
    const key = new Request(`${BASE_URL}/.well-known/jwks.json?realm=default`);
    for (let attempt = 0; attempt < 100 && (await caches.default.match(key)) === undefined; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    forgetIsolateJwks();
    const fromCache = await api("/.well-known/jwks.json");
    const notModified = await api("/.well-known/jwks.json", { headers: { "if-none-match": fromCache.headers.get("etag")! } });
    expect(notModified.status).toBe(304);
    for (const [label, reply] of Object.entries({ fromKeyStore, fromIsolate, fromCache, notModified })) {
      expectSecurityHeaders(reply, label);
      expectNotHtmlHeaders(reply, label);
      expect(reply.headers.get("cache-control"), label).toMatch(/^public, max-age=\d+$/);
      expect(reply.headers.get("pragma"), label).toBeNull();
    }
    expect(fromCache.json).toEqual(fromKeyStore.json);
  });
});

describe("HTML answers", () => {
  it("/_dev/mail carries a restrictive CSP and X-Frame-Options: DENY, and still shows the mails in sandboxed frames", async () => {
    const { email } = await signUp(uniqueEmail("csp"));
    // callWith waits for the mail, which is sent after the answer.
    const reset = await callWith(env, "/user/password/reset", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email }),
    });
    expect(reset.status).toBe(200);
    const page = await api("/_dev/mail");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expectSecurityHeaders(page, "/_dev/mail");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    const policy = page.headers.get("content-security-policy")!;
    expect(policy).toBe(HTML_CONTENT_SECURITY_POLICY);
    const directives = Object.fromEntries(policy.split(";").map((directive) => directive.trim().split(/\s+/)).map(([name, ...values]) => [name, values.join(" ")]));
    expect(directives).toEqual({
      "default-src": "'none'",
      "style-src": "'unsafe-inline'",
      "img-src": "data:",
      "frame-ancestors": "'none'",
      "base-uri": "'none'",
      "form-action": "'none'",
    });
    // What the page needs is what the policy allows: an inline <style>, no script,
    // and each mail in a sandboxed srcdoc frame (no network fetch, so frame-src does
    // not apply; the frame inherits this policy).
    expect(page.text).toContain("<style>");
    expect(page.text).not.toMatch(/<script|\son[a-z]+=/i);
    expect(page.text).toMatch(/<iframe sandbox srcdoc="/);
    expect(page.text).toContain(email);
  });

  it("JSON answers carry no CSP (only HTML is a document)", async () => {
    const outbox = await api("/_dev/outbox");
    expect(outbox.status).toBe(200);
    expectSecurityHeaders(outbox, "/_dev/outbox");
    expectNotHtmlHeaders(outbox, "/_dev/outbox");
  });
});

describe("withAnswerHeaders", () => {
  it("copies a response whose headers are immutable (the Cache API's), body and status intact", async () => {
    const key = new Request(`${BASE_URL}/answer-headers-immutable`);
    await caches.default.put(key, new Response("cached body", { status: 200, headers: { "cache-control": "public, max-age=60", "content-type": "text/html" } }));
    const hit = (await caches.default.match(key))!;
    expect(() => hit.headers.set("x-probe", "1")).toThrow();
    const answer = withAnswerHeaders(hit);
    expect(answer).not.toBe(hit);
    expect(answer.status).toBe(200);
    expectSecurityHeaders(answer, "copied");
    expect(answer.headers.get("cache-control")).toBe("public, max-age=60");
    expect(answer.headers.get("content-security-policy")).toBe(HTML_CONTENT_SECURITY_POLICY);
    expect(await answer.text()).toBe("cached body");
    await caches.default.delete(key);
  });

  it("sets the headers in place on a mutable response, without a copy", () => {
    const response = new Response("{}", { headers: { "content-type": "application/json" } });
    expect(withAnswerHeaders(response)).toBe(response);
    expectSecurityHeaders(response, "in place");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("pragma")).toBe("no-cache");
  });
});
