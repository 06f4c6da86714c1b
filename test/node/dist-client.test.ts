/**
 * The built package, as a Node backend imports it (`edgeauth/client` resolves to
 * dist/client/index.js): no TypeScript step, only fetch and WebCrypto.
 */
import { Hono } from "hono";
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";

const ISSUER = "https://auth.example.com";

async function issuerFixture() {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk, "sha256");
  const jwks = { keys: [{ ...jwk, kid, alg: "ES256", use: "sig" }] };
  const sign = (claims: Record<string, unknown> = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", typ: "JWT", kid })
      .setSubject("user-1")
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime("15m")
      .sign(privateKey);
  return { jwks, sign };
}

describe("dist/client, as published", () => {
  it("verifies a token through the package's export map", async () => {
    const { createVerifier } = await import("edgeauth/client");
    const { jwks, sign } = await issuerFixture();
    const verifier = createVerifier({ issuer: ISSUER, fetch: async () => Response.json(jwks) });
    const result = await verifier.verify(await sign());
    expect(result.ok && result.claims.sub).toBe("user-1");
    expect(await verifier.verify("not.a.token")).toEqual({ ok: false, code: "malformed" });
  });

  it("the Hono middleware from edgeauth/client/hono guards a route", async () => {
    const { createVerifier } = await import("edgeauth/client");
    const { requireAccessToken } = await import("edgeauth/client/hono");
    const { jwks, sign } = await issuerFixture();
    const verifier = createVerifier({ issuer: ISSUER, fetch: async () => Response.json(jwks) });
    const app = new Hono<{ Variables: { claims: { sub: string } } }>();
    app.use("/api/*", requireAccessToken({ verifier }));
    app.get("/api/me", (c) => c.json({ sub: c.var.claims.sub }));

    const ok = await app.request("/api/me", { headers: { authorization: `Bearer ${await sign()}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ sub: "user-1" });
    const refused = await app.request("/api/me");
    expect(refused.status).toBe(401);
  });
});
