/**
 * `GET /.well-known/jwks.json` at the edge (design §4): Cache-Control, ETag/304,
 * served from the Cache API without reaching the KeyStore on a hit.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { forgetIsolateJwks } from "../src/server/keys/realm-keys";
import { ADMIN_SECRET, api } from "./helpers";

function keyStore() {
  return env.KEY_STORE.get(env.KEY_STORE.idFromName("default"));
}

async function jwksReads(): Promise<number> {
  return (await keyStore().stats()).jwksReads;
}

/** The response is put into the Cache API in `waitUntil`; wait until it lands. */
async function waitForEdgeCopy(): Promise<void> {
  const key = new Request("http://localhost/.well-known/jwks.json?realm=default");
  for (let attempt = 0; attempt < 100; attempt++) {
    if ((await caches.default.match(key)) !== undefined) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error("JWKS never reached the edge cache");
}

afterEach(() => {
  vi.useRealTimers();
  forgetIsolateJwks();
});

describe("JWKS document", () => {
  it("lists public EC P-256 ES256 signing keys and nothing private", async () => {
    const response = await api("/.well-known/jwks.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(response.json.keys.length).toBeGreaterThanOrEqual(2);
    for (const key of response.json.keys) {
      expect(Object.keys(key).sort()).toEqual(["alg", "crv", "kid", "kty", "use", "x", "y"]);
      expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    }
  });

  it("is cacheable for JWKS_MAX_AGE_SECONDS with an ETag", async () => {
    const response = await api("/.well-known/jwks.json");
    expect(response.headers.get("cache-control")).toBe("public, max-age=300");
    expect(response.headers.get("etag")).toMatch(/^"[0-9a-f]{32}"$/);
  });

  it("answers 304 to a matching If-None-Match and 200 to a stale one", async () => {
    const first = await api("/.well-known/jwks.json");
    const etag = first.headers.get("etag")!;
    const revalidated = await api("/.well-known/jwks.json", { headers: { "if-none-match": etag } });
    expect(revalidated.status).toBe(304);
    expect(revalidated.text).toBe("");
    expect(revalidated.headers.get("etag")).toBe(etag);
    const weak = await api("/.well-known/jwks.json", { headers: { "if-none-match": `W/${etag}` } });
    expect(weak.status).toBe(304);
    const stale = await api("/.well-known/jwks.json", { headers: { "if-none-match": '"0000"' } });
    expect(stale.status).toBe(200);
  });
});

describe("edge cache", () => {
  it("serves a hit from the Cache API without calling the KeyStore", async () => {
    await api("/.well-known/jwks.json");
    await waitForEdgeCopy();
    forgetIsolateJwks();
    const readsBefore = await jwksReads();
    for (let i = 0; i < 5; i++) {
      forgetIsolateJwks();
      expect((await api("/.well-known/jwks.json")).status).toBe(200);
    }
    expect(await jwksReads()).toBe(readsBefore);
  });

  it("serves repeated requests from the isolate copy without calling the KeyStore", async () => {
    await api("/.well-known/jwks.json");
    const readsBefore = await jwksReads();
    for (let i = 0; i < 20; i++) await api("/.well-known/jwks.json");
    expect(await jwksReads()).toBe(readsBefore);
  });

  it("refetches from the KeyStore once the max-age has passed, so a rotation shows within one max-age", async () => {
    const before = await api("/.well-known/jwks.json");
    await waitForEdgeCopy();
    // Rotate behind the edge's back (no purge): only expiry can reveal it.
    await keyStore().rotate();
    expect((await api("/.well-known/jwks.json")).json.keys).toHaveLength(before.json.keys.length);

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 301_000);
    const readsBefore = await jwksReads();
    const after = await api("/.well-known/jwks.json");
    expect(after.json.keys).toHaveLength(before.json.keys.length + 1);
    expect(await jwksReads()).toBe(readsBefore + 1);
  });

  it("shows an operator rotation at once in the location that handled it", async () => {
    const before = await api("/.well-known/jwks.json");
    await waitForEdgeCopy();
    await api("/admin/keys/rotate", { method: "POST", headers: { "x-admin-secret": ADMIN_SECRET } });
    const after = await api("/.well-known/jwks.json");
    expect(after.json.keys).toHaveLength(before.json.keys.length + 1);
    expect(after.headers.get("etag")).not.toBe(before.headers.get("etag"));
  });
});
