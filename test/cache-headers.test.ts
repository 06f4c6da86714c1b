/**
 * No shared or browser cache may keep an answer that carries a token, a user or a
 * one-time secret (RFC 6749 §5.1): every answer but the JWKS says `no-store`.
 */
import { describe, expect, it } from "vitest";
import { api, signUp } from "./helpers";

function expectNoStore(reply: { headers: Headers }): void {
  expect(reply.headers.get("cache-control")).toBe("no-store");
  expect(reply.headers.get("pragma")).toBe("no-cache");
}

describe("Cache-Control", () => {
  it("sessions, refreshed tokens, the user and PATs are no-store", async () => {
    const signedUp = await signUp();
    const { session } = signedUp;
    expectNoStore(await api("/signin/email-password", { body: { email: signedUp.email, password: signedUp.password } }));
    expectNoStore(await api("/token", { body: { refreshToken: session.refreshToken } }));
    expectNoStore(await api("/user", { token: session.accessToken }));
    expectNoStore(await api("/pat", { token: session.accessToken, body: { expiresAt: new Date(Date.now() + 86_400_000).toISOString() } }));
  });

  it("errors, redirects and unknown paths are no-store too", async () => {
    expectNoStore(await api("/user"));
    expectNoStore(await api("/signin/email-password", { body: "{" }));
    expectNoStore(await api("/no-such-route"));
    expectNoStore(await api("/verify?ticket=passwordReset:nope&type=passwordReset&redirectTo=https://app.example.com"));
  });

  it("the JWKS keeps its public max-age, and its 304 too", async () => {
    const jwks = await api("/.well-known/jwks.json");
    expect(jwks.headers.get("cache-control")).toMatch(/^public, max-age=\d+$/);
    const notModified = await api("/.well-known/jwks.json", { headers: { "if-none-match": jwks.headers.get("etag")! } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get("cache-control")).toMatch(/^public, max-age=\d+$/);
  });
});
